//! [`SledStorage`]: the Raft log, hard state, conf state and the applied objects in sled.
//!
//! Trees: `log` (index, big-endian -> protobuf `Entry`), `raft` (hard state, conf state,
//! snapshot metadata), `objects` (key -> JSON, plus the applied index under [`APPLIED_KEY`]).
//! Objects and the applied index are written in one atomic batch; durability comes only from
//! [`SledStorage::flush`], called once per Ready before anything is acknowledged.
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bosun_shared::Object;
use protobuf::Message as _;
use raft::eraftpb::{ConfState, Entry, HardState, Snapshot, SnapshotMetadata};
use raft::{GetEntriesContext, RaftState, StorageError};

use super::error::StoreError;
use super::key::ObjectKey;
use super::members::Member;

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
/// This master's own Raft id.
const ID_KEY: &[u8] = b"id";
const HARD_STATE_KEY: &[u8] = b"hard_state";
const CONF_STATE_KEY: &[u8] = b"conf_state";
const SNAPSHOT_META_KEY: &[u8] = b"snapshot_meta";
/// sled's page cache; small: objects are served from memory anyway.
const SLED_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Cached metadata, so that Raft's frequent questions need no disk read.
#[derive(Default)]
struct Meta {
    hard_state: HardState,
    conf_state: ConfState,
    /// Index and term of the last compaction (entries up to it are gone).
    snapshot_index: u64,
    snapshot_term: u64,
    last_index: u64,
}

/// Raft storage and object persistence of one master, over one sled database.
#[derive(Clone)]
pub struct SledStorage {
    db: sled::Db,
    /// sled's data file: sled's own flush ends in `sync_file_range`, which neither reaches the
    /// disk's write cache nor covers metadata, so [`SledStorage::flush`] adds an `fdatasync`.
    data_file: Arc<std::fs::File>,
    log: sled::Tree,
    raft: sled::Tree,
    objects: sled::Tree,
    meta: Arc<Mutex<Meta>>,
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
        let db = sled::Config::new()
            .path(dir.join("store"))
            .cache_capacity(SLED_CACHE_BYTES)
            // Durability comes only from our explicit flush (once per Ready); no background
            // flush writes half of a Ready's changes.
            .flush_every_ms(None)
            .open()?;
        let data_path = dir.join("store").join("db");
        let data_file = std::fs::File::open(&data_path)
            .map_err(|e| StoreError::Internal(format!("opening {}: {e}", data_path.display())))?;
        let s = SledStorage {
            data_file: Arc::new(data_file),
            log: db.open_tree("log")?,
            raft: db.open_tree("raft")?,
            objects: db.open_tree("objects")?,
            db,
            meta: Arc::default(),
        };
        let mut meta = Meta::default();
        if let Some(v) = s.raft.get(HARD_STATE_KEY)? {
            meta.hard_state =
                HardState::parse_from_bytes(&v).map_err(|e| StoreError::Internal(e.to_string()))?;
        }
        if let Some(v) = s.raft.get(CONF_STATE_KEY)? {
            meta.conf_state =
                ConfState::parse_from_bytes(&v).map_err(|e| StoreError::Internal(e.to_string()))?;
        }
        if let Some(v) = s.raft.get(SNAPSHOT_META_KEY)? {
            let m = SnapshotMetadata::parse_from_bytes(&v)
                .map_err(|e| StoreError::Internal(e.to_string()))?;
            meta.snapshot_index = m.index;
            meta.snapshot_term = m.term;
        }
        meta.last_index = match s.log.last()? {
            Some((k, _)) => u64_from(&k),
            None => meta.snapshot_index,
        };
        *s.meta.lock().expect("storage meta lock") = meta;
        Ok(s)
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

