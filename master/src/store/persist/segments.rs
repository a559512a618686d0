//! [`Segments`]: the applied objects in sled as a log of checkpoint segments, not one sled key
//! per object.
//!
//! Why: a checkpoint writes ~1,000 objects; as 1,000 sled inserts it took a quarter of a
//! follower's CPU at 256 clients (sled's B-tree deltas, node copies and splits for every key).
//! As a segment it is a few inserts of ~32 KiB chunks.
//!
//! Layout in the `objects` tree: metadata under NUL-prefixed keys (written by the caller), and
//! each checkpoint's objects under `[LZ4_PREFIX][segment u64 BE][chunk u32 BE]`, so sled's
//! order is the order they were written. A chunk is a run of records
//! `[key length u32 LE][key][value length u32 LE, or u32::MAX for a removal][value]`,
//! stored as one LZ4 block (its length first, u32 LE). Reading the segments in order and
//! letting a later record replace an earlier one gives the objects. Chunks under
//! `[PLAIN_PREFIX]…` are uncompressed, written before session 15; they sort first and are
//! older than every LZ4 chunk. Keys of neither kind are objects stored one per key by earlier
//! versions; they are older than every segment and go once they are replaced.
//!
//! Why LZ4 (session 15): sled keeps every page of this tree in memory (its LRU has 256 shards
//! and never evicts a shard's last page, and this tree has a few hundred pages), so the
//! checkpoint of 30,000 pods held ~49 MB of chunks on every master, and sled's log wrote
//! each of them again whenever it rewrote a page. The JSON of running pods compresses about
//! 6.4 times in a 32 KiB chunk (2,000 bench-like pods: 2.1 MB to 331 KB).
//!
//! Cleaning, oldest segment first: once the records no longer live (replaced or removed)
//! outnumber the live ones (and a floor), the records of the oldest segment that are still
//! the newest of their key are copied into the segment being written and the old segment is
//! removed, in the same atomic sled batch. A removal record can go with its segment when that
//! segment is the oldest, since no older value of its key is left. Each write moves at most a
//! bounded number of records, so no checkpoint grows without limit.
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use super::super::error::StoreError;

/// First byte of an uncompressed chunk's key, as written before session 15 (metadata keys
/// start with NUL).
const PLAIN_PREFIX: u8 = 1;
/// First byte of an LZ4-compressed chunk's key.
const LZ4_PREFIX: u8 = 2;
/// A chunk never decompresses to more than this: a larger length is corruption, refused
/// before anything is allocated for it.
const MAX_CHUNK_BYTES: usize = 256 * 1024 * 1024;
/// A chunk is closed once it holds this many bytes.
const CHUNK_BYTES: usize = 32 * 1024;
/// Garbage tolerated whatever the live count: small stores are never cleaned.
const MIN_GARBAGE: usize = 10_000;
/// Records one write may move forward while cleaning, besides the ones it writes.
const MAX_MOVED: usize = 4_000;
/// Length marking a removal record.
const REMOVED: u32 = u32::MAX;

fn bad(what: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("checkpoint segment: {what}"))
}

/// Whether a key of the `objects` tree is a chunk's.
fn is_chunk(key: &[u8]) -> bool {
    matches!(key.first(), Some(&PLAIN_PREFIX | &LZ4_PREFIX))
}

/// The sled key of chunk `chunk` of segment `seq` (`compressed`: written as LZ4).
fn chunk_key(seq: u64, chunk: u32, compressed: bool) -> Vec<u8> {
    let mut k = Vec::with_capacity(13);
    k.push(if compressed { LZ4_PREFIX } else { PLAIN_PREFIX });
    k.extend_from_slice(&seq.to_be_bytes());
    k.extend_from_slice(&chunk.to_be_bytes());
    k
}

/// The segment number of a chunk key.
fn segment_of(key: &[u8]) -> Result<u64, StoreError> {
    let b: [u8; 8] = key
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| bad(format!("key of {} bytes", key.len())))?;
    Ok(u64::from_be_bytes(b))
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn len_u32(len: usize) -> Result<u32, StoreError> {
    u32::try_from(len)
        .ok()
        .filter(|&l| l != REMOVED)
        .ok_or_else(|| bad(format!("a record of {len} bytes")))
}

/// One record of a chunk: key, and value or `None` for a removal.
pub type Record<'a> = (&'a [u8], Option<&'a [u8]>);

/// The records of the chunk stored under `key`, decompressed if it is an LZ4 chunk.
fn chunk_bytes<'a>(key: &[u8], value: &'a [u8]) -> Result<Cow<'a, [u8]>, StoreError> {
    if key.first() != Some(&LZ4_PREFIX) {
        return Ok(Cow::Borrowed(value));
    }
    let (len, block) = value
        .split_first_chunk::<4>()
        .ok_or_else(|| bad("an LZ4 chunk without its length"))?;
    let len = u32::from_le_bytes(*len) as usize;
    if len > MAX_CHUNK_BYTES {
        return Err(bad(format!("an LZ4 chunk claiming {len} bytes")));
    }
    let bytes = lz4_flex::block::decompress(block, len)
        .map_err(|e| bad(format!("an LZ4 chunk that does not decompress: {e}")))?;
    if bytes.len() != len {
        return Err(bad(format!(
            "an LZ4 chunk of {} bytes, not the {len} it claims",
            bytes.len()
        )));
    }
    Ok(Cow::Owned(bytes))
}

