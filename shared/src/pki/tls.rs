//! What a client trusts and presents: [`Credentials`] turn a master's address into a tonic
//! [`Endpoint`] over TLS that accepts only masters of the cluster CA.
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};

use super::{IssuedKey, MASTER_SERVER_NAME};

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
