//! [`Ca`]: the cluster's certificate authority. Masters hold it (its key lives in the
//! replicated store); it issues every certificate of the cluster. [`request`] is the other
//! side: a joining node or master makes its key and asks for a certificate.
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, CertificateSigningRequestParams, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData,
    SanType, SerialNumber,
};
use time::OffsetDateTime;

use super::{first_cert_der, random_bytes, sha256_hex, PkiError, Role, MASTER_SERVER_NAME};

/// How long the cluster CA is valid.
pub const CA_VALIDITY: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Certificates are valid from a little before they are issued, for clocks slightly behind.
pub const BACKDATE: Duration = Duration::from_secs(300);

/// A certificate and its private key, both PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedKey {
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print a private key.
        f.debug_struct("IssuedKey").finish_non_exhaustive()
    }
}

/// The cluster CA: its certificate, its key, and what signs with them.
pub struct Ca {
    cert_pem: String,
    key_pem: String,
    hash: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").field("hash", &self.hash).finish()
    }
}

fn err(what: &str) -> impl Fn(rcgen::Error) -> PkiError + '_ {
    move |e| PkiError::new(what, e)
}

impl Ca {
    /// A new CA named after the cluster.
    pub fn generate(cluster: &str) -> Result<Ca, PkiError> {
        let key = KeyPair::generate().map_err(err("CA key"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, format!("bosun cluster CA {cluster}"));
        dn.push(DnType::OrganizationName, "bosun");
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let (not_before, not_after) = validity(CA_VALIDITY);
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(serial());
        let cert = params.self_signed(&key).map_err(err("CA certificate"))?;
        Ca::from_pem(&cert.pem(), &key.serialize_pem())
    }

    /// The CA from its certificate and key (as stored).
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Ca, PkiError> {
        let der = first_cert_der(cert_pem, "CA certificate")?;
        let key = KeyPair::from_pem(key_pem).map_err(err("CA key"))?;
        let issuer = Issuer::from_ca_cert_pem(cert_pem, key).map_err(err("CA certificate"))?;
        Ok(Ca {
            cert_pem: cert_pem.to_string(),
            key_pem: key_pem.to_string(),
            hash: sha256_hex(&der),
            issuer,
        })
    }

    pub fn cert_pem(&self) -> &str {
        &self.cert_pem
    }

    pub fn key_pem(&self) -> &str {
        &self.key_pem
    }

    /// SHA-256 of the CA certificate (DER), lowercase hex: what join tokens pin.
    pub fn hash(&self) -> &str {
        &self.hash
    }

    /// Issues a certificate for `role` `name`, with a key made here (masters' own and
    /// administrators' credentials).
    pub fn issue_key(
        &self,
        role: Role,
        name: &str,
        valid_for: Duration,
    ) -> Result<IssuedKey, PkiError> {
        self.issue_key_with_ips(role, name, valid_for, &[])
    }

    /// Like [`issue_key`](Self::issue_key), the certificate also naming IP addresses (for
    /// TLS peers that verify addresses, as etcd's members do in the store benchmark).
    pub fn issue_key_with_ips(
        &self,
        role: Role,
        name: &str,
        valid_for: Duration,
        ips: &[IpAddr],
    ) -> Result<IssuedKey, PkiError> {
        let key = KeyPair::generate().map_err(err("key"))?;
        let cert_pem = self.issue(role, name, &key, validity(valid_for), ips)?;
        Ok(IssuedKey {
            cert_pem,
            key_pem: key.serialize_pem(),
        })
    }

    /// Like [`issue_key`](Self::issue_key), valid between two given times (tests make
    /// expired certificates with it).
    pub fn issue_key_between(
        &self,
        role: Role,
        name: &str,
        not_before: SystemTime,
        not_after: SystemTime,
    ) -> Result<IssuedKey, PkiError> {
        let key = KeyPair::generate().map_err(err("key"))?;
        let cert_pem = self.issue(role, name, &key, (not_before.into(), not_after.into()), &[])?;
        Ok(IssuedKey {
            cert_pem,
            key_pem: key.serialize_pem(),
        })
    }

    /// Issues a certificate for `role` `name` to the key of a signing request. Only the
    /// request's key is used: the role and name are the CA's decision, never the requester's.
    pub fn sign_request(
        &self,
        csr_pem: &str,
        role: Role,
        name: &str,
        valid_for: Duration,
    ) -> Result<String, PkiError> {
        let csr = CertificateSigningRequestParams::from_pem(csr_pem)
            .map_err(err("certificate signing request"))?;
        self.issue(role, name, &csr.public_key, validity(valid_for), &[])
    }

    fn issue(
        &self,
        role: Role,
        name: &str,
        key: &impl PublicKeyData,
        (not_before, not_after): (OffsetDateTime, OffsetDateTime),
        ips: &[IpAddr],
    ) -> Result<String, PkiError> {
        let what = format!("certificate for {role} {name}");
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, name);
        dn.push(DnType::OrganizationName, role.organization());
        params.distinguished_name = dn;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        if role == Role::Master {
            // Masters serve too; clients check the one name every master's certificate has.
            params
                .extended_key_usages
                .push(ExtendedKeyUsagePurpose::ServerAuth);
            let dns = MASTER_SERVER_NAME
                .try_into()
                .map_err(|e: rcgen::Error| PkiError::new(&what, e))?;
            params.subject_alt_names = vec![SanType::DnsName(dns)];
        }
        params
            .subject_alt_names
            .extend(ips.iter().map(|ip| SanType::IpAddress(*ip)));
        params.not_before = not_before;
        params.not_after = not_after;
        params.serial_number = Some(serial());
        params.use_authority_key_identifier_extension = true;
        let cert = params
            .signed_by(key, &self.issuer)
            .map_err(|e| PkiError::new(&what, e))?;
        Ok(cert.pem())
    }
}

