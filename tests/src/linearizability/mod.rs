//! A linearizability checker for a key-value store of registers, for the fault tests
//! (DESIGN.md section 8): clients read, write and compare-and-swap a few keys while faults are
//! injected, each recording what it saw as an [`Operation`]; [`check`] decides whether some
//! order of those operations, consistent with their real-time order, explains every result.
//!
//! Registers are independent, so the history is partitioned by key and each key's sub-history is
//! checked on its own with the Wing & Gong / Lowe algorithm (as in Porcupine and Knossos): call
//! and return events sorted by time in doubly linked lists, a depth-first search that linearizes
//! an operation whose call precedes every pending return ("lift" it out of the list) and undoes
//! it on a dead end ("unlift"), and a cache of visited configurations (linearized operations,
//! register value) so that none is explored twice. Times are compared as given; a call and a
//! return at the same instant count as concurrent.
//!
//! Operations whose outcome is unknown (`ret: None`) may take effect at any point after their call
//! or never: an unknown read is dropped; an unknown write or compare-and-swap stays a candidate
//! for ever, and the search succeeds once every operation with a known outcome is linearized.
//! What keeps the search small (each step is justified where it is made):
//! - values that no operation reads or expects are merged into one, and unknown writes and
//!   compare-and-swaps that nothing could observe are dropped;
//! - a read or failed compare-and-swap that can go now is a forced move (no alternatives tried);
//! - unknown operations come last, only when some pending operation wants their change, only the
//!   first pending one of identical ones, and never as a blind write right after another unknown
//!   one; a configuration is pruned when one with the same known operations and value and a subset
//!   of its unknown operations has failed;
//! - a read (or successful compare-and-swap) of a value nobody could have written by its return
//!   fails at once, without a search.
//!
//! The search is exponential in the worst case, so it is bounded: past `budget` steps a key is
//! reported "undecided", never linearizable. Unique values per write (as Jepsen-style tests use)
//! keep it fast: a 10,000-operation history over 5 keys and 16 clients takes well under a second
//! even when it fails. Few distinct values combined with many unknown outcomes make failures
//! (not successes) expensive to prove.
//!
//! On a failure, the report names the key and lists the shortest prefix of its history found to
//! have no linearization (all the operations called up to the return of some operation, those
//! still running then counted as unknown), marking the operation(s) whose return ends it: the
//! first point the history cannot explain. Finding it takes a few more searches (bisection over
//! return times, starting where the first search got stuck), each with the same budget.
//!
//! Map:
//! - `history`: one key's operations: checking them, and the model the search runs on.
//! - `model`: that model: interned values, operations as register steps, and unknown writes and
//!   compare-and-swaps dropped when nothing could observe them.
//! - `search`: the depth-first search over one model.
//! - `prune`: what lets the search skip work: the demand for each value and the cache of
//!   visited (and failed) configurations.
//! - `report`: a failure's explanation: the shortest prefix with no linearization, listed.
//! - `tests`: hand-written histories; randomized ones from a simulated store, and a
//!   cross-check against a brute-force search on tiny ones.

mod history;
mod model;
mod prune;
mod report;
mod search;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use history::KeyHistory;

/// One operation as a client saw it. Times are any monotonic clock values (e.g. nanoseconds since
/// test start).
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// Which client ran it (only shown in reports).
    pub client: usize,
    /// The register it addressed.
    pub key: String,
    /// What it did and what it saw.
    pub op: Op,
    /// When the client sent it.
    pub call: u64,
    /// When the client got its result. `None`: the outcome is unknown (timed out / connection
    /// lost): the operation may or may not have taken effect, at any point after `call` (its
    /// return is treated as +infinity).
    pub ret: Option<u64>,
}

/// What an [`Operation`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// Read returned `value` (None: key absent).
    Read {
        /// The value seen.
        value: Option<String>,
    },
    /// Unconditional write.
    Write {
        /// The value written.
        value: String,
    },
    /// Compare-and-swap from `expected` (None: key must be absent) to `new`; `ok` is whether it
    /// succeeded (for unknown outcomes, `ok` is ignored: both outcomes are allowed).
    Cas {
        /// The value the register must hold for the swap to happen.
        expected: Option<String>,
        /// The value written when it does.
        new: String,
        /// Whether the client was told it happened.
        ok: bool,
    },
}

/// The result of [`check`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verdict {
    /// Whether every key's sub-history was shown linearizable.
    pub linearizable: bool,
    /// One entry per key that was not: the key and a human-readable explanation (the smallest
    /// prefix of its operations that could not be linearized, listed), or "undecided" when the
    /// search budget ran out.
    pub failures: Vec<String>,
}

/// Checks every key's sub-history; `initial` values per key (missing = absent). Gives up on a key
/// after `budget` search steps and reports it as a failure saying "undecided" (never reported as
/// linearizable).
pub fn check(history: &[Operation], initial: &HashMap<String, String>, budget: u64) -> Verdict {
    let mut by_key: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (index, operation) in history.iter().enumerate() {
        by_key.entry(&operation.key).or_default().push(index);
    }
    let failures: Vec<String> = by_key
        .into_iter()
        .filter_map(|(key, indices)| {
            let key_history = KeyHistory {
                history,
                indices,
                initial: initial.get(key).map(String::as_str),
            };
            key_history
                .check(budget)
                .err()
                .map(|why| format!("key {key:?}: {why}"))
        })
        .collect();
    Verdict {
        linearizable: failures.is_empty(),
        failures,
    }
}
