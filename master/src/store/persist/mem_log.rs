//! [`MemLog`]: the Raft log's entries held in memory, with their total size.
//!
//! Why the size: entries are batches (500 pods, a node's statuses), so a count says little
//! about memory. 10,000 entries of a scheduling run held every pod's creation, binding,
//! statuses and events since the start, on every master; compaction now also looks at bytes.
use std::collections::VecDeque;

use raft::eraftpb::Entry;

/// What an entry costs in memory beyond its fixed fields.
fn cost(e: &Entry) -> u64 {
    (e.data.len() + e.context.len()) as u64
}

/// Consecutive log entries and the bytes of their payloads.
#[derive(Default)]
pub(super) struct MemLog {
    entries: VecDeque<Entry>,
    bytes: u64,
}

impl MemLog {
    pub fn new(entries: impl IntoIterator<Item = Entry>) -> Self {
        let mut log = MemLog::default();
        log.extend(entries);
        log
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Payload bytes of every entry held.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn front(&self) -> Option<&Entry> {
        self.entries.front()
    }

    pub fn get(&self, pos: usize) -> Option<&Entry> {
        self.entries.get(pos)
    }

    pub fn range(&self, r: std::ops::Range<usize>) -> impl Iterator<Item = &Entry> {
        self.entries.range(r)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Drops the entries from position `pos` on (a conflicting suffix).
    pub fn truncate(&mut self, pos: usize) {
        for e in self.entries.range(pos.min(self.entries.len())..) {
            self.bytes -= cost(e);
        }
        self.entries.truncate(pos);
    }

    pub fn extend(&mut self, entries: impl IntoIterator<Item = Entry>) {
        for e in entries {
            self.bytes += cost(&e);
            self.entries.push_back(e);
        }
    }

    /// Drops the first `n` entries (compaction).
    pub fn drain_front(&mut self, n: usize) {
        for e in self.entries.drain(..n.min(self.entries.len())) {
            self.bytes -= cost(&e);
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.bytes = 0;
    }

    /// How many entries, counted back from position `end` (exclusive), fit in `keep` entries
    /// and `keep_bytes` bytes: the tail a compaction leaves behind the applied index.
    pub fn tail_within(&self, end: usize, keep: usize, keep_bytes: u64) -> usize {
        let mut bytes = 0;
        let mut n = 0;
        for e in self.entries.range(..end.min(self.entries.len())).rev() {
            bytes += cost(e);
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

    #[test]
    fn bytes_follow_every_change() {
        let mut log = MemLog::new((1..=5).map(|i| entry(i, 100)));
        assert_eq!((log.len(), log.bytes()), (5, 500));
        log.truncate(3);
        assert_eq!((log.len(), log.bytes()), (3, 300));
        log.extend([entry(4, 1000)]);
        assert_eq!(log.bytes(), 1300);
        log.drain_front(2);
        assert_eq!((log.len(), log.bytes()), (2, 1100));
        assert_eq!(log.front().map(|e| e.index), Some(3));
        log.clear();
        assert_eq!((log.len(), log.bytes()), (0, 0));
    }

    #[test]
    fn the_kept_tail_is_bounded_by_count_and_bytes() {
        let log = MemLog::new((1..=10).map(|i| entry(i, 100)));
        assert_eq!(log.tail_within(10, 4, u64::MAX), 4);
        assert_eq!(log.tail_within(10, 100, 250), 2);
        assert_eq!(log.tail_within(6, 100, u64::MAX), 6);
        // One entry larger than the byte budget is not kept.
        let big = MemLog::new([entry(1, 10), entry(2, 1000)]);
        assert_eq!(big.tail_within(2, 100, 500), 0);
    }
}
