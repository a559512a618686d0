//! [`SledStorage::install_snapshot`]: a snapshot received from the leader replaces the
//! applied objects, the log and the Raft metadata, atomically on disk.
use std::collections::BTreeMap;

use raft::eraftpb::Snapshot;

use super::{
    pb, Loaded, SledStorage, SnapshotData, APPLIED_KEY, CONF_STATE_KEY, MEMBERS_KEY,
    SNAPSHOT_META_KEY,
};
use crate::store::error::StoreError;
use crate::store::{key, sealing};

impl SledStorage {
    /// Installs a snapshot received from the leader: objects, log and metadata are replaced.
    pub fn install_snapshot(&self, snap: &Snapshot) -> Result<Loaded, StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        use sled::Transactional;
        let md = snap.get_metadata();
        let data: SnapshotData = serde_json::from_slice(&snap.data)
            .map_err(|e| StoreError::Internal(format!("snapshot data: {e}")))?;
        // The snapshot replaces everything applied, checkpointed or not (an in-flight
        // checkpoint is waited for, so that it cannot land after the snapshot).
        self.pending().discard()?;
        let mut map = BTreeMap::new();
        let mut upserts = Vec::with_capacity(data.objects.len());
        for o in data.objects {
            let o = sealing::opened(&self.keys, o)?;
            let key = key::key_of(&o);
            upserts.push((
                key.0.clone().into_bytes(),
                sealing::sealed_json(&self.keys, &o)?,
            ));
            map.insert(key, o);
        }
        let members_json =
            serde_json::to_vec(&data.members).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut hs = self.meta().hard_state.clone();
        hs.commit = hs.commit.max(md.index);
        hs.term = hs.term.max(md.term);
        let cs = md.get_conf_state().clone();
        let mut segments = self.target.segments();
        let mut batch = sled::Batch::default();
        segments.replace(&self.objects, &upserts, &mut batch)?;
        batch.insert(APPLIED_KEY, &md.index.to_be_bytes());
        batch.insert(MEMBERS_KEY, members_json);
        batch.insert(CONF_STATE_KEY, pb(&cs));
        // One transaction over both trees: a crash leaves the old state or the new one, never
        // objects of one and Raft metadata of the other. It is checkpointed before the log is
        // emptied, so the log never ends before the snapshot begins.
        (&self.objects, &self.raft)
            .transaction(|(objects, raft)| {
                objects.apply_batch(&batch)?;
                raft.insert(SNAPSHOT_META_KEY, pb(md))?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e: TransactionError<()>| {
                StoreError::Internal(format!("installing snapshot: {e:?}"))
            })?;
        segments.landed();
        drop(segments);
        self.checkpoint()?;
        self.pending().installed(md.index);
        let mut meta = self.meta();
        meta.snapshot_index = md.index;
        meta.snapshot_term = md.term;
        meta.entries.clear();
        meta.last_index = md.index;
        meta.conf_state = cs;
        meta.hard_state = hs.clone();
        drop(meta);
        self.wal().rewrite(&[], &hs)?;
        Ok(Loaded {
            objects: map,
            members: data.members.into_iter().map(|m| (m.id, m)).collect(),
            applied: md.index,
        })
    }
}
