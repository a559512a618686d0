//! [`Checkpoints`]: applied changes kept aside in memory, and their checkpoint into sled on a
//! thread of its own.
//!
//! The Raft thread records every applied change here ([`Checkpoints::record`]); once enough
//! keys have changed it hands the batch to a checkpoint thread ([`Checkpoints::start`]) and
//! goes on applying. The thread serializes the objects, writes them as one checkpoint segment
//! ([`super::segments`]) with the metadata in one atomic sled batch, flushes sled and
//! `fdatasync`s its data file. At most one checkpoint is in flight; reads
//! overlay the in-flight batch and then the newer pending one on top of sled, so they see
//! every applied change whether or not it reached the disk. Why a thread: a checkpoint of
//! 1,000 pods took ~11% of the leader's CPU on the Raft thread under load, and every
//! millisecond there delayed every write behind it.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use bosun_shared::Object;

use super::super::error::StoreError;
use super::segments::Segments;

/// A value waiting to be checkpointed.
pub enum Value {
    /// An object, serialized by the checkpoint thread.
    Object(Arc<Object>),
    /// Bytes already encoded (the applied index, members, conf state).
    Raw(Vec<u8>),
}

impl Value {
    pub fn bytes(&self) -> Vec<u8> {
        match self {
            Value::Object(o) => o.to_json(),
            Value::Raw(b) => b.clone(),
        }
    }
}

/// Writes not yet in sled: key -> value (`None`: removed).
pub type Batch = BTreeMap<Vec<u8>, Option<Value>>;

/// What the checkpoint thread writes to.
#[derive(Clone)]
pub struct Target {
    pub db: sled::Db,
    pub objects: sled::Tree,
    /// sled's data file: sled's own flush ends in `sync_file_range`, which neither reaches the
    /// disk's write cache nor covers metadata, so an `fdatasync` follows it.
    pub data_file: Arc<std::fs::File>,
    /// Where the objects are in `objects`; held while sled is written, and by readers of the
    /// objects, so that no reader sees half a checkpoint.
    pub segments: Arc<Mutex<Segments>>,
}

impl Target {
    pub fn segments(&self) -> MutexGuard<'_, Segments> {
        // Poisoning means a panic while writing, which already stopped the master.
        self.segments.lock().expect("checkpoint segments lock")
    }

    /// Writes `batch` in one atomic sled batch and makes it durable: metadata (NUL-prefixed
    /// keys) under its own keys, objects as a new segment.
    pub fn write(&self, batch: &Batch) -> Result<(), StoreError> {
        if !batch.is_empty() {
            let mut segments = self.segments();
            let mut b = sled::Batch::default();
            let mut objects = Vec::new();
            for (k, v) in batch {
                if k.first() == Some(&0) {
                    match v {
                        Some(v) => b.insert(k.as_slice(), v.bytes()),
                        None => b.remove(k.as_slice()),
                    }
                } else {
                    objects.push((k.as_slice(), v.as_ref().map(Value::bytes)));
                }
            }
            segments.write(&self.objects, objects, &mut b)?;
            self.objects.apply_batch(b)?;
            segments.landed();
        }
        self.sync()
    }

    /// Flushes sled and `fdatasync`s its data file.
    pub fn sync(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.data_file
            .sync_data()
            .map_err(|e| StoreError::Internal(format!("fdatasync of the store: {e}")))
    }
}

/// A checkpoint being written: its batch (still read through until it is joined) and the
/// thread writing it.
struct InFlight {
    batch: Arc<Batch>,
    /// The applied index the batch brings sled to.
    applied: u64,
    thread: JoinHandle<Result<(), StoreError>>,
}

/// Applied changes not yet durable in sled.
#[derive(Default)]
pub struct Checkpoints {
    /// Recorded since the last checkpoint started.
    pending: Batch,
    /// The applied index of the newest recorded change.
    applied: u64,
    in_flight: Option<InFlight>,
    /// The applied index sled holds durably: log entries up to it may be compacted.
    durable: u64,
}

impl Checkpoints {
    /// Starts from what sled holds durably.
    pub fn new(durable: u64) -> Self {
        Checkpoints {
            applied: durable,
            durable,
            ..Default::default()
        }
    }

    pub fn record(&mut self, key: Vec<u8>, value: Option<Value>) {
        self.pending.insert(key, value);
    }

