//! Garbage collection: objects whose controlling owner is gone are deleted (ReplicaSets of a
//! deleted Deployment, pods of a deleted ReplicaSet), by `ownerReferences` and uid, so an
//! owner deleted and re-created under the same name does not adopt the old dependents.
//! Runs after every deletion of an owner and at every resync.
use std::collections::HashSet;
use std::time::Duration;

use bosun_shared::{CompactString, Kind};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::pods::delete_of;
use super::queue::run_passes;
use crate::store::{Change, Command, EventType, Op, Store};

/// Kinds whose objects own others.
pub const OWNER_KINDS: [Kind; 5] = [
    Kind::Deployment,
    Kind::ReplicaSet,
    Kind::DaemonSet,
    Kind::CronJob,
    Kind::Job,
];
/// Kinds whose objects can be owned, owners before what they own.
pub const DEPENDENT_KINDS: [Kind; 3] = [Kind::ReplicaSet, Kind::Job, Kind::Pod];

pub struct GarbageCollector {
    pub store: Store,
}

impl GarbageCollector {
    pub async fn run(self, shutdown: CancellationToken) {
        let owner_deleted =
            |c: &Change| c.event == EventType::Deleted && OWNER_KINDS.contains(&c.object.kind());
        run_passes(
            "garbage-collector",
            &self.store,
            &shutdown,
            owner_deleted,
            Duration::ZERO,
            || self.pass(),
        )
        .await;
    }

    /// The uids of every object that can own others.
    fn owner_uids(&self) -> HashSet<CompactString> {
        let mut owners = HashSet::new();
        for kind in OWNER_KINDS {
            let (objects, _) = self.store.list(kind, None, None);
            owners.extend(objects.iter().map(|o| o.meta().uid.clone()));
        }
        owners
    }

    async fn pass(&self) -> Result<(), crate::store::StoreError> {
        let before = self.owner_uids();
        let known = |k: &str| OWNER_KINDS.iter().any(|o| o.as_str() == k);
        let mut candidates = Vec::new();
        for kind in DEPENDENT_KINDS {
            let (found, _) = self.store.select(kind, None, |o| {
                o.meta().deletion_timestamp.is_none()
                    && o.meta()
                        .controller()
                        .is_some_and(|c| known(&c.kind) && !before.contains(&c.uid))
            });
            candidates.extend(found);
        }
        // An owner is written before its dependents: read after the candidates, the owners
        // include that of every candidate that still has one (one made meanwhile, too).
        let after = self.owner_uids();
        let ops: Vec<Op> = candidates
            .iter()
            .filter(|o| {
                o.meta()
                    .controller()
                    .is_some_and(|c| !after.contains(&c.uid))
            })
            .map(|o| delete_of(o.kind(), o.meta()))
            .collect();
        if ops.is_empty() {
            return Ok(());
        }
        info!(objects = ops.len(), "deleting objects whose owner is gone");
        self.store.propose(Command { ops }).await.map(|_| ())
    }
}
