//! [`MemLog`]: where each entry of the Raft log is in the [`Wal`](super::super::wal::Wal), its
//! term, and the newest entries themselves.
//!
//! Why not every entry in memory: entries are batches (500 pods, a node's statuses), and the
//! log reaches back to the last compaction and, on the leader, to what the slowest follower
//! acknowledged. Held whole on every master, that was 20-27 MB of the leader's heap in
//! bench-scale (session 19's profile). Raft reads the newest entries (to apply what was just
//! committed, to send a follower what was just appended), and those stay in memory, up to
//! [`CACHED_BYTES`]; an older one is read back from the log file, which the OS usually still
//! holds in its page cache. Terms, which Raft asks for far more often, are always in memory.
use std::collections::VecDeque;

use raft::eraftpb::Entry;

use super::super::wal::Pos;

/// Payload bytes of the newest entries kept in memory (the newest entry always is). Twice
/// what one Ready applies at most (`store::MAX_APPLY_PER_READY`), so that a follower applying
/// a backlog finds what it appended last still in memory.
pub const CACHED_BYTES: u64 = 2 * 1024 * 1024;

/// What an entry costs in memory beyond its fixed fields.
fn cost(e: &Entry) -> u64 {
    (e.data.len() + e.context.len()) as u64
}

/// Consecutive log entries: where each one is, and the newest ones.
#[derive(Default)]
pub(super) struct MemLog {
    /// Every entry, oldest first.
    positions: VecDeque<Pos>,
    /// The last `cached.len()` entries of the log.
    cached: VecDeque<Entry>,
    cached_bytes: u64,
    /// Encoded bytes of every entry in the log file.
    bytes: u64,
}

impl MemLog {
    /// The log of `entries`, written at `positions` (one for each, in the same order).
    pub fn new(positions: Vec<Pos>, entries: Vec<Entry>) -> Self {
        let mut log = MemLog::default();
        log.extend(positions, entries);
        log
    }

    pub fn len(&self) -> usize {
        self.positions.len()
    }

    /// Encoded bytes of every entry in the log.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Where the entry at position `pos` is.
    pub fn position(&self, pos: usize) -> Option<Pos> {
        self.positions.get(pos).copied()
    }