/// A new key and a signing request for `name` (the CA sets the certificate's contents).
pub fn request(name: &str) -> Result<(String, String), PkiError> {
    let key = KeyPair::generate().map_err(err("key"))?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    params.distinguished_name = dn;
    let csr = params
        .serialize_request(&key)
        .map_err(err("certificate signing request"))?;
    let pem = csr.pem().map_err(err("certificate signing request"))?;
    Ok((pem, key.serialize_pem()))
}

fn validity(valid_for: Duration) -> (OffsetDateTime, OffsetDateTime) {
    let now = OffsetDateTime::now_utc();
    (now - BACKDATE, now + valid_for)
}

/// A random positive 128-bit serial number.
fn serial() -> SerialNumber {
    let mut bytes = random_bytes(16);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01; // no leading zero byte: the encoding keeps all 16 bytes
    SerialNumber::from_slice(&bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::Identity;

    #[test]
    fn issued_certificates_name_their_role_and_holder() {
        let ca = Ca::generate("test").unwrap();
        assert_eq!(ca.hash().len(), 64);
        let again = Ca::from_pem(ca.cert_pem(), ca.key_pem()).unwrap();
        assert_eq!(again.hash(), ca.hash());

        let day = Duration::from_secs(24 * 3600);
        let admin = ca.issue_key(Role::Admin, "alice", day).unwrap();
        let id = Identity::from_pem(&admin.cert_pem).unwrap();
        assert_eq!((id.role, id.name.as_str()), (Role::Admin, "alice"));
        assert!(id.not_after - id.not_before >= 24 * 3600);

        // The requester asks for one name; the CA decides the role and the name.
        let (csr, _key) = request("i-am-the-admin").unwrap();
        let node = ca.sign_request(&csr, Role::Node, "n1", day).unwrap();
        let id = Identity::from_pem(&node).unwrap();
        assert_eq!((id.role, id.name.as_str()), (Role::Node, "n1"));
        assert_ne!(
            id.serial,
            Identity::from_pem(&admin.cert_pem).unwrap().serial
        );

        assert!(ca
            .sign_request("not a request", Role::Node, "n1", day)
            .is_err());
    }
}
