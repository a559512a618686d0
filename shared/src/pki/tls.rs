//! What a client trusts and presents: [`Credentials`] turn a master's address into a tonic
//! [`Endpoint`] over TLS that accepts only masters of the cluster CA.
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

use super::{Identity, IssuedKey, MASTER_SERVER_NAME};

/// The cluster CA a client trusts, and the certificate it presents (none while joining).
#[derive(Clone, Debug)]
pub struct Credentials {
    pub ca_pem: String,
    pub identity: Option<IssuedKey>,
}

/// `host:port` (or an `http://`/`https://` URL) as the `https://` URL tonic dials.
pub fn https_url(server: &str) -> String {
    let bare = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    format!("https://{bare}")
}

/// `host:port` of a server given as an address or a URL.
pub fn host_port(server: &str) -> &str {
    let bare = server
        .strip_prefix("https://")
        .or_else(|| server.strip_prefix("http://"))
        .unwrap_or(server);
    bare.trim_end_matches('/')
}

impl Credentials {
    /// SHA-256 of the trusted CA certificate (DER), lowercase hex: what join tokens pin.
    pub fn ca_hash(&self) -> Result<String, super::PkiError> {
        Ok(super::sha256_hex(&super::first_cert_der(
            &self.ca_pem,
            "CA certificate",
        )?))
    }

    /// An endpoint for the master at `server`, verified against the cluster CA under
    /// [`MASTER_SERVER_NAME`], presenting this client's certificate if it has one.
    pub fn endpoint(&self, server: &str) -> Result<Endpoint, tonic::transport::Error> {
        let mut tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .domain_name(MASTER_SERVER_NAME);
        if let Some(id) = &self.identity {
            tls = tls.identity(tonic::transport::Identity::from_pem(
                &id.cert_pem,
                &id.key_pem,
            ));
        }
        Endpoint::from_shared(https_url(server))?.tls_config(tls)
    }
}

/// Credentials that are renewed while in use: whoever connects reads the current ones (the
/// agent's session, a master's peer connections), the renewer replaces them.
#[derive(Clone)]
pub struct CurrentCredentials(Arc<RwLock<Credentials>>);

impl CurrentCredentials {
    pub fn new(c: Credentials) -> Self {
        CurrentCredentials(Arc::new(RwLock::new(c)))
    }

    pub fn get(&self) -> Credentials {
        self.0.read().expect("credentials lock").clone()
    }

    pub fn set(&self, c: Credentials) {
        *self.0.write().expect("credentials lock") = c;
    }
}

/// Sleeps until the certificate naming `id` is due for renewal.
pub async fn until_renewal(id: &Identity) {
    let wait = renew_at(id)
        .duration_since(SystemTime::now())
        .unwrap_or_default();
    tokio::time::sleep(wait).await
}

/// When a certificate should be renewed: two thirds into its life (from its issue).
pub fn renew_at(id: &Identity) -> SystemTime {
    let issued = id.issued_at();
    let life = (id.not_after - issued).max(0) as u64;
    UNIX_EPOCH + Duration::from_secs(issued.max(0) as u64 + life * 2 / 3)
}