    /// Where every entry is, oldest first.
    pub fn positions(&self) -> impl Iterator<Item = Pos> + '_ {
        self.positions.iter().copied()
    }

    /// The entry at position `pos` if it is held in memory.
    pub fn cached(&self, pos: usize) -> Option<&Entry> {
        let first = self.positions.len() - self.cached.len();
        pos.checked_sub(first).and_then(|i| self.cached.get(i))
    }

    /// Drops the entries from position `pos` on (a conflicting suffix).
    pub fn truncate(&mut self, pos: usize) {
        for p in self.positions.range(pos.min(self.positions.len())..) {
            self.bytes -= u64::from(p.len);
        }
        let first = self.positions.len() - self.cached.len();
        self.positions.truncate(pos);
        let keep = pos.saturating_sub(first);
        for e in self.cached.range(keep.min(self.cached.len())..) {
            self.cached_bytes -= cost(e);
        }
        self.cached.truncate(keep);
    }

    /// Adds `entries`, written at `positions`, after the last one.
    pub fn extend(&mut self, positions: Vec<Pos>, entries: Vec<Entry>) {
        debug_assert_eq!(positions.len(), entries.len());
        for p in positions {
            self.bytes += u64::from(p.len);
            self.positions.push_back(p);
        }
        for e in entries {
            self.cached_bytes += cost(&e);
            self.cached.push_back(e);
        }
        while self.cached_bytes > CACHED_BYTES && self.cached.len() > 1 {
            if let Some(e) = self.cached.pop_front() {
                self.cached_bytes -= cost(&e);
            }
        }
    }

    /// Drops the first `n` entries (compaction).
    pub fn drain_front(&mut self, n: usize) {
        let n = n.min(self.positions.len());
        for p in self.positions.drain(..n) {
            self.bytes -= u64::from(p.len);
        }
        while self.cached.len() > self.positions.len() {
            if let Some(e) = self.cached.pop_front() {
                self.cached_bytes -= cost(&e);
            }
        }
    }

    /// Replaces every position (the log file was rewritten with the same entries).
    pub fn moved(&mut self, positions: Vec<Pos>) {
        debug_assert_eq!(positions.len(), self.positions.len());
        self.positions = positions.into();
    }

    pub fn clear(&mut self) {
        *self = MemLog::default();
    }

    /// How many entries, counted back from position `end` (exclusive), fit in `keep` entries
    /// and `keep_bytes` bytes: the tail a compaction leaves behind the applied index.
    pub fn tail_within(&self, end: usize, keep: usize, keep_bytes: u64) -> usize {
        let mut bytes = 0;
        let mut n = 0;
        for p in self.positions.range(..end.min(self.positions.len())).rev() {
            bytes += u64::from(p.len);
            if n == keep || bytes > keep_bytes {
                break;
            }
            n += 1;
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(index: u64, size: usize) -> Entry {
        Entry {
            index,
            data: vec![0u8; size].into(),
            ..Default::default()
        }
    }

    /// Entries `indexes`, each `size` bytes, at made-up positions.
    fn log_of(indexes: std::ops::RangeInclusive<u64>, size: usize) -> (Vec<Pos>, Vec<Entry>) {
        indexes
            .map(|i| {
                let pos = Pos {
                    term: 1,
                    at: i * 1000,
                    len: size as u32,
                };
                (pos, entry(i, size))
            })
            .unzip()
    }

    #[test]
    fn bytes_follow_every_change() {
        let (p, e) = log_of(1..=5, 100);
        let mut log = MemLog::new(p, e);
        assert_eq!((log.len(), log.bytes()), (5, 500));
        log.truncate(3);
        assert_eq!((log.len(), log.bytes()), (3, 300));
        let (p, e) = log_of(4..=4, 1000);
        log.extend(p, e);
        assert_eq!(log.bytes(), 1300);
        log.drain_front(2);
        assert_eq!((log.len(), log.bytes()), (2, 1100));
        assert_eq!(log.position(0).map(|p| p.at), Some(3000));
        assert_eq!(log.cached(1).map(|e| e.index), Some(4));
        log.clear();
        assert_eq!((log.len(), log.bytes()), (0, 0));
    }

    #[test]
    fn only_the_newest_entries_stay_in_memory() {
        let size = 100 * 1024;
        let n = (CACHED_BYTES / size as u64) as usize;
        let (p, e) = log_of(1..=(2 * n as u64), size);
        let mut log = MemLog::new(p, e);
        assert_eq!(log.len(), 2 * n);
        assert!(log.cached(n - 1).is_none(), "older entries are read back");
        assert_eq!(log.cached(n).map(|e| e.index), Some(n as u64 + 1));
        assert_eq!(log.cached(2 * n - 1).map(|e| e.index), Some(2 * n as u64));
        // A truncation into the cached entries keeps the older ones cached.
        log.truncate(2 * n - 2);
        assert_eq!(
            log.cached(2 * n - 3).map(|e| e.index),
            Some(2 * n as u64 - 2)
        );
        assert!(log.cached(2 * n - 2).is_none());
        // A truncation before them empties the cache; what comes next is cached.
        log.truncate(2);
        assert!(log.cached(1).is_none());
        let (p, e) = log_of(3..=3, 10);
        log.extend(p, e);
        assert_eq!(log.cached(2).map(|e| e.index), Some(3));
        // The newest entry stays in memory whatever its size.
        let (p, e) = log_of(4..=4, 3 * CACHED_BYTES as usize);
        log.extend(p, e);
        assert_eq!(log.cached(3).map(|e| e.index), Some(4));
        assert!(log.cached(2).is_none());
    }

    #[test]
    fn the_kept_tail_is_bounded_by_count_and_bytes() {
        let (p, e) = log_of(1..=10, 100);
        let log = MemLog::new(p, e);
        assert_eq!(log.tail_within(10, 4, u64::MAX), 4);
        assert_eq!(log.tail_within(10, 100, 250), 2);
        assert_eq!(log.tail_within(6, 100, u64::MAX), 6);
        // One entry larger than the byte budget is not kept.
        let (mut p, mut e) = log_of(1..=1, 10);
        let (p2, e2) = log_of(2..=2, 1000);
        p.extend(p2);
        e.extend(e2);
        let big = MemLog::new(p, e);
        assert_eq!(big.tail_within(2, 100, 500), 0);
    }
}
