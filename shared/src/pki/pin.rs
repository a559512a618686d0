//! [`fetch_ca`]: learn a master's CA over TLS, accepting it only if its hash is the one a
//! join token pins. Nothing but a TLS handshake happens: the token's secret is sent later,
//! on a connection verified against the CA found here, so a false master never sees it.
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::join::JoinError;
use super::tls::host_port;
use super::{sha256_hex, PkiError, MASTER_SERVER_NAME};

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Accepts a server whose chain holds the pinned CA and whose certificate it signed.
#[derive(Debug)]
struct PinnedCa {
    pin: String,
    provider: Arc<CryptoProvider>,
    /// Hashes of the CA certificates the server presented (for the refusal's message).
    seen: Mutex<Vec<String>>,
    found: Mutex<Option<CertificateDer<'static>>>,
}

impl ServerCertVerifier for PinnedCa {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let hashes: Vec<String> = intermediates.iter().map(|c| sha256_hex(c)).collect();
        let pinned = intermediates
            .iter()
            .zip(&hashes)
            .find(|(_, h)| **h == self.pin)
            .map(|(c, _)| c.clone().into_owned());
        *self.seen.lock().expect("pin lock") = hashes;
        let Some(ca) = pinned else {
            return Err(rustls::Error::General("CA does not match the pin".into()));
        };
        let mut roots = RootCertStore::empty();
        roots
            .add(ca.clone())
            .map_err(|e| rustls::Error::General(format!("pinned CA: {e}")))?;
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map_err(|e| rustls::Error::General(format!("pinned CA: {e}")))?;
        verifier.verify_server_cert(end_entity, &[], server_name, ocsp, now)?;
        *self.found.lock().expect("pin lock") = Some(ca);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The CA certificate (PEM) of the master at `server`, if its SHA-256 is `pin`. A master
/// presenting another CA is [`JoinError::Refused`] with both hashes named; one that cannot
/// be reached or completes no handshake is [`JoinError::Unreachable`].
pub async fn fetch_ca(server: &str, pin: &str) -> Result<String, JoinError> {
    let unreachable = |what: &str, m: String| JoinError::Unreachable(PkiError::new(what, m));
    let addr = host_port(server).to_string();
    let what = format!("master {addr}");
    let provider = super::provider();
    let verifier = Arc::new(PinnedCa {
        pin: pin.to_ascii_lowercase(),
        provider: provider.clone(),
        seen: Mutex::default(),
        found: Mutex::default(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| unreachable(&what, e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier.clone())
        .with_no_client_auth();
    let name =
        ServerName::try_from(MASTER_SERVER_NAME).map_err(|e| unreachable(&what, e.to_string()))?;
    let handshake = async {
        let tcp = tokio::net::TcpStream::connect(&addr).await?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
    };
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, handshake).await;
    if let Some(ca) = verifier.found.lock().expect("pin lock").take() {
        return Ok(pem::encode(&pem::Pem::new("CERTIFICATE", ca.to_vec())));
    }
    let seen = verifier.seen.lock().expect("pin lock").clone();
    Err(match outcome {
        Err(_) => unreachable(&what, format!("no TLS answer within {PROBE_TIMEOUT:?}")),
        Ok(_) if !seen.is_empty() => JoinError::Refused(PkiError::new(
            what,
            format!(
                "its CA (sha256 {}) is not the one the join token pins ({pin}); not sending the token's secret",
                seen.join(", ")
            ),
        )),
        Ok(Err(e)) => unreachable(&what, format!("TLS handshake: {e}")),
        Ok(Ok(_)) => unreachable(&what, "presented no CA certificate".to_string()),
    })
}
