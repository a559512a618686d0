//! Namespaces: the built-in ones (`default`, `bosun-system`) are created if missing, and the
//! objects of a deleted namespace are deleted (pods gracefully, by their agents). The API
//! refuses objects in a namespace that does not exist, so only a namespace's deletion (or a
//! write racing it) leaves objects to collect. Runs after every deletion of a namespace and at
//! every resync.
use std::collections::HashSet;
use std::time::Duration;

use bosun_shared::namespace::{is_built_in, Namespace, BUILT_IN};
use bosun_shared::{CompactString, Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::pods::delete_of;
use super::queue::run_passes;
use crate::store::{Change, Command, EventType, Op, Store, StoreError};

/// Deletions proposed in one command.
const BATCH: usize = 1_000;

pub struct NamespaceController {
    pub store: Store,
}

impl NamespaceController {
    pub async fn run(self, shutdown: CancellationToken) {
        let namespace_deleted =
            |c: &Change| c.event == EventType::Deleted && c.object.kind() == Kind::Namespace;
        run_passes(
            "namespaces",
            &self.store,
            &shutdown,
            namespace_deleted,
            Duration::ZERO,
            || self.pass(),
        )
        .await;
    }

    async fn pass(&self) -> Result<(), StoreError> {
        for name in BUILT_IN {
            if self.store.get(Kind::Namespace, "", name).is_none() {
                match self.store.create(Object::from(Namespace::new(name))).await {
                    Ok(_) | Err(StoreError::AlreadyExists(_)) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let (namespaces, _) = self.store.list(Kind::Namespace, None, None);
        let live: HashSet<CompactString> =
            namespaces.iter().map(|n| n.meta().name.clone()).collect();
        let orphaned = |o: &Object| {
            let ns = &o.meta().namespace;
            o.meta().deletion_timestamp.is_none() && !is_built_in(ns) && !live.contains(ns)
        };
        let mut ops: Vec<Op> = Vec::new();
        for kind in Kind::ALL.into_iter().filter(|k| k.namespaced()) {
            let (found, _) = self.store.select(kind, None, orphaned);
            ops.extend(found.iter().map(|o| delete_of(o.kind(), o.meta())));
        }
        if ops.is_empty() {
            return Ok(());
        }
        info!(
            objects = ops.len(),
            "deleting the objects of deleted namespaces"
        );
        while !ops.is_empty() {
            let rest = ops.split_off(ops.len().min(BATCH));
            self.store.propose(Command { ops }).await?;
            ops = rest;
        }
        Ok(())
    }
}
