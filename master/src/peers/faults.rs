//! [`Faults`]: network faults injected into the peer transport (partitions, isolation, message
//! loss, delay). Empty by default; fault tests share one `Faults` among in-process masters.
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct State {
    /// (from, to) pairs whose messages are dropped.
    blocked: HashSet<(u64, u64)>,
    /// Share of messages dropped, in thousandths.
    drop_per_mille: u32,
    delay: Duration,
    rng: u64,
}

/// Faults applied to Raft messages between masters, by Raft id.
#[derive(Default)]
pub struct Faults {
    state: Mutex<State>,
}

impl Faults {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Only plain field updates happen under the lock.
        self.state.lock().expect("faults lock")
    }

    /// Cuts every link between a master of `a` and a master of `b`, both ways.
    pub fn partition(&self, a: &[u64], b: &[u64]) {
        let mut s = self.lock();
        for x in a {
            for y in b {
                s.blocked.insert((*x, *y));
                s.blocked.insert((*y, *x));
            }
        }
    }

    /// Cuts `id` off from every master of `all`.
    pub fn isolate(&self, id: u64, all: &[u64]) {
        let others: Vec<u64> = all.iter().copied().filter(|o| *o != id).collect();
        self.partition(&[id], &others);
    }

    /// Removes every fault.
    pub fn heal(&self) {
        let mut s = self.lock();
        s.blocked.clear();
        s.drop_per_mille = 0;
        s.delay = Duration::ZERO;
    }

    /// Drops this share (0.0 to 1.0) of all messages.
    pub fn drop_share(&self, share: f64) {
        self.lock().drop_per_mille = (share.clamp(0.0, 1.0) * 1000.0) as u32;
    }

    /// Delays every batch of messages by `delay`.
    pub fn delay(&self, delay: Duration) {
        self.lock().delay = delay;
    }

    pub(super) fn blocks(&self, from: u64, to: u64) -> bool {
        self.lock().blocked.contains(&(from, to))
    }

    pub(super) fn current_delay(&self) -> Duration {
        self.lock().delay
    }

    /// Whether to drop the next message (xorshift; no need for good randomness).
    pub(super) fn drop_next(&self) -> bool {
        let mut s = self.lock();
        if s.drop_per_mille == 0 {
            return false;
        }
        if s.rng == 0 {
            s.rng = 0x9E37_79B9_7F4A_7C15;
        }
        s.rng ^= s.rng << 13;
        s.rng ^= s.rng >> 7;
        s.rng ^= s.rng << 17;
        (s.rng % 1000) < u64::from(s.drop_per_mille)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_block_both_ways_and_heal() {
        let f = Faults::default();
        f.isolate(1, &[1, 2, 3]);
        assert!(f.blocks(1, 2) && f.blocks(2, 1) && f.blocks(3, 1));
        assert!(!f.blocks(2, 3));
        f.heal();
        assert!(!f.blocks(1, 2));
    }

    #[test]
    fn drop_share_is_roughly_respected() {
        let f = Faults::default();
        f.drop_share(0.3);
        let dropped = (0..10_000).filter(|_| f.drop_next()).count();
        assert!((2_500..3_500).contains(&dropped), "{dropped}");
        f.drop_share(0.0);
        assert!(!(0..100).any(|_| f.drop_next()));
    }
}