/// The records of one chunk, in order.
pub fn decode_chunk(bytes: &[u8]) -> Result<Vec<Record<'_>>, StoreError> {
    let mut out = Vec::new();
    let mut at = 0;
    let take = |n: usize, at: &mut usize| -> Result<&[u8], StoreError> {
        let s = bytes
            .get(*at..*at + n)
            .ok_or_else(|| bad(format!("a chunk cut short at byte {at}")))?;
        *at += n;
        Ok(s)
    };
    while at < bytes.len() {
        let klen = u32::from_le_bytes(take(4, &mut at)?.try_into().expect("4 bytes"));
        let key = take(klen as usize, &mut at)?;
        let vlen = u32::from_le_bytes(take(4, &mut at)?.try_into().expect("4 bytes"));
        let value = if vlen == REMOVED {
            None
        } else {
            Some(take(vlen as usize, &mut at)?)
        };
        out.push((key, value));
    }
    Ok(out)
}

/// Builds the chunks of one segment.
struct SegmentWriter {
    seq: u64,
    chunks: Vec<Vec<u8>>,
    records: usize,
}

impl SegmentWriter {
    fn new(seq: u64) -> Self {
        SegmentWriter {
            seq,
            chunks: vec![],
            records: 0,
        }
    }

    fn push(&mut self, key: &[u8], value: Option<&[u8]>) -> Result<(), StoreError> {
        let need_new = self.chunks.last().is_none_or(|c| c.len() >= CHUNK_BYTES);
        if need_new {
            self.chunks.push(Vec::with_capacity(CHUNK_BYTES + 1024));
        }
        let c = self.chunks.last_mut().expect("a chunk was just pushed");
        put_u32(c, len_u32(key.len())?);
        c.extend_from_slice(key);
        match value {
            Some(v) => {
                put_u32(c, len_u32(v.len())?);
                c.extend_from_slice(v);
            }
            None => put_u32(c, REMOVED),
        }
        self.records += 1;
        Ok(())
    }

    /// (sled key, LZ4 chunk) pairs.
    fn finish(self) -> impl Iterator<Item = (Vec<u8>, Vec<u8>)> {
        let seq = self.seq;
        (0u32..).zip(self.chunks).map(move |(i, c)| {
            (
                chunk_key(seq, i, true),
                lz4_flex::block::compress_prepend_size(&c),
            )
        })
    }
}

/// What is known of one segment on disk.
#[derive(Debug, Default, Clone, Copy)]
struct SegmentInfo {
    /// Records written, removals included.
    records: usize,
    /// Records that are still the newest value of a live key.
    live: usize,
    chunks: u32,
    /// Its chunks are LZ4 blocks (false: written uncompressed, before session 15).
    compressed: bool,
}

/// One write of objects: key -> value (`None`: removed).
pub type ObjectWrites<'a> = Vec<(&'a [u8], Option<Vec<u8>>)>;

/// Which segment holds the newest value of every live object, and what each segment holds.
#[derive(Debug, Default)]
pub struct Segments {
    next_seq: u64,
    /// Live key -> the segment holding its newest value (0: a key of the old layout).
    index: HashMap<Vec<u8>, u64>,
    segments: BTreeMap<u64, SegmentInfo>,
    /// Old-layout keys still in sled (live or not), removed at the first write.
    legacy: Vec<Vec<u8>>,
    /// False after a failed write: the index is rebuilt from sled before the next one.
    valid: bool,
}

impl Segments {
    /// Reads the layout of `tree` (every chunk is read once to index its records).
    pub fn open(tree: &sled::Tree) -> Result<Self, StoreError> {
        let mut s = Segments {
            next_seq: 1,
            valid: true,
            ..Default::default()
        };
        let mut chunks = vec![];
        for kv in tree.iter() {
            let (k, v) = kv?;
            match k.first() {
                Some(0) => {}
                _ if is_chunk(&k) => chunks.push((k, v)),
                _ => s.legacy.push(k.to_vec()),
            }
        }
        // Old-layout keys sort after the segments but are older than all of them.
        for k in &s.legacy {
            s.index.insert(k.clone(), 0);
        }
        for (k, v) in chunks {
            let seq = segment_of(&k)?;
            let bytes = chunk_bytes(&k, &v)?;
            let records = decode_chunk(&bytes)?;
            let info = s.segments.entry(seq).or_default();
            info.compressed = k[0] == LZ4_PREFIX;
            info.chunks += 1;
            info.records += records.len();
            for (key, value) in records {
                s.note(key, value.is_some(), seq);
            }
            s.next_seq = s.next_seq.max(seq + 1);
        }
        Ok(s)
    }

