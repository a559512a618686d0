//! [`Identity`]: who a certificate names. The CA writes the role as the subject's
//! organization (`bosun:node`) and the name as its common name, as Kubernetes does for nodes.
use std::fmt;

use super::{first_cert_der, PkiError};

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// A master: Raft traffic, forwarded requests, joining masters.
    Master,
    /// A node agent: its own session, node and pods only.
    Node,
    /// An administrator: the API and cluster management.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Master, Role::Node, Role::Admin];

    /// `master`, `node`, `admin`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Master => "master",
            Role::Node => "node",
            Role::Admin => "admin",
        }
    }

    /// The subject organization that carries the role in a certificate.
    pub fn organization(self) -> String {
        format!("bosun:{}", self.as_str())
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The holder of a certificate issued by the cluster CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub role: Role,
    pub name: String,
    /// Serial number, lowercase hex.
    pub serial: String,
    /// Validity, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
}

impl fmt::Display for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role, self.name)
    }
}

impl Identity {
    /// The identity in a certificate (DER). The signature is not checked here: TLS did that.
    pub fn from_der(der: &[u8]) -> Result<Identity, PkiError> {
        let what = "certificate";
        let (_, cert) = x509_parser::parse_x509_certificate(der)
            .map_err(|e| PkiError::new(what, format!("unreadable: {e}")))?;
        let subject = cert.subject();
        let name = subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .ok_or_else(|| PkiError::new(what, "no common name"))?
            .to_string();
        let role = subject
            .iter_organization()
            .filter_map(|o| o.as_str().ok())
            .find_map(|o| o.strip_prefix("bosun:").and_then(Role::parse))
            .ok_or_else(|| PkiError::new(what, format!("{name} carries no bosun role")))?;
        let serial = cert
            .raw_serial()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(Identity {
            role,
            name,
            serial,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
        })
    }

    /// When the certificate was issued (seconds since the epoch): the CA starts validity
    /// [`BACKDATE`](super::ca::BACKDATE) earlier, for verifiers whose clocks are behind.
    pub fn issued_at(&self) -> i64 {
        self.not_before + super::ca::BACKDATE.as_secs() as i64
    }

    /// The identity in the first certificate of a PEM text.
    pub fn from_pem(pem: &str) -> Result<Identity, PkiError> {
        Identity::from_der(&first_cert_der(pem, "certificate")?)
    }
}
