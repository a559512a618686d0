//! Garbage collection: pods whose controlling owner is gone are deleted.
use std::collections::HashSet;
use std::time::Duration;

use bosun_shared::Kind;
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::queue::{pods, run_passes};
use crate::store::{Change, Command, EventType, Op, Store};

pub struct GarbageCollector {
    pub store: Store,
}

impl GarbageCollector {
    pub async fn run(self, shutdown: CancellationToken) {
        let deployment_deleted =
            |c: &Change| c.event == EventType::Deleted && c.object.kind() == Kind::Deployment;
        run_passes(
            "garbage-collector",
            &self.store,
            &shutdown,
            deployment_deleted,
            Duration::ZERO,
            || self.pass(),
        )
        .await;
    }

    async fn pass(&self) -> Result<(), crate::store::StoreError> {
        let owners: HashSet<String> = self
            .store
            .list(Kind::Deployment, None, None)
            .0
            .iter()
            .map(|d| d.meta().uid.clone())
            .collect();
        let (all, _) = self.store.list(Kind::Pod, None, None);
        let ops: Vec<Op> = pods(&all)
            .into_iter()
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