    /// Calls `f` with every stored object, oldest value first: a later call for the same key
    /// replaces an earlier one, `None` removes it.
    pub fn scan(
        tree: &sled::Tree,
        mut f: impl FnMut(&[u8], Option<&[u8]>),
    ) -> Result<(), StoreError> {
        // Old-layout keys sort after the segments but are older than all of them.
        let mut segments = vec![];
        for kv in tree.iter() {
            let (k, v) = kv?;
            match k.first() {
                Some(0) => {}
                _ if is_chunk(&k) => segments.push((k, v)),
                _ => f(&k, Some(&v)),
            }
        }
        for (k, v) in &segments {
            for (key, value) in decode_chunk(&chunk_bytes(k, v)?)? {
                f(key, value);
            }
        }
        Ok(())
    }

    /// Records that segment `seq` holds the newest value of `key` (`live`) or its removal.
    fn note(&mut self, key: &[u8], live: bool, seq: u64) {
        let old = if live {
            self.index.insert(key.to_vec(), seq)
        } else {
            self.index.remove(key)
        };
        if let Some(info) = old.and_then(|o| self.segments.get_mut(&o)) {
            info.live -= 1;
        }
        if live {
            self.segments.entry(seq).or_default().live += 1;
        }
    }

    fn live(&self) -> usize {
        self.index.len()
    }

    fn garbage(&self) -> usize {
        let records: usize = self.segments.values().map(|s| s.records).sum();
        (records + self.legacy.len()).saturating_sub(self.live())
    }

    /// Writes `objects` as a new segment in `batch` (with the removal of what cleaning
    /// frees), reading the oldest segments from `tree`. The caller applies the batch and
    /// calls [`Self::landed`] once it has; until then the index is rebuilt from sled before
    /// the next write.
    pub fn write(
        &mut self,
        tree: &sled::Tree,
        objects: ObjectWrites<'_>,
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        if !self.valid {
            *self = Segments::open(tree)?;
        }
        self.valid = false;
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut w = SegmentWriter::new(seq);
        for (key, value) in &objects {
            w.push(key, value.as_deref())?;
            self.note(key, value.is_some(), seq);
        }
        // Old-layout keys are all rewritten into the first segment.
        for key in std::mem::take(&mut self.legacy) {
            if self.index.get(&key) == Some(&0) {
                let v = tree
                    .get(&key)?
                    .ok_or_else(|| bad("an old-layout key vanished"))?;
                w.push(&key, Some(&v))?;
                self.note(&key, true, seq);
            }
            batch.remove(key);
        }
        self.clean(tree, &mut w, batch)?;
        self.seal(w, batch);
        Ok(())
    }

    /// Puts the chunks of `w` in `batch` and records what its segment holds.
    fn seal(&mut self, w: SegmentWriter, batch: &mut sled::Batch) {
        let seq = w.seq;
        let info = self.segments.entry(seq).or_default();
        info.records = w.records;
        info.compressed = true;
        for (k, v) in w.finish() {
            info.chunks += 1;
            batch.insert(k, v);
        }
        if info.records == 0 {
            self.segments.remove(&seq);
        }
    }

    /// Moves the live records of the oldest segments into `w` while garbage dominates.
    fn clean(
        &mut self,
        tree: &sled::Tree,
        w: &mut SegmentWriter,
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        let mut moved = 0;
        loop {
            self.segments.entry(w.seq).or_default().records = w.records;
            if moved >= MAX_MOVED || self.garbage() <= self.live().max(MIN_GARBAGE) {
                break;
            }
            let Some((&oldest, &info)) = self.segments.iter().next() else {
                break;
            };
            if oldest == w.seq {
                break;
            }
            for chunk in 0..info.chunks {
                let key = chunk_key(oldest, chunk, info.compressed);
                let stored = tree
                    .get(&key)?
                    .ok_or_else(|| bad(format!("segment {oldest} lost chunk {chunk}")))?;
                let bytes = chunk_bytes(&key, &stored)?;
                for (k, v) in decode_chunk(&bytes)? {
                    if v.is_some() && self.index.get(k) == Some(&oldest) {
                        w.push(k, v)?;
                        self.note(k, true, w.seq);
                        moved += 1;
                    }
                }
                batch.remove(key);
            }
            self.segments.remove(&oldest);
        }
        Ok(())
    }

    /// Replaces everything with `objects` (a snapshot): the old chunks and keys are removed in
    /// `batch` and one new segment written.
    pub fn replace(
        &mut self,
        tree: &sled::Tree,
        objects: &[(Vec<u8>, Vec<u8>)],
        batch: &mut sled::Batch,
    ) -> Result<(), StoreError> {
        for k in tree.iter().keys() {
            let k = k?;
            if k.first() != Some(&0) {
                batch.remove(k);
            }
        }
        let seq = self.next_seq.max(1);
        *self = Segments {
            next_seq: seq + 1,
            ..Default::default()
        };
        let mut w = SegmentWriter::new(seq);
        for (k, v) in objects {
            w.push(k, Some(v))?;
            self.note(k, true, seq);
        }
        self.seal(w, batch);
        Ok(())
    }

    /// The batch of the last [`Self::write`] or [`Self::replace`] is in sled.
    pub fn landed(&mut self) {
        self.valid = true;
    }
}

#[cfg(test)]
mod tests;
