//! [`Renewer`]: the node's certificate renewed at two thirds of its life, over the current
//! one (no token needed), with a new key. The new certificate is kept in the data directory
//! and used for the next connection; the session in progress is not interrupted.
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bosun_shared::pki::join::{renew, save};
use bosun_shared::pki::tls::Credentials;
use bosun_shared::pki::Identity;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Pause after a failed renewal (the certificate is still valid for a third of its life).
const RETRY: Duration = Duration::from_secs(30);

/// The node's current credentials, shared by the session (which reads them at every
/// connection) and the renewer.
#[derive(Clone)]
pub struct CurrentCredentials(Arc<RwLock<Credentials>>);

impl CurrentCredentials {
    pub fn new(c: Credentials) -> Self {
        CurrentCredentials(Arc::new(RwLock::new(c)))
    }

    pub fn get(&self) -> Credentials {
        self.0.read().expect("credentials lock").clone()
    }

    fn set(&self, c: Credentials) {
        *self.0.write().expect("credentials lock") = c;
    }
}

/// When a certificate should be renewed: two thirds into its life (from its issue).
pub fn renew_at(id: &Identity) -> SystemTime {
    let issued = id.issued_at();
    let life = (id.not_after - issued).max(0) as u64;
    UNIX_EPOCH + Duration::from_secs(issued.max(0) as u64 + life * 2 / 3)
}

pub struct Renewer {
    pub node: String,
    pub masters: Vec<String>,
    pub dir: PathBuf,
    pub credentials: CurrentCredentials,
}

impl Renewer {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let current = self.credentials.get();
            let cert = current
                .identity
                .as_ref()
                .map(|i| i.cert_pem.clone())
                .unwrap_or_default();
            let Ok(id) = Identity::from_pem(&cert) else {
                warn!(node = %self.node, "the node certificate is unreadable; not renewing it");
                return;
            };
            let wait = renew_at(&id)
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            match renew(&self.masters, &current, &self.node).await {
                Ok(new) => {
                    if let Err(e) = save(&self.dir, "node", &new) {
                        warn!(node = %self.node, error = %e, "keeping the renewed certificate failed");
                    }
                    let id = new
                        .identity
                        .as_ref()
                        .and_then(|i| Identity::from_pem(&i.cert_pem).ok());
                    info!(node = %self.node, serial = ?id.map(|i| i.serial), "node certificate renewed");
                    self.credentials.set(new);
                }
                Err(e) => {
                    warn!(node = %self.node, error = %e, "renewing the node certificate failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
        }
    }
}