    /// The objects, members and applied index persisted by the last applied entry.
    pub fn load(&self) -> Result<Loaded, StoreError> {
        let applied = self
            .objects
            .get(APPLIED_KEY)?
            .map(|v| u64_from(&v))
            .unwrap_or(0);
        let members: Vec<Member> = match self.objects.get(MEMBERS_KEY)? {
            Some(v) => serde_json::from_slice(&v)
                .map_err(|e| StoreError::Internal(format!("stored members: {e}")))?,
            None => vec![],
        };
        let mut objects = BTreeMap::new();
        for kv in self.objects.iter() {
            let (k, v) = kv?;
            if k.first() == Some(&0) {
                continue; // metadata keys start with NUL
            }
            let key = String::from_utf8_lossy(&k).into_owned();
            let obj = Object::from_json(&v)
                .map_err(|e| StoreError::Internal(format!("stored {key}: {e}")))?;
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
        self.set_conf_state(&cs)?;
        let hs = HardState {
            term: 1,
            commit: 1,
            ..Default::default()
        };
        self.set_hard_state(&hs)?;
        self.write_members(std::slice::from_ref(me), 1)?;
        self.set_id(me.id)?;
        let mut meta = self.meta();
        meta.snapshot_index = 1;
        meta.snapshot_term = 1;
        meta.last_index = 1;
        Ok(())
    }

    /// Writes the member list with the applied index of the entry that changed it.
    pub fn write_members(&self, members: &[Member], applied: u64) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        let json = serde_json::to_vec(members).map_err(|e| StoreError::Internal(e.to_string()))?;
        batch.insert(MEMBERS_KEY, json);
        batch.insert(APPLIED_KEY, &applied.to_be_bytes());
        self.objects.apply_batch(batch)?;
        Ok(())
    }

    /// Writes the changed objects and the new applied index in one atomic batch.
    pub fn write_applied(
        &self,
        upserts: &[(ObjectKey, Vec<u8>)],
        deletes: &[ObjectKey],
        applied: u64,
    ) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (k, v) in upserts {
            batch.insert(k.0.as_bytes(), v.as_slice());
        }
        for k in deletes {
            batch.remove(k.0.as_bytes());
        }
        batch.insert(APPLIED_KEY, &applied.to_be_bytes());
        self.objects.apply_batch(batch)?;
        Ok(())
    }

    /// Appends entries, truncating any conflicting suffix.
    pub fn append(&self, entries: &[Entry]) -> Result<(), StoreError> {
        let Some(first) = entries.first() else {
            return Ok(());
        };
        let mut meta = self.meta();
        let mut batch = sled::Batch::default();
        for i in first.index..=meta.last_index {
            batch.remove(&i.to_be_bytes());
        }
        for e in entries {
            batch.insert(&e.index.to_be_bytes(), pb(e));
        }
        self.log.apply_batch(batch)?;
        meta.last_index = entries.last().map_or(meta.last_index, |e| e.index);
        Ok(())
    }

    pub fn set_hard_state(&self, hs: &HardState) -> Result<(), StoreError> {
        self.raft.insert(HARD_STATE_KEY, pb(hs))?;
        self.meta().hard_state = hs.clone();
        Ok(())
    }

    pub fn set_commit(&self, commit: u64) -> Result<(), StoreError> {
        let mut hs = self.meta().hard_state.clone();
        hs.commit = commit;
        self.set_hard_state(&hs)
    }

    pub fn set_conf_state(&self, cs: &ConfState) -> Result<(), StoreError> {
        self.raft.insert(CONF_STATE_KEY, pb(cs))?;
        self.meta().conf_state = cs.clone();
        Ok(())
    }

    /// Makes everything written so far durable. Nothing is acknowledged before this returns.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.data_file
            .sync_data()
            .map_err(|e| StoreError::Internal(format!("fdatasync of the store: {e}")))
    }

    /// Drops log entries up to and including `index` (which must be applied).
    pub fn compact(&self, index: u64) -> Result<(), StoreError> {
        let term =
            raft::Storage::term(self, index).map_err(|e| StoreError::Internal(e.to_string()))?;
        let m = SnapshotMetadata {
            index,
            term,
            ..Default::default()
        };
        self.raft.insert(SNAPSHOT_META_KEY, pb(&m))?;
        let start = self.meta().snapshot_index + 1;
        let mut batch = sled::Batch::default();
        for i in start..=index {
            batch.remove(&i.to_be_bytes());
        }
        self.log.apply_batch(batch)?;
        let mut meta = self.meta();
        meta.snapshot_index = index;
        meta.snapshot_term = term;
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

    /// Installs a snapshot received from the leader: objects, log and metadata are replaced.
    pub fn install_snapshot(&self, snap: &Snapshot) -> Result<Loaded, StoreError> {
        use sled::transaction::{ConflictableTransactionError, TransactionError};
        use sled::Transactional;
        let md = snap.get_metadata();
        let data: SnapshotData = serde_json::from_slice(&snap.data)
            .map_err(|e| StoreError::Internal(format!("snapshot data: {e}")))?;
        let old_objects = self.objects.iter().keys().collect::<Result<Vec<_>, _>>()?;
        let old_log = self.log.iter().keys().collect::<Result<Vec<_>, _>>()?;
        let mut map = BTreeMap::new();
        let mut upserts = Vec::with_capacity(data.objects.len());
        for o in data.objects {
            let key = super::key::key_of(&o);
            upserts.push((key.clone(), o.to_json()));
            map.insert(key, o);
        }
        let members_json =
            serde_json::to_vec(&data.members).map_err(|e| StoreError::Internal(e.to_string()))?;
        let mut hs = self.meta().hard_state.clone();
        hs.commit = hs.commit.max(md.index);
        hs.term = hs.term.max(md.term);
        let cs = md.get_conf_state().clone();
        // One transaction over the three trees: a crash leaves the old state or the new one,
        // never objects of one and Raft metadata of the other.
        (&self.objects, &self.log, &self.raft)
            .transaction(|(objects, log, raft)| {
                for k in &old_objects {
                    objects.remove(k)?;
                }
                for k in &old_log {
                    log.remove(k)?;
                }
                for (k, v) in &upserts {
                    objects.insert(k.0.as_bytes(), v.as_slice())?;
                }
                objects.insert(APPLIED_KEY, &md.index.to_be_bytes())?;
                objects.insert(MEMBERS_KEY, members_json.as_slice())?;
                raft.insert(SNAPSHOT_META_KEY, pb(md))?;
                raft.insert(CONF_STATE_KEY, pb(&cs))?;
                raft.insert(HARD_STATE_KEY, pb(&hs))?;
                Ok::<(), ConflictableTransactionError<()>>(())
            })
            .map_err(|e: TransactionError<()>| {
                StoreError::Internal(format!("installing snapshot: {e:?}"))
            })?;
        let mut meta = self.meta();
        meta.snapshot_index = md.index;
        meta.snapshot_term = md.term;
        meta.last_index = md.index;
        meta.conf_state = cs;
        meta.hard_state = hs;
        drop(meta);
        Ok(Loaded {
            objects: map,
            members: data.members.into_iter().map(|m| (m.id, m)).collect(),
            applied: md.index,
        })
    }
}

