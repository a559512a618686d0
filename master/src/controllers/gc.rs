//! Garbage collection: pods whose controlling owner is gone are deleted.
use std::collections::HashSet;

use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::queue::{follow_changes, Signal};
use crate::store::{Command, Op, Store};

pub struct GarbageCollector {
    pub store: Store,
}

impl GarbageCollector {
    pub async fn run(self, shutdown: CancellationToken) {
        let wake = tokio::sync::Notify::new();
        let feed = follow_changes(&self.store, &shutdown, |s| {
            let relevant = match s {
                Signal::ResyncAll => true,
                Signal::Changed(c) => {
                    c.event == crate::store::EventType::Deleted
                        && c.object.kind() == Kind::Deployment
                }
            };
            if relevant {
                wake.notify_one();
            }
        });
        let work = async {
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = wake.notified() => {}
                }
                if let Err(e) = self.pass().await {
                    debug!(error = %e, "garbage collection pass failed");
                }
            }
        };
        tokio::join!(feed, work);
    }

    async fn pass(&self) -> Result<(), crate::store::StoreError> {
        let owners: HashSet<String> = self
            .store
            .list(Kind::Deployment, None, None)
            .0
            .iter()
            .map(|d| d.meta().uid.clone())
            .collect();
        let ops: Vec<Op> = self
            .store
            .list(Kind::Pod, None, None)
            .0
            .iter()
            .filter_map(|o| match o {
                Object::Pod(p) => Some(p),
                _ => None,
            })
            .filter(|p| {
                p.metadata
                    .controller()
                    .is_some_and(|o| o.kind == "Deployment" && !owners.contains(&o.uid))
            })
            .map(|p| Op::Delete {
                kind: Kind::Pod,
                namespace: p.metadata.namespace.clone(),
                name: p.metadata.name.clone(),
                expected_uid: Some(p.metadata.uid.clone()),
            })
            .collect();
        if ops.is_empty() {
            return Ok(());
        }
        info!(pods = ops.len(), "deleting pods whose owner is gone");
        self.store.propose(Command { ops }).await.map(|_| ())
    }
}
