//! [`SledStorage`]: the Raft log and hard state in a [`Wal`], the conf state and the applied
//! objects in sled.
//!
//! Trees: `raft` (this master's id, snapshot metadata), `objects` (the objects' JSON in
//! checkpoint segments ([`segments`]), and under NUL-prefixed keys the applied index, the
//! members and the conf state).
//!
//! Durability: [`SledStorage::flush`] syncs the log, once for each Ready that holds entries or
//! a new term or vote, before anything that depends on them is sent or acknowledged. Applied
//! objects are kept aside in memory ([`checkpoint`]) and written to sled in one atomic batch
//! with the applied index: in the background every 1,000 changed keys
//! ([`SledStorage::maybe_checkpoint`]), and on the calling thread after a snapshot is
//! installed and at shutdown ([`SledStorage::checkpoint`]). sled syncs every buffer it writes,
//! which made each write wait on the disk several times. A crash loses what was applied since
//! the last checkpoint; it is applied again from the log, which is compacted only up to what
//! sled holds durably. The newest entries and every term are also held in memory
//! ([`mem_log`]); an older entry is read back from the log file.
//!
//! Parts: [`mem_log`] (the log's index and newest entries), [`raft_storage`] (raft-rs's
//! `Storage`), [`checkpoint`] and [`segments`] (the applied objects in sled), [`install`] (a
//! snapshot from the leader), [`sled_db`] (opening sled).
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use checkpoint::{Checkpoints, Target, Value};
use mem_log::MemLog;
use segments::Segments;

use bosun_shared::Object;
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, SnapshotMetadata};
use raft::StorageError;

use super::error::StoreError;
use super::key::ObjectKey;
use super::members::Member;
use super::wal::Wal;

mod checkpoint;
mod install;
mod mem_log;
mod raft_storage;
mod segments;
mod sled_db;

/// What a snapshot carries: every object and the members at its index.
#[derive(serde::Serialize, serde::Deserialize)]
struct SnapshotData {
    objects: Vec<Object>,
    members: Vec<Member>,
}

/// The applied state persisted on disk.
pub struct Loaded {
    pub objects: BTreeMap<ObjectKey, Object>,
    pub members: BTreeMap<u64, Member>,
    pub applied: u64,
}

/// Key of the applied index in the `objects` tree (sorts before every object key).
const APPLIED_KEY: &[u8] = b"\0applied";
/// Key of the member list in the `objects` tree: written with the applied index it belongs to.
const MEMBERS_KEY: &[u8] = b"\0members";
/// Key of the conf state in the `objects` tree: written with the applied index it belongs to.
const CONF_STATE_KEY: &[u8] = b"\0conf_state";
/// This master's own Raft id.
const ID_KEY: &[u8] = b"id";
const SNAPSHOT_META_KEY: &[u8] = b"snapshot_meta";

/// The log and metadata in memory, so that Raft's frequent questions need no disk read.
#[derive(Default)]
struct Meta {
    hard_state: HardState,
    conf_state: ConfState,
    /// Index and term of the last compaction (entries up to it are gone).
    snapshot_index: u64,
    snapshot_term: u64,
    /// Entries `snapshot_index + 1 ..= last_index`: where each is in the [`Wal`], the newest
    /// themselves.
    entries: MemLog,
    last_index: u64,
}

impl Meta {
    /// The in-memory position of entry `index` (which must be after the snapshot).
    fn pos(&self, index: u64) -> usize {
        (index - self.snapshot_index - 1) as usize
    }
}

/// Raft storage and object persistence of one master, over one sled database.
#[derive(Clone)]
pub struct SledStorage {
    /// sled and its data file, where checkpoints go.
    target: Target,
    wal: Arc<Mutex<Wal>>,
    raft: sled::Tree,
    objects: sled::Tree,
    /// Applied writes to `objects` not yet durable in sled.
    pending: Arc<Mutex<Checkpoints>>,
    meta: Arc<Mutex<Meta>>,
    /// The data key Secrets are sealed with on their way to disk.
    keys: super::sealing::KeyCell,
}

fn pb<M: protobuf::Message>(m: &M) -> Vec<u8> {
    // Writing a protobuf message into a Vec cannot fail.
    m.write_to_bytes().expect("protobuf encodes into memory")
}

fn storage_err(e: impl std::fmt::Display) -> raft::Error {
    raft::Error::Store(StorageError::Other(e.to_string().into()))
}

