//! [`MasterRenewer`]: this master's own certificate, renewed at two thirds of its life from
//! the cluster CA (its own copy or the store's). The new certificate is kept in the data
//! directory, served to new connections and presented on new connections to other masters;
//! established connections go on with the old one.
use std::sync::Arc;
use std::time::Duration;

use bosun_shared::pki::tls::until_renewal;
use bosun_shared::pki::Role;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::MasterPki;
use crate::peers::clients::PeerChannels;
use crate::store::Store;

/// Pause after a failed renewal (a third of the certificate's life is left).
const RETRY: Duration = Duration::from_secs(30);

pub struct MasterRenewer {
    pub pki: Arc<MasterPki>,
    pub store: Store,
    pub peers: Arc<PeerChannels>,
    pub valid_for: Duration,
}

impl MasterRenewer {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let id = self.pki.identity();
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = until_renewal(&id) => {}
            }
            let renewed = self
                .pki
                .ca(&self.store)
                .and_then(|ca| ca.issue_key(Role::Master, &id.name, self.valid_for))
                .and_then(|own| self.pki.renewed(own));
            match renewed {
                Ok(()) => {
                    self.peers.forget_all();
                    info!(master = %id.name, serial = %self.pki.identity().serial, "master certificate renewed");
                }
                Err(e) => {
                    warn!(master = %id.name, error = %e, "renewing this master's certificate failed; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
        }
    }
}
