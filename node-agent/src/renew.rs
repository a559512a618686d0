//! [`Renewer`]: the node's certificate renewed at two thirds of its life, over the current
//! one (no token needed), with a new key. The new certificate is kept in the data directory
//! and used for the next connection; the session in progress is not interrupted.
use std::path::PathBuf;
use std::time::Duration;

use bosun_shared::pki::join::{renew, save};
use bosun_shared::pki::tls::{until_renewal, CurrentCredentials};
use bosun_shared::pki::Identity;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Pause after a failed renewal (the certificate is still valid for a third of its life).
const RETRY: Duration = Duration::from_secs(30);

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
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = until_renewal(&id) => {}
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