impl SledStorage {
    /// Opens (or creates) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        let db = sled_db::open(&dir.join("store"))?;
        let data_path = dir.join("store").join("db");
        let data_file = std::fs::File::open(&data_path)
            .map_err(|e| StoreError::Internal(format!("opening {}: {e}", data_path.display())))?;
        let (wal, replayed) = Wal::open(dir)?;
        let objects = db.open_tree("objects")?;
        let durable = objects.get(APPLIED_KEY)?.map(|v| u64_from(&v)).unwrap_or(0);
        let segments = Segments::open(&objects)?;
        let s = SledStorage {
            target: Target {
                data_file: Arc::new(data_file),
                objects: objects.clone(),
                db: db.clone(),
                segments: Arc::new(Mutex::new(segments)),
            },
            wal: Arc::new(Mutex::new(wal)),
            raft: db.open_tree("raft")?,
            objects,
            pending: Arc::new(Mutex::new(Checkpoints::new(durable))),
            meta: Arc::default(),
            keys: Arc::default(),
        };
        let parse =
            |what: &str, e: protobuf::ProtobufError| StoreError::Internal(format!("{what}: {e}"));
        let mut meta = Meta {
            hard_state: replayed.hard_state.unwrap_or_default(),
            ..Default::default()
        };
        if let Some(v) = s.get_applied(CONF_STATE_KEY)? {
            meta.conf_state =
                ConfState::parse_from_bytes(&v).map_err(|e| parse("stored conf state", e))?;
        }
        if let Some(v) = s.raft.get(SNAPSHOT_META_KEY)? {
            let m = SnapshotMetadata::parse_from_bytes(&v)
                .map_err(|e| parse("stored snapshot metadata", e))?;
            meta.snapshot_index = m.index;
            meta.snapshot_term = m.term;
        }
        // Entries the snapshot covers may still be in the log (a crash between the checkpoint
        // and the rewrite of the log); they are dropped here.
        let after = meta.snapshot_index;
        let skip = replayed.entries.partition_point(|e| e.index <= after);
        let mut entries = replayed.entries;
        let mut positions = replayed.positions;
        entries.drain(..skip);
        positions.drain(..skip);
        if let Some(first) = entries.first() {
            if first.index != meta.snapshot_index + 1 {
                return Err(StoreError::Internal(format!(
                    "the raft log starts at entry {} but the snapshot ends at {}",
                    first.index, meta.snapshot_index
                )));
            }
        }
        meta.entries = MemLog::new(positions, entries);
        meta.last_index = meta.snapshot_index + meta.entries.len() as u64;
        *s.meta.lock().expect("storage meta lock") = meta;
        Ok(s)
    }

    fn wal(&self) -> std::sync::MutexGuard<'_, Wal> {
        // Poisoning means a panic on the Raft thread, which already aborted the master.
        self.wal.lock().expect("raft log lock")
    }

    fn meta(&self) -> std::sync::MutexGuard<'_, Meta> {
        // Poisoning means a panic on the Raft thread, which already aborted the master.
        self.meta.lock().expect("storage meta lock")
    }

    /// True when nothing was ever stored (a brand-new master).
    pub fn is_empty(&self) -> bool {
        let m = self.meta();
        m.conf_state == ConfState::default() && m.last_index == 0
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, Checkpoints> {
        // Poisoning means a panic on the Raft thread, which already aborted the master.
        self.pending.lock().expect("pending writes lock")
    }

    /// A value of the `objects` tree as last applied (checkpointed or not).
    fn get_applied(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let pending = self.pending();
        if let Some(v) = pending.get(key) {
            return Ok(v);
        }
        Ok(self.objects.get(key)?.map(|v| v.to_vec()))
    }

    /// The objects, members and applied index of the last applied entry.
    /// Sets the data key (once): from now on Secrets are sealed on their way to disk.
    pub fn set_keyring(&self, keys: Arc<bosun_shared::seal::Keyring>) {
        let _ = self.keys.set(keys);
    }

    /// The data key cell, for the Raft thread's commands.
    pub fn keys(&self) -> &super::sealing::KeyCell {
        &self.keys
    }

    pub fn load(&self) -> Result<Loaded, StoreError> {
        let applied = self
            .get_applied(APPLIED_KEY)?
            .map(|v| u64_from(&v))
            .unwrap_or(0);
        let members: Vec<Member> = match self.get_applied(MEMBERS_KEY)? {
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| StoreError::Internal(format!("stored members: {e}")))?,
            None => vec![],
        };
        // sled, then what is on its way there, read under one lock: a checkpoint that lands
        // meanwhile is still overlaid (it is forgotten only once joined, under the lock).
        let pending = self.pending();
        let mut raw = BTreeMap::new();
        let segments = self.target.segments();
        Segments::scan(&self.objects, |k, v| {
            match v {
                Some(v) => raw.insert(k.to_vec(), v.to_vec()),
                None => raw.remove(k),
            };
        })?;
        drop(segments);
        pending.overlay(&mut raw);
        drop(pending);
        let mut objects = BTreeMap::new();
        for (k, v) in raw {
            if k.first() == Some(&0) {
                continue; // metadata keys start with NUL
            }
            let key = String::from_utf8_lossy(&k).into_owned();
            let obj = Object::from_json(&v)
                .map_err(|e| StoreError::Internal(format!("stored {key}: {e}")))?;
            let obj = super::sealing::opened(&self.keys, obj)?;
            objects.insert(ObjectKey(key), obj);
        }
        Ok(Loaded {
            objects,
            members: members.into_iter().map(|m| (m.id, m)).collect(),
            applied,
        })
    }

    /// This master's Raft id, once it has one.
    pub fn id(&self) -> Result<Option<u64>, StoreError> {
        Ok(self.raft.get(ID_KEY)?.map(|v| u64_from(&v)))
    }

    pub fn set_id(&self, id: u64) -> Result<(), StoreError> {
        self.raft.insert(ID_KEY, &id.to_be_bytes())?;
        Ok(())
    }

    /// Makes a brand-new store the first master of a new group: a snapshot at index 1, term 1,
    /// with this master as the only voter. Masters that join later start empty and receive a
    /// snapshot, which brings them the same configuration.
    pub fn bootstrap(&self, me: &Member) -> Result<(), StoreError> {
        let cs = ConfState {
            voters: vec![me.id],
            ..Default::default()
        };
        let md = SnapshotMetadata {
            index: 1,
            term: 1,
            conf_state: Some(cs.clone()).into(),
            ..Default::default()
        };
        self.raft.insert(SNAPSHOT_META_KEY, pb(&md))?;
        self.write_membership(&cs, std::slice::from_ref(me), 1)?;
        let hs = HardState {
            term: 1,
            commit: 1,
            ..Default::default()
        };
        self.set_hard_state(&hs)?;
        self.set_id(me.id)?;
        let mut meta = self.meta();
        meta.snapshot_index = 1;
        meta.snapshot_term = 1;
        meta.last_index = 1;
        Ok(())
    }

    /// Writes the configuration and the member list with the applied index of the entry that
    /// changed them, in one batch: a restart never re-applies a change it already holds.
    pub fn write_membership(
        &self,
        cs: &ConfState,
        members: &[Member],
        applied: u64,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_vec(members).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut pending = self.pending();
        pending.record(MEMBERS_KEY.to_vec(), Some(Value::Raw(json)));
        pending.record(CONF_STATE_KEY.to_vec(), Some(Value::Raw(pb(cs))));
        pending.record_applied(APPLIED_KEY, applied);
        drop(pending);
        self.meta().conf_state = cs.clone();
        Ok(())
    }

    /// Records the changed objects and the new applied index (durable at the next checkpoint).
    pub fn write_applied(
        &self,
        upserts: Vec<(ObjectKey, Arc<Object>)>,
        deletes: Vec<ObjectKey>,
        applied: u64,
    ) -> Result<(), StoreError> {
        let mut pending = self.pending();
        for (k, o) in upserts {
            // Secrets are sealed now; everything else is serialized by the checkpoint thread.
            let v = match &*o {
                Object::Secret(_) => Value::Raw(super::sealing::sealed_json(&self.keys, &o)?),
                _ => Value::Object(o),
            };
            pending.record(k.0.into_bytes(), Some(v));
        }
        for k in deletes {
            pending.record(k.0.into_bytes(), None);
        }
        pending.record_applied(APPLIED_KEY, applied);
        Ok(())
    }

    /// Appends entries, replacing any conflicting suffix.
    pub fn append(&self, entries: &[Entry]) -> Result<(), StoreError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let mut meta = self.meta();
        if first.index <= meta.snapshot_index || first.index > meta.last_index + 1 {
            return Err(StoreError::Internal(format!(
                "appending entry {} to a log of entries {}..={}",
                first.index,
                meta.snapshot_index + 1,
                meta.last_index
            )));
        }
        let positions = self.wal().write(entries, None)?;
        let keep = meta.pos(first.index);
        meta.entries.truncate(keep);
        meta.entries.extend(positions, entries.to_vec());
        meta.last_index = meta.snapshot_index + meta.entries.len() as u64;
        Ok(())
    }

    pub fn set_hard_state(&self, hs: &HardState) -> Result<(), StoreError> {
        self.wal().write(&[], Some(hs))?;
        self.meta().hard_state = hs.clone();
        Ok(())
    }

    pub fn set_commit(&self, commit: u64) -> Result<(), StoreError> {
        let mut hs = self.meta().hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(&hs)
    }

    /// Raises the stored commit index to at least `index`.
    pub fn raise_commit(&self, index: u64) -> Result<(), StoreError> {
        if self.meta().hard_state.commit < index {
            self.set_commit(index)?;
        }
        Ok(())
    }

    /// Makes the log and hard state written so far durable. Nothing that depends on them is
    /// sent or acknowledged before this returns.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.wal().sync()
    }

    /// Starts a background checkpoint once `threshold` keys changed and none is in flight.
    /// A failed background checkpoint is reported here, as a storage failure.
    pub fn maybe_checkpoint(&self, threshold: usize) -> Result<(), StoreError> {
        let mut pending = self.pending();
        if pending.pending_len() >= threshold && !pending.busy()? {
            pending.start(&self.target)?;
        }
        Ok(())
    }

    /// The applied index sled holds durably (log entries up to it may be compacted).
    pub fn durable_applied(&self) -> u64 {
        self.pending().durable()
    }

    /// Writes everything applied so far to sled and makes it durable, on this thread (after
    /// the in-flight checkpoint, if any).
    pub fn checkpoint(&self) -> Result<(), StoreError> {
        self.pending().write_now(&self.target)
    }

    /// Drops log entries up to and including `index`, which sled must hold durably
    /// ([`Self::durable_applied`]): the log is rewritten without them.
    pub fn compact(&self, index: u64) -> Result<(), StoreError> {
        let durable = self.durable_applied();
        if index > durable {
            return Err(StoreError::Internal(format!(
                "compacting the log to entry {index}, but sled holds only up to {durable}"
            )));
        }
        let term =
            raft::Storage::term(self, index).map_err(|e| StoreError::Internal(e.to_string()))?;
        let m = SnapshotMetadata {
            index,
            term,
            ..Default::default()
        };
        self.raft.insert(SNAPSHOT_META_KEY, pb(&m))?;
        self.target.sync()?;
        let mut meta = self.meta();
        let drop_n = meta.pos(index) + 1;
        meta.entries.drain_front(drop_n);
        meta.snapshot_index = index;
        meta.snapshot_term = term;
        let kept: Vec<_> = meta.entries.positions().collect();
        let moved = self.wal().rewrite(&kept, &meta.hard_state)?;
        meta.entries.moved(moved);
        Ok(())
    }

    /// Index of the last compacted entry (0 when nothing was compacted).
    pub fn snapshot_index(&self) -> u64 {
        self.meta().snapshot_index
    }

    /// Number of entries in the log.
    pub fn log_len(&self) -> u64 {
        let m = self.meta();
        m.last_index - m.snapshot_index
    }

    /// Encoded bytes of the entries in the log.
    pub fn log_bytes(&self) -> u64 {
        self.meta().entries.bytes()
    }

    /// The index a compaction may go up to so that at most `keep` entries and `keep_bytes`
    /// bytes stay behind `applied`.
    pub fn compaction_point(&self, applied: u64, keep: u64, keep_bytes: u64) -> u64 {
        let m = self.meta();
        if applied <= m.snapshot_index {
            return m.snapshot_index;
        }
        let end = m.pos(applied.min(m.last_index)) + 1;
        let kept = m.entries.tail_within(end, keep as usize, keep_bytes);
        m.snapshot_index + (end - kept) as u64
    }
}

fn u64_from(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[8 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    u64::from_be_bytes(b)
}
