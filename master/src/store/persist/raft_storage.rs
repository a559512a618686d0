//! raft-rs's [`raft::Storage`] over [`SledStorage`]: the log from memory and the log file,
//! snapshots from the applied objects.
use raft::eraftpb::{Entry, Snapshot};
use raft::{GetEntriesContext, RaftState, StorageError};

use super::{storage_err, SledStorage, SnapshotData};

impl raft::Storage for SledStorage {
    fn initial_state(&self) -> raft::Result<RaftState> {
        let m = self.meta();
        Ok(RaftState::new(m.hard_state.clone(), m.conf_state.clone()))
    }

    fn entries(
        &self,
        low: u64,
        high: u64,
        max_size: impl Into<Option<u64>>,
        _context: GetEntriesContext,
    ) -> raft::Result<Vec<Entry>> {
        let max_size = max_size.into();
        let m = self.meta();
        if low <= m.snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if high > m.last_index + 1 {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let mut out = Vec::new();
        let mut size = 0u64;
        for i in m.pos(low)..m.pos(high) {
            let pos = m
                .entries
                .position(i)
                .expect("entries up to last_index are in the log");
            // The record's payload is the encoded entry: its size is known before reading it.
            size += u64::from(pos.len);
            if !out.is_empty() && max_size.is_some_and(|m| size > m) {
                break;
            }
            out.push(match m.entries.cached(i) {
                Some(e) => e.clone(),
                None => {
                    let e = self.wal().read(pos).map_err(storage_err)?;
                    // A stale position would hand raft-rs another entry: fail loudly instead.
                    let want = m.snapshot_index + 1 + i as u64;
                    if e.index != want {
                        return Err(storage_err(format!(
                            "raft log: read entry {} where entry {want} was recorded",
                            e.index
                        )));
                    }
                    e
                }
            });
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let m = self.meta();
        if idx == m.snapshot_index {
            return Ok(m.snapshot_term);
        }
        if idx < m.snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > m.last_index {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        let pos = m.entries.position(m.pos(idx));
        Ok(pos.expect("entries up to last_index are in the log").term)
    }

    fn first_index(&self) -> raft::Result<u64> {
        Ok(self.meta().snapshot_index + 1)
    }

    fn last_index(&self) -> raft::Result<u64> {
        Ok(self.meta().last_index)
    }

    fn snapshot(&self, request_index: u64, _to: u64) -> raft::Result<Snapshot> {
        // A dump of the applied objects and members at the applied index (which is at least
        // `request_index` once applied).
        let loaded = self.load().map_err(storage_err)?;
        let applied = loaded.applied;
        if applied < request_index {
            return Err(raft::Error::Store(
                StorageError::SnapshotTemporarilyUnavailable,
            ));
        }
        let objects = loaded
            .objects
            .into_values()
            .map(|o| super::super::sealing::sealed(&self.keys, &o).map(|c| c.into_owned()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage_err)?;
        let data = SnapshotData {
            objects,
            members: loaded.members.into_values().collect(),
        };
        let mut snap = Snapshot {
            data: serde_json::to_vec(&data).map_err(storage_err)?.into(),
            ..Default::default()
        };
        let md = snap.mut_metadata();
        md.index = applied;
        md.term = self.term(applied)?;
        md.set_conf_state(self.meta().conf_state.clone());
        Ok(snap)
    }
}
