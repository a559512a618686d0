//! The cluster's public key infrastructure: one CA per cluster, certificates that carry a
//! role and a name, and join tokens that pin the CA.
//!
//! - [`ca`]: [`Ca`]: create the cluster CA, issue certificates, sign requests; [`request`]
//!   makes a key and a signing request on the joining side.
//! - [`identity`]: [`Identity`] and [`Role`]: who a certificate names.
//! - [`token`]: [`JoinToken`]: `BSN1.<ca-sha256>.<id>.<secret>`.
//! - [`join`]: get a certificate with a join token; keep credentials in a directory.
//! - [`pin`]: fetch a master's CA over TLS and accept it only if it matches a token's hash.
//! - [`revoke`]: removed nodes, whose certificates are refused from then on.
//! - [`tls`]: rustls and tonic settings: what clients trust and present.
pub mod ca;
pub mod identity;
pub mod join;
pub mod pin;
pub mod revoke;
pub mod tls;
pub mod token;

pub use ca::{request, Ca, IssuedKey};
pub use identity::{Identity, Role};
pub use token::{JoinToken, TokenRecord};

/// The DNS name in every master's serving certificate; clients verify masters against it
/// (whatever address they dial), so certificates need not list the masters' addresses.
pub const MASTER_SERVER_NAME: &str = "bosun-master";

/// Errors of the PKI, naming what they concern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct PkiError {
    pub what: String,
    pub message: String,
}

impl PkiError {
    pub fn new(what: impl Into<String>, message: impl ToString) -> Self {
        PkiError {
            what: what.into(),
            message: message.to_string(),
        }
    }
}

/// The rustls crypto provider of every TLS endpoint: *ring*. rustls 0.23.48 deprecated it
/// for lacking post-quantum key exchange (aws-lc-rs has it); *ring* builds with no cmake and
/// in a fraction of the time on small machines, so Bosun keeps it until the switch is worth it.
#[allow(deprecated)]
pub fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// Lowercase hex SHA-256 of `bytes` (a CA's hash is that of its DER encoding).
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `n` random bytes from the system's secure generator.
pub(crate) fn random_bytes(n: usize) -> Vec<u8> {
    use ring::rand::SecureRandom;
    let mut out = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut out)
        .expect("the system random generator works");
    out
}

/// The first certificate in a PEM text, as DER.
pub fn first_cert_der(pem: &str, what: &str) -> Result<Vec<u8>, PkiError> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes())
        .next()
        .ok_or_else(|| PkiError::new(what, "no certificate in the PEM text"))?
        .map(|c| c.to_vec())
        .map_err(|e| PkiError::new(what, format!("unreadable PEM: {e:?}")))
}