    /// Records the applied index the recorded changes bring the store to.
    pub fn record_applied(&mut self, key: &[u8], applied: u64) {
        self.applied = applied;
        let bytes = applied.to_be_bytes().to_vec();
        self.pending.insert(key.to_vec(), Some(Value::Raw(bytes)));
    }

    /// The applied index sled holds durably.
    pub fn durable(&self) -> u64 {
        self.durable
    }

    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// The newest recorded value of `key`: `Some(None)` when it was removed, `None` when
    /// nothing newer than sled holds it.
    pub fn get(&self, key: &[u8]) -> Option<Option<Vec<u8>>> {
        if let Some(v) = self.pending.get(key) {
            return Some(v.as_ref().map(Value::bytes));
        }
        let v = self.in_flight.as_ref()?.batch.get(key)?;
        Some(v.as_ref().map(Value::bytes))
    }

    /// Applies the in-flight and pending writes, oldest first, over `raw` (read from sled).
    pub fn overlay(&self, raw: &mut BTreeMap<Vec<u8>, Vec<u8>>) {
        let batches = self.in_flight.iter().map(|f| &*f.batch);
        for batch in batches.chain(std::iter::once(&self.pending)) {
            for (k, v) in batch {
                match v {
                    Some(v) => raw.insert(k.clone(), v.bytes()),
                    None => raw.remove(k),
                };
            }
        }
    }

    /// Forgets everything recorded (a snapshot replaces it); waits for the in-flight
    /// checkpoint first, so it cannot land after what replaces it.
    pub fn discard(&mut self) -> Result<(), StoreError> {
        self.join()?;
        self.pending.clear();
        Ok(())
    }

    /// sled now durably holds the state at `applied` (a snapshot was installed).
    pub fn installed(&mut self, applied: u64) {
        self.applied = applied;
        self.durable = applied;
    }

    /// True while a checkpoint is being written.
    pub fn busy(&mut self) -> Result<bool, StoreError> {
        match &self.in_flight {
            Some(f) if !f.thread.is_finished() => Ok(true),
            Some(_) => self.join().map(|_| false),
            None => Ok(false),
        }
    }

    /// Hands what is pending to a new checkpoint thread (the caller checked [`Self::busy`]).
    pub fn start(&mut self, target: &Target) -> Result<(), StoreError> {
        self.join()?;
        let batch = Arc::new(std::mem::take(&mut self.pending));
        let (t, b) = (target.clone(), batch.clone());
        let spawned = std::thread::Builder::new()
            .name("checkpoint".into())
            .spawn(move || t.write(&b));
        let thread = match spawned {
            Ok(thread) => thread,
            Err(e) => {
                self.restore(batch);
                return Err(StoreError::Internal(format!(
                    "spawn checkpoint thread: {e}"
                )));
            }
        };
        self.in_flight = Some(InFlight {
            batch,
            applied: self.applied,
            thread,
        });
        Ok(())
    }

    /// Waits for the in-flight checkpoint; its failure is a storage failure.
    pub fn join(&mut self) -> Result<(), StoreError> {
        let Some(f) = self.in_flight.take() else {
            return Ok(());
        };
        let written = f.thread.join().unwrap_or_else(|_| {
            Err(StoreError::Internal(
                "the checkpoint thread panicked".into(),
            ))
        });
        if let Err(e) = written {
            self.restore(f.batch);
            return Err(e);
        }
        self.durable = self.durable.max(f.applied);
        Ok(())
    }

    /// Puts a batch that did not reach sled back under what was recorded since, so that a
    /// later checkpoint (at shutdown) never writes a newer applied index without it.
    fn restore(&mut self, batch: Arc<Batch>) {
        // The thread that shared the batch has ended (joined, or never spawned).
        let Ok(batch) = Arc::try_unwrap(batch) else {
            return;
        };
        for (k, v) in batch {
            self.pending.entry(k).or_insert(v);
        }
    }

    /// Waits for the in-flight checkpoint, then writes what is pending on this thread.
    pub fn write_now(&mut self, target: &Target) -> Result<(), StoreError> {
        self.join()?;
        let batch = Arc::new(std::mem::take(&mut self.pending));
        if let Err(e) = target.write(&batch) {
            self.restore(batch);
            return Err(e);
        }
        self.durable = self.durable.max(self.applied);
        Ok(())
    }
}