fn u64_from(bytes: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = bytes.len().min(8);
    b[8 - n..].copy_from_slice(&bytes[bytes.len() - n..]);
    u64::from_be_bytes(b)
}

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
        if low <= self.meta().snapshot_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        let mut out = Vec::new();
        let mut size = 0u64;
        for kv in self.log.range(low.to_be_bytes()..high.to_be_bytes()) {
            let (_, v) = kv.map_err(storage_err)?;
            let e = Entry::parse_from_bytes(&v).map_err(storage_err)?;
            size += u64::from(e.compute_size());
            if !out.is_empty() && max_size.is_some_and(|m| size > m) {
                break;
            }
            out.push(e);
        }
        if out.len() as u64 != high - low && max_size.is_none() {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        Ok(out)
    }

    fn term(&self, idx: u64) -> raft::Result<u64> {
        let (snap_index, snap_term, last) = {
            let m = self.meta();
            (m.snapshot_index, m.snapshot_term, m.last_index)
        };
        if idx == snap_index {
            return Ok(snap_term);
        }
        if idx < snap_index {
            return Err(raft::Error::Store(StorageError::Compacted));
        }
        if idx > last {
            return Err(raft::Error::Store(StorageError::Unavailable));
        }
        match self.log.get(idx.to_be_bytes()).map_err(storage_err)? {
            Some(v) => Ok(Entry::parse_from_bytes(&v).map_err(storage_err)?.term),
            None => Err(raft::Error::Store(StorageError::Unavailable)),
        }
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
        let data = SnapshotData {
            objects: loaded.objects.into_values().collect(),
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
