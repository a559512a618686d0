//! What lets the search skip work: the demand for each register value (which unknown
//! operations are worth linearizing) and the cache of visited configurations (none explored
//! twice, and none dominated by one that failed).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::model::{Kind, ModelOp};

/// How many pending (not yet linearized) operations could use each register value: reads of
/// it, compare-and-swaps expecting it (succeeded or unknown), failed compare-and-swaps expecting
/// it. An unknown operation is only worth linearizing when its effect could be used.
pub(super) struct Demand {
    reads: Vec<u32>,
    swaps: Vec<u32>,
    failed_swaps: Vec<u32>,
}

impl Demand {
    pub(super) fn new(ops: &[ModelOp], values: usize) -> Self {
        let mut demand = Demand {
            reads: vec![0; values],
            swaps: vec![0; values],
            failed_swaps: vec![0; values],
        };
        for op in ops {
            demand.count(op.kind, 1);
        }
        demand
    }

    /// Adds `delta` (+1 pending again, -1 linearized) for `kind`.
    pub(super) fn count(&mut self, kind: Kind, delta: i32) {
        let (counts, value) = match kind {
            Kind::Read(value) => (&mut self.reads, value),
            Kind::Cas(expected, _) => (&mut self.swaps, expected),
            Kind::CasFailed(expected) => (&mut self.failed_swaps, expected),
            Kind::Write(_) => return,
        };
        let count = &mut counts[value as usize];
        *count = count.wrapping_add_signed(delta);
    }

    /// Whether changing the register from `from` to `to` could help some pending operation:
    /// otherwise every linearization doing it has an equivalent one without it (until the next
    /// change only failed compare-and-swaps expecting neither value can see the register).
    pub(super) fn wants(&self, from: u32, to: u32) -> bool {
        let to = to as usize;
        from as usize != to
            && (self.reads[to] > 0 || self.swaps[to] > 0 || self.failed_swaps[from as usize] > 0)
    }
}

/// SplitMix64's finalizer: a well-mixed 64-bit hash of `x`.
pub(super) fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A configuration's place in the [`Cache`]: its bucket and its index there.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot(u64, usize);

/// A visited configuration. Its known operations are stored compactly: the number of leading
/// all-ones words, then the words up to the last non-zero one (operations long past are all
/// linearized); its unknown ones up to the last non-zero word.
struct Config {
    full_words: usize,
    rest: Box<[u64]>,
    unknown: Box<[u64]>,
    /// Whether the search backed out of it (it has no completion).
    failed: bool,
}

/// Visited configurations, bucketed by (linearized known operations, register value): the
/// configurations of a bucket differ only in which unknown operations they linearized.
#[derive(Default)]
pub(super) struct Cache {
    buckets: HashMap<u64, Vec<Config>, BuildHasherDefault<PassThrough>>,
}

impl Cache {
    fn key(known_hash: u64, state: u32) -> u64 {
        known_hash ^ mix(u64::from(state) | 1 << 40)
    }

    /// Whether the configuration was visited, or is dominated by a failed one: one with the same
    /// known operations and value and a subset of its unknown operations (leaving an unknown
    /// operation out only removes constraints, so this one fails too).
    pub(super) fn seen(&self, known_hash: u64, known: &[u64], state: u32, unknown: &[u64]) -> bool {
        let Some(bucket) = self.buckets.get(&Self::key(known_hash, state)) else {
            return false;
        };
        let (full_words, rest) = compact(known);
        let unknown = trim(unknown);
        bucket.iter().any(|config| {
            config.full_words == full_words
                && *config.rest == *rest
                && (*config.unknown == *unknown
                    || config.failed && is_subset(&config.unknown, unknown))
        })
    }

    pub(super) fn insert(
        &mut self,
        known_hash: u64,
        known: &[u64],
        state: u32,
        unknown: &[u64],
    ) -> Slot {
        let (full_words, rest) = compact(known);
        let key = Self::key(known_hash, state);
        let bucket = self.buckets.entry(key).or_default();
        bucket.push(Config {
            full_words,
            rest: rest.into(),
            unknown: trim(unknown).into(),
            failed: false,
        });
        Slot(key, bucket.len() - 1)
    }

    pub(super) fn mark_failed(&mut self, Slot(key, index): Slot) {
        if let Some(config) = self.buckets.get_mut(&key).and_then(|b| b.get_mut(index)) {
            config.failed = true;
        }
    }
}

/// A set's compact form: leading all-ones words counted, trailing zero words dropped.
fn compact(set: &[u64]) -> (usize, &[u64]) {
    let full_words = set.iter().take_while(|&&w| w == u64::MAX).count();
    (full_words, trim(&set[full_words..]))
}

/// A set without its trailing zero words.
fn trim(set: &[u64]) -> &[u64] {
    &set[..set.iter().rposition(|&w| w != 0).map_or(0, |i| i + 1)]
}

/// Whether every bit of `small` is in `large` (both trimmed).
fn is_subset(small: &[u64], large: &[u64]) -> bool {
    small.len() <= large.len() && small.iter().zip(large).all(|(s, l)| s & !l == 0)
}

/// A hasher for keys that are already well-mixed `u64`s.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(byte);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
