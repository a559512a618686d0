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
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, Hasher};

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

/// At most this many operations are listed in a failure report (the last ones of the prefix).
const MAX_LISTED: usize = 32;

/// What a search concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Linearizable,
    /// `stuck_at`: the latest return the search ever had to wait for (where the history most
    /// likely stops being linearizable).
    NotLinearizable {
        stuck_at: Option<u64>,
    },
    Undecided,
}

/// The operations of one key.
struct KeyHistory<'a> {
    history: &'a [Operation],
    /// Indices into `history`, in history order.
    indices: Vec<usize>,
    initial: Option<&'a str>,
}

impl<'a> KeyHistory<'a> {
    /// `Ok` when linearizable, otherwise why not.
    fn check(&self, budget: u64) -> Result<(), String> {
        for &index in &self.indices {
            let operation = &self.history[index];
            if let Some(ret) = operation.ret.filter(|&ret| ret < operation.call) {
                return Err(format!(
                    "malformed history: #{index} returns at {ret}, before its call at {}",
                    operation.call
                ));
            }
        }
        match search(&self.model(None), budget) {
            Outcome::Linearizable => Ok(()),
            Outcome::Undecided => Err(format!(
                "undecided: gave up after {budget} search steps over {} operations",
                self.indices.len()
            )),
            Outcome::NotLinearizable { stuck_at } => Err(self.explain(budget, stuck_at)),
        }
    }

    /// The model of the history, or of its prefix up to `cut`: the operations called by then,
    /// those returning after it counted as unknown.
    fn model(&self, cut: Option<u64>) -> Model {
        let history: &'a [Operation] = self.history;
        let mut prefix: Vec<(&'a Operation, Option<u64>)> = Vec::new();
        for &index in &self.indices {
            let operation = &history[index];
            let ret = operation
                .ret
                .filter(|&ret| cut.is_none_or(|cut| ret <= cut));
            let unknown_read = ret.is_none() && matches!(operation.op, Op::Read { .. });
            if !unknown_read && cut.is_none_or(|cut| operation.call <= cut) {
                prefix.push((operation, ret));
            }
        }
        // Values that no operation reads or expects cannot be told apart: they become one.
        let consumed: HashSet<&str> = prefix
            .iter()
            .filter_map(|(operation, _)| match &operation.op {
                Op::Read { value } => value.as_deref(),
                Op::Cas { expected, .. } => expected.as_deref(),
                Op::Write { .. } => None,
            })
            .collect();
        let mut values: HashMap<&str, u32> = HashMap::new();
        let mut intern = |value: Option<&'a str>| -> u32 {
            match value {
                None => ABSENT,
                Some(value) if !consumed.contains(value) => UNSEEN,
                Some(value) => {
                    let next = FIRST_VALUE + values.len() as u32;
                    *values.entry(value).or_insert(next)
                }
            }
        };
        let initial = intern(self.initial);
        let mut ops: Vec<ModelOp> = prefix
            .into_iter()
            .map(|(operation, ret)| {
                let kind = match &operation.op {
                    Op::Read { value } => Kind::Read(intern(value.as_deref())),
                    Op::Write { value } => Kind::Write(intern(Some(value))),
                    Op::Cas { expected, ok, .. } if !ok && ret.is_some() => {
                        Kind::CasFailed(intern(expected.as_deref()))
                    }
                    Op::Cas { expected, new, .. } => {
                        Kind::Cas(intern(expected.as_deref()), intern(Some(new)))
                    }
                };
                ModelOp {
                    call: operation.call,
                    ret,
                    kind,
                }
            })
            .collect();
        ops.sort_by_key(|op| op.call);
        drop_unobservable(&mut ops);
        Model {
            ops,
            initial,
            values: FIRST_VALUE as usize + values.len(),
        }
    }

    /// Finds the shortest prefix that cannot be linearized and lists it: by bisection over
    /// return times (if a prefix has no linearization, no longer one has), first trying the
    /// prefix up to `stuck_at`, where the search on the whole history got stuck.
    fn explain(&self, budget: u64, stuck_at: Option<u64>) -> String {
        let mut cuts: Vec<u64> = self
            .indices
            .iter()
            .filter_map(|&index| self.history[index].ret)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let fails = |cut: u64| {
            matches!(
                search(&self.model(Some(cut)), budget),
                Outcome::NotLinearizable { .. }
            )
        };
        // The first cut known to fail is in low..=high; `cuts.len()` is the whole history.
        let (mut low, mut high) = (0, cuts.len());
        if let Some(hint) = stuck_at.and_then(|at| cuts.binary_search(&at).ok()) {
            if fails(cuts[hint]) {
                high = hint;
            } else {
                low = hint + 1;
            }
        }
        while low < high {
            let middle = (low + high) / 2;
            if fails(cuts[middle]) {
                high = middle;
            } else {
                low = middle + 1;
            }
        }
        self.render(cuts.get(high).copied())
    }

    /// Lists the prefix up to `cut` (the whole history when `None`).
    fn render(&self, cut: Option<u64>) -> String {
        let mut prefix: Vec<usize> = self
            .indices
            .iter()
            .copied()
            .filter(|&index| cut.is_none_or(|cut| self.history[index].call <= cut))
            .collect();
        prefix.sort_by_key(|&index| (self.history[index].call, index));
        let initial = self
            .initial
            .map_or("absent".to_string(), |v| format!("{v:?}"));
        let mut out = match cut {
            Some(cut) => format!(
                "not linearizable (initial value {initial}): the {} operations called up to \
                 t={cut} have no linearization once the ones returning at t={cut} (marked <-) \
                 have returned; operations still running then may or may not have taken effect",
                prefix.len()
            ),
            None => format!(
                "not linearizable (initial value {initial}): its {} operations have no \
                 linearization",
                prefix.len()
            ),
        };
        let skipped = prefix.len().saturating_sub(MAX_LISTED);
        if skipped > 0 {
            let _ = write!(out, "; the first {skipped} (by call time) are not listed");
        }
        out.push(':');
        for &index in &prefix[skipped..] {
            let operation = &self.history[index];
            let _ = write!(out, "\n  #{index} {}", describe(operation));
            if cut.is_some() && operation.ret == cut {
                out.push_str("  <-");
            }
        }
        out
    }
}

/// One line about an operation: `client 3 [20, 30] read -> "a"`.
fn describe(operation: &Operation) -> String {
    let value =
        |value: &Option<String>| value.as_ref().map_or("absent".into(), |v| format!("{v:?}"));
    let ret = operation.ret.map_or("?".into(), |ret| ret.to_string());
    let known = operation.ret.is_some();
    let what = match &operation.op {
        Op::Read { value: v } if known => format!("read -> {}", value(v)),
        Op::Read { .. } => "read -> unknown".to_string(),
        Op::Write { value: v } => format!("write {v:?}{}", if known { "" } else { " (unknown)" }),
        Op::Cas { expected, new, ok } => {
            let outcome = match (known, ok) {
                (false, _) => "unknown",
                (true, true) => "ok",
                (true, false) => "failed",
            };
            format!("cas {} -> {new:?}: {outcome}", value(expected))
        }
    };
    format!(
        "client {} [{}, {ret}] {what}",
        operation.client, operation.call
    )
}

/// Interned register values: absent, any value no operation reads or expects (they are
/// indistinguishable), then the others numbered from `FIRST_VALUE`.
const ABSENT: u32 = 0;
const UNSEEN: u32 = 1;
const FIRST_VALUE: u32 = 2;

/// A key's sub-history as the search sees it: values interned, unknown reads dropped.
struct Model {
    /// Sorted by call time.
    ops: Vec<ModelOp>,
    initial: u32,
    /// How many distinct values (interned as 0..values, 0 being absent).
    values: usize,
}

/// One operation of a [`Model`].
#[derive(Debug, Clone, Copy)]
struct ModelOp {
    call: u64,
    /// `None`: unknown outcome (optional, never a barrier).
    ret: Option<u64>,
    kind: Kind,
}

/// What a [`ModelOp`] does to the register, values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// Read that saw the value.
    Read(u32),
    /// Write of the value.
    Write(u32),
    /// Compare-and-swap (expected, new) that succeeded, or whose outcome is unknown.
    Cas(u32, u32),
    /// Compare-and-swap known to have failed: the register did not hold the expected value.
    CasFailed(u32),
}

impl Kind {
    /// Whether it leaves the register's value alone.
    fn preserves(self) -> bool {
        matches!(self, Kind::Read(_) | Kind::CasFailed(_))
    }

    /// The register value after this operation from `state`, or `None` if it cannot happen there.
    fn step(self, state: u32) -> Option<u32> {
        match self {
            Kind::Read(value) => (state == value).then_some(state),
            Kind::Write(value) => Some(value),
            Kind::Cas(expected, new) => (state == expected).then_some(new),
            Kind::CasFailed(expected) => (state != expected).then_some(state),
        }
    }
}

/// Drops unknown writes and compare-and-swaps that no linearization needs: while the register
/// holds their value, no operation could be linearized that would not also be linearizable
/// without them (no read of the value, no compare-and-swap expecting it, no failed
/// compare-and-swap expecting something else that could come after). Repeated until nothing
/// changes, since a dropped compare-and-swap no longer needs the value it expected.
fn drop_unobservable(ops: &mut Vec<ModelOp>) {
    let mut reads: HashMap<u32, usize> = HashMap::new();
    let mut cas_expecting: HashMap<u32, usize> = HashMap::new();
    // The latest-returning failed compare-and-swap (return, expected), and the latest return of
    // one expecting something else: enough to ask "is there one returning after t expecting != v".
    let mut failed_last: Option<(u64, u32)> = None;
    let mut failed_other_last: Option<u64> = None;
    for op in ops.iter() {
        match op.kind {
            Kind::Read(value) => *reads.entry(value).or_default() += 1,
            Kind::Cas(expected, _) => *cas_expecting.entry(expected).or_default() += 1,
            Kind::CasFailed(expected) => {
                let ret = op.ret.unwrap_or(u64::MAX);
                if failed_last.is_none_or(|(last, _)| ret > last) {
                    failed_last = Some((ret, expected));
                }
            }
            Kind::Write(_) => {}
        }
    }
    if let Some((_, expected)) = failed_last {
        failed_other_last = ops
            .iter()
            .filter_map(|op| match op.kind {
                Kind::CasFailed(e) if e != expected => op.ret,
                _ => None,
            })
            .max();
    }
    let needed = |op: &ModelOp, reads: &HashMap<u32, usize>, cas: &HashMap<u32, usize>| {
        let value = match op.kind {
            Kind::Write(value) => value,
            Kind::Cas(expected, new) if expected != new => new,
            Kind::Cas(..) => return false,
            Kind::Read(_) | Kind::CasFailed(_) => return true,
        };
        let failed_after = match failed_last {
            Some((ret, expected)) if expected != value => ret >= op.call,
            Some(_) => failed_other_last.is_some_and(|ret| ret >= op.call),
            None => false,
        };
        reads.get(&value).is_some_and(|&n| n > 0)
            || cas.get(&value).is_some_and(|&n| n > 0)
            || failed_after
    };
    let mut keep = vec![true; ops.len()];
    let mut changed = true;
    while changed {
        changed = false;
        for (i, op) in ops.iter().enumerate() {
            if keep[i] && op.ret.is_none() && !needed(op, &reads, &cas_expecting) {
                keep[i] = false;
                changed = true;
                if let Kind::Cas(expected, _) = op.kind {
                    *cas_expecting.entry(expected).or_default() -= 1;
                }
            }
        }
    }
    let mut keep = keep.into_iter();
    ops.retain(|_| keep.next().unwrap_or(true));
}

/// Runs the search on a model within `budget` steps.
fn search(model: &Model, budget: u64) -> Outcome {
    let known = model.ops.iter().filter(|op| op.ret.is_some()).count();
    if known == 0 {
        return Outcome::Linearizable;
    }
    if let Some(at) = impossible_observation(model) {
        return Outcome::NotLinearizable { stuck_at: Some(at) };
    }
    Search::new(model).run(known, budget)
}

/// A quick necessary condition checked before searching: a read can only see, and a successful
/// compare-and-swap only expect, the initial value or one written by an operation called by the
/// time it returns. Returns the earliest return of an operation breaking it.
fn impossible_observation(model: &Model) -> Option<u64> {
    let mut first_written = vec![u64::MAX; model.values];
    for op in &model.ops {
        if let Kind::Write(value) | Kind::Cas(_, value) = op.kind {
            let first = &mut first_written[value as usize];
            *first = (*first).min(op.call);
        }
    }
    let impossible = |op: &ModelOp| {
        let seen = match op.kind {
            Kind::Read(value) | Kind::Cas(value, _) => value,
            Kind::Write(_) | Kind::CasFailed(_) => return None,
        };
        let ret = op.ret?;
        (seen != model.initial && first_written[seen as usize] > ret).then_some(ret)
    };
    model.ops.iter().filter_map(impossible).min()
}

/// Which operations the scan of the candidates is trying, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    /// Known operations that leave the value alone (reads, failed compare-and-swaps). One that
    /// can happen now is a forced move: any linearization from here can be changed to do it
    /// first (it is called before every pending return and sees the current value), so if it
    /// leads nowhere, neither does the configuration it was made from.
    Preserving,
    /// Known operations that change the value.
    Changing,
    /// Unknown operations called before `barrier`, the first pending return.
    Unknown { barrier: usize },
}

/// What trying to linearize a candidate did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Try {
    /// It is linearized: the search goes on from the new configuration.
    Taken,
    /// It cannot (or need not) go next: try the next candidate.
    Skipped,
    /// It was a forced move known to fail: the current configuration fails.
    Dead,
}

/// One linearized operation on the search path, with what is needed to undo it.
struct Frame {
    op: usize,
    previous_state: u32,
    /// Its configuration in the cache, marked failed when the search backs out of it.
    slot: Slot,
    /// The pass during which it was chosen, resumed on backtracking.
    pass: Pass,
}

/// Head sentinels of the two event lists: calls and returns of operations with known outcomes,
/// and calls of operations with unknown outcomes (which never return).
const KNOWN_HEAD: usize = 0;
const UNKNOWN_HEAD: usize = 1;
/// The first event entry: entries are numbered in time order, so comparing two tells which
/// event came first.
const FIRST_ENTRY: usize = 2;

/// How many pending (not yet linearized) operations could use each register value: reads of
/// it, compare-and-swaps expecting it (succeeded or unknown), failed compare-and-swaps expecting
/// it. An unknown operation is only worth linearizing when its effect could be used.
struct Demand {
    reads: Vec<u32>,
    swaps: Vec<u32>,
    failed_swaps: Vec<u32>,
}

impl Demand {
    fn new(ops: &[ModelOp], values: usize) -> Self {
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
    fn count(&mut self, kind: Kind, delta: i32) {
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
    fn wants(&self, from: u32, to: u32) -> bool {
        let to = to as usize;
        from as usize != to
            && (self.reads[to] > 0 || self.swaps[to] > 0 || self.failed_swaps[from as usize] > 0)
    }
}

/// The depth-first search over one [`Model`].
struct Search<'a> {
    ops: &'a [ModelOp],
    /// The two doubly linked event lists (see [`KNOWN_HEAD`]), each ending in its own tail
    /// sentinel numbered after every entry; a tail counts as a return, so every scan stops there.
    next: Vec<usize>,
    prev: Vec<usize>,
    /// For each entry, its operation and whether it is the call (else the return).
    entry_op: Vec<usize>,
    entry_is_call: Vec<bool>,
    /// For each operation, its call entry and (when known) its return entry.
    call_entry: Vec<usize>,
    ret_entry: Vec<Option<usize>>,
    /// For each operation, its bit in `known` or `unknown` (numbered in call order).
    bit: Vec<usize>,
    /// Unknown operations with the same kind are interchangeable, so those of a class are only
    /// linearized in call order: each one's class and rank in it, and how many of each class
    /// are linearized.
    class: Vec<usize>,
    rank: Vec<usize>,
    used: Vec<usize>,
    /// Random 64-bit code per known operation; a set of them hashes to the XOR of their codes.
    codes: Vec<u64>,
    /// The current configuration: the linearized operations, split by whether their outcome is
    /// known, the hash of the known ones, and the register value.
    known: Vec<u64>,
    unknown: Vec<u64>,
    known_hash: u64,
    state: u32,
    known_done: usize,
    demand: Demand,
    frames: Vec<Frame>,
    cache: Cache,
}

impl<'a> Search<'a> {
    fn new(model: &'a Model) -> Self {
        let ops = &model.ops[..];
        // (time, 0 for a call / 1 for a return, op): calls before returns at the same time.
        let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * ops.len());
        for (i, op) in ops.iter().enumerate() {
            events.push((op.call, 0, i));
            if let Some(ret) = op.ret {
                events.push((ret, 1, i));
            }
        }
        events.sort_unstable();
        let tails = [FIRST_ENTRY + events.len(), FIRST_ENTRY + events.len() + 1];
        let size = tails[1] + 1;
        let (mut next, mut prev) = (vec![0; size], vec![0; size]);
        let mut last = [KNOWN_HEAD, UNKNOWN_HEAD];
        let mut entry_op = vec![usize::MAX; size];
        let mut entry_is_call = vec![false; size];
        let mut call_entry = vec![0; ops.len()];
        let mut ret_entry = vec![None; ops.len()];
        let mut link = |list: usize, entry: usize| {
            next[last[list]] = entry;
            prev[entry] = last[list];
            last[list] = entry;
        };
        for (position, &(_, kind, op)) in events.iter().enumerate() {
            let entry = FIRST_ENTRY + position;
            entry_op[entry] = op;
            entry_is_call[entry] = kind == 0;
            if kind == 0 {
                call_entry[op] = entry;
            } else {
                ret_entry[op] = Some(entry);
            }
            link(usize::from(ops[op].ret.is_none()), entry);
        }
        link(0, tails[0]);
        link(1, tails[1]);
        let (mut known, mut unknown) = (0, 0);
        let bit = ops
            .iter()
            .map(|op| {
                let counter = if op.ret.is_some() {
                    &mut known
                } else {
                    &mut unknown
                };
                *counter += 1;
                *counter - 1
            })
            .collect();
        let mut classes: HashMap<Kind, (usize, usize)> = HashMap::new();
        let (class, rank) = ops
            .iter()
            .map(|op| {
                if op.ret.is_some() {
                    return (usize::MAX, 0);
                }
                let next_class = classes.len();
                let (class, members) = classes.entry(op.kind).or_insert((next_class, 0));
                *members += 1;
                (*class, *members - 1)
            })
            .unzip();
        Search {
            ops,
            next,
            prev,
            entry_op,
            entry_is_call,
            call_entry,
            ret_entry,
            bit,
            class,
            rank,
            used: vec![0; classes.len()],
            codes: (0..known as u64).map(|i| mix(i ^ 0x5eed)).collect(),
            known: vec![0; known.div_ceil(64)],
            unknown: vec![0; unknown.div_ceil(64)],
            known_hash: 0,
            state: model.initial,
            known_done: 0,
            demand: Demand::new(ops, model.values),
            frames: Vec::new(),
            cache: Cache::default(),
        }
    }

    /// Searches for a linearization of all `known` operations with known outcomes.
    fn run(mut self, known: usize, budget: u64) -> Outcome {
        let mut pass = Pass::Preserving;
        let mut entry = self.next[KNOWN_HEAD];
        // The latest pending return met (entries are numbered in time order).
        let mut furthest = KNOWN_HEAD;
        for _ in 0..budget {
            let outcome = match pass {
                // A pending return (or the end): no more candidates in this pass.
                Pass::Preserving if !self.entry_is_call[entry] => {
                    (entry, pass) = (self.next[KNOWN_HEAD], Pass::Changing);
                    continue;
                }
                Pass::Changing if !self.entry_is_call[entry] => {
                    furthest = furthest.max(entry);
                    pass = Pass::Unknown { barrier: entry };
                    entry = self.next[UNKNOWN_HEAD];
                    continue;
                }
                Pass::Unknown { barrier } if entry > barrier => Try::Dead,
                Pass::Preserving | Pass::Changing
                    if self.ops[self.entry_op[entry]].kind.preserves()
                        != (pass == Pass::Preserving) =>
                {
                    Try::Skipped
                }
                _ => self.try_linearize(self.entry_op[entry], pass),
            };
            match outcome {
                Try::Taken if self.known_done == known => return Outcome::Linearizable,
                Try::Taken => (entry, pass) = (self.next[KNOWN_HEAD], Pass::Preserving),
                Try::Skipped => entry = self.next[entry],
                Try::Dead => {
                    let Some((resume, resume_pass)) = self.backtrack() else {
                        let stuck_at = self.ops.get(self.entry_op[furthest]).and_then(|op| op.ret);
                        return Outcome::NotLinearizable { stuck_at };
                    };
                    (entry, pass) = (resume, resume_pass);
                }
            }
        }
        Outcome::Undecided
    }

    /// Linearizes `op` next if it can happen from the current value, is worth trying, and leads
    /// to a configuration neither visited nor dominated by a failed one.
    fn try_linearize(&mut self, op: usize, pass: Pass) -> Try {
        let kind = self.ops[op].kind;
        let Some(state) = kind.step(self.state) else {
            return Try::Skipped;
        };
        let is_known = self.ops[op].ret.is_some();
        if !is_known && !self.worth_trying(op, state) {
            return Try::Skipped;
        }
        self.toggle(op);
        if self
            .cache
            .seen(self.known_hash, &self.known, state, &self.unknown)
        {
            self.toggle(op);
            // A configuration seen before has failed (those on the search path are smaller).
            return if pass == Pass::Preserving {
                Try::Dead
            } else {
                Try::Skipped
            };
        }
        let slot = self
            .cache
            .insert(self.known_hash, &self.known, state, &self.unknown);
        self.frames.push(Frame {
            op,
            previous_state: self.state,
            slot,
            pass,
        });
        self.state = state;
        self.lift(op);
        self.demand.count(kind, -1);
        if is_known {
            self.known_done += 1;
        } else {
            self.used[self.class[op]] += 1;
        }
        Try::Taken
    }

    /// Whether linearizing the unknown operation `op` next (leading to `state`) could matter:
    /// it must be the first pending one of its class, its change must be wanted by some pending
    /// operation, and it must not blindly overwrite the change of an unknown operation
    /// linearized just before (that one would then have had no effect, and the configuration
    /// without it is tried too).
    fn worth_trying(&self, op: usize, state: u32) -> bool {
        if self.rank[op] != self.used[self.class[op]] {
            return false;
        }
        let after_unknown = self
            .frames
            .last()
            .is_some_and(|frame| self.ops[frame.op].ret.is_none());
        let blind = matches!(self.ops[op].kind, Kind::Write(_));
        self.demand.wants(self.state, state) && !(after_unknown && blind)
    }

    /// Undoes the last linearized operation, marking its configuration failed, and again while
    /// that operation was a forced move; returns where the scan resumes, or `None` when there is
    /// nothing left to undo.
    fn backtrack(&mut self) -> Option<(usize, Pass)> {
        loop {
            let frame = self.frames.pop()?;
            self.cache.mark_failed(frame.slot);
            self.unlift(frame.op);
            self.toggle(frame.op);
            self.demand.count(self.ops[frame.op].kind, 1);
            self.state = frame.previous_state;
            if self.ops[frame.op].ret.is_some() {
                self.known_done -= 1;
            } else {
                self.used[self.class[frame.op]] -= 1;
            }
            if frame.pass != Pass::Preserving {
                return Some((self.next[self.call_entry[frame.op]], frame.pass));
            }
        }
    }

    /// Adds `op` to the linearized set, or takes it out.
    fn toggle(&mut self, op: usize) {
        let bit = self.bit[op];
        if self.ops[op].ret.is_some() {
            self.known[bit / 64] ^= 1 << (bit % 64);
            self.known_hash ^= self.codes[bit];
        } else {
            self.unknown[bit / 64] ^= 1 << (bit % 64);
        }
    }

    /// Removes an operation's entries from the lists.
    fn lift(&mut self, op: usize) {
        self.unlink(self.call_entry[op]);
        if let Some(ret) = self.ret_entry[op] {
            self.unlink(ret);
        }
    }

    /// Puts back what [`Search::lift`] removed, in reverse order (dancing links).
    fn unlift(&mut self, op: usize) {
        if let Some(ret) = self.ret_entry[op] {
            self.relink(ret);
        }
        self.relink(self.call_entry[op]);
    }

    fn unlink(&mut self, entry: usize) {
        let (prev, next) = (self.prev[entry], self.next[entry]);
        self.next[prev] = next;
        self.prev[next] = prev;
    }

    fn relink(&mut self, entry: usize) {
        let (prev, next) = (self.prev[entry], self.next[entry]);
        self.next[prev] = entry;
        self.prev[next] = entry;
    }
}

/// SplitMix64's finalizer: a well-mixed 64-bit hash of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A configuration's place in the [`Cache`]: its bucket and its index there.
#[derive(Debug, Clone, Copy)]
struct Slot(u64, usize);

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
struct Cache {
    buckets: HashMap<u64, Vec<Config>, BuildHasherDefault<PassThrough>>,
}

impl Cache {
    fn key(known_hash: u64, state: u32) -> u64 {
        known_hash ^ mix(u64::from(state) | 1 << 40)
    }

    /// Whether the configuration was visited, or is dominated by a failed one: one with the same
    /// known operations and value and a subset of its unknown operations (leaving an unknown
    /// operation out only removes constraints, so this one fails too).
    fn seen(&self, known_hash: u64, known: &[u64], state: u32, unknown: &[u64]) -> bool {
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

    fn insert(&mut self, known_hash: u64, known: &[u64], state: u32, unknown: &[u64]) -> Slot {
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

    fn mark_failed(&mut self, Slot(key, index): Slot) {
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;

    /// Plenty for every hand-written history and the randomized ones.
    const BUDGET: u64 = 50_000_000;

    fn op(client: usize, key: &str, op: Op, call: u64, ret: Option<u64>) -> Operation {
        Operation {
            client,
            key: key.to_string(),
            op,
            call,
            ret,
        }
    }

    /// A read of key "x" by `client` over `[call, ret]` that saw `value`.
    fn read(client: usize, value: Option<&str>, call: u64, ret: Option<u64>) -> Operation {
        let value = value.map(str::to_string);
        op(client, "x", Op::Read { value }, call, ret)
    }

    fn write(client: usize, value: &str, call: u64, ret: Option<u64>) -> Operation {
        let value = value.to_string();
        op(client, "x", Op::Write { value }, call, ret)
    }

    fn cas(
        client: usize,
        (expected, new, ok): (Option<&str>, &str, bool),
        call: u64,
        ret: Option<u64>,
    ) -> Operation {
        let (expected, new) = (expected.map(str::to_string), new.to_string());
        op(client, "x", Op::Cas { expected, new, ok }, call, ret)
    }

    fn initial(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A named history, the initial values, and whether it is linearizable.
    type Case<'a> = (&'a str, Vec<Operation>, &'a HashMap<String, String>, bool);

    #[test]
    fn hand_written_histories() {
        let none = initial(&[]);
        let x_is_a = initial(&[("x", "a")]);
        #[rustfmt::skip]
        let cases: Vec<Case> = vec![
            ("empty", vec![], &none, true),
            ("sequential write then read", vec![
                write(0, "a", 0, Some(10)), read(1, Some("a"), 20, Some(30))], &none, true),
            ("read of the initial value", vec![read(0, Some("a"), 0, Some(10))], &x_is_a, true),
            ("read of an absent key", vec![read(0, None, 0, Some(10))], &none, true),
            ("absent read of a key with a value", vec![read(0, None, 0, Some(10))], &x_is_a, false),
            ("overlapping read sees the new value", vec![
                write(0, "b", 0, Some(10)), read(1, Some("b"), 5, Some(15))], &x_is_a, true),
            ("overlapping read sees the old value", vec![
                write(0, "b", 0, Some(10)), read(1, Some("a"), 5, Some(15))], &x_is_a, true),
            ("read of a value never written", vec![
                write(0, "b", 0, Some(10)), read(1, Some("c"), 5, Some(15))], &x_is_a, false),
            ("stale read after a completed write", vec![
                write(0, "b", 0, Some(10)), read(1, Some("a"), 20, Some(30))], &x_is_a, false),
            ("a return and a call at the same instant are concurrent", vec![
                write(0, "b", 0, Some(10)), read(1, Some("a"), 10, Some(20))], &x_is_a, true),
            ("read of a value written only later", vec![
                read(1, Some("b"), 0, Some(10)), write(0, "b", 20, Some(30))], &x_is_a, false),
            ("reads see two sequential writes out of order", vec![
                write(0, "a", 0, Some(10)), write(0, "b", 20, Some(30)),
                read(1, Some("b"), 40, Some(50)), read(1, Some("a"), 60, Some(70))], &none, false),
            ("reads see concurrent writes in one order", vec![
                write(0, "a", 0, Some(100)), write(1, "b", 0, Some(100)),
                read(2, Some("b"), 10, Some(20)), read(2, Some("a"), 30, Some(40))], &none, true),
            ("reads see concurrent writes in both orders", vec![
                write(0, "a", 0, Some(100)), write(1, "b", 0, Some(100)),
                read(2, Some("b"), 10, Some(20)), read(2, Some("a"), 30, Some(40)),
                read(2, Some("b"), 50, Some(60))], &none, false),
            ("cas succeeds on the expected value", vec![
                cas(0, (Some("a"), "b", true), 0, Some(10)), read(1, Some("b"), 20, Some(30))],
                &x_is_a, true),
            ("cas from absent succeeds on an absent key", vec![
                cas(0, (None, "b", true), 0, Some(10)), read(1, Some("b"), 20, Some(30))],
                &none, true),
            ("cas succeeds on another value", vec![
                cas(0, (Some("c"), "b", true), 0, Some(10))], &x_is_a, false),
            ("cas fails on the expected value", vec![
                cas(0, (Some("a"), "b", false), 0, Some(10))], &x_is_a, false),
            ("cas fails on another value", vec![
                cas(0, (Some("c"), "b", false), 0, Some(10)), read(1, Some("a"), 20, Some(30))],
                &x_is_a, true),
            ("failed cas leaves the value alone", vec![
                cas(0, (Some("c"), "b", false), 0, Some(10)), read(1, Some("b"), 20, Some(30))],
                &x_is_a, false),
            ("two concurrent cas from the same value both succeed", vec![
                cas(0, (Some("a"), "b", true), 0, Some(10)),
                cas(1, (Some("a"), "c", true), 0, Some(10))], &x_is_a, false),
            ("two concurrent cas from the same value, one fails", vec![
                cas(0, (Some("a"), "b", true), 0, Some(10)),
                cas(1, (Some("a"), "c", false), 0, Some(10)),
                read(2, Some("b"), 20, Some(30))], &x_is_a, true),
            ("chained cas", vec![
                cas(0, (Some("a"), "b", true), 0, Some(10)),
                cas(1, (Some("b"), "c", true), 5, Some(15)),
                read(2, Some("c"), 20, Some(30))], &x_is_a, true),
            ("unknown write observed later", vec![
                write(0, "b", 0, None), read(1, Some("b"), 100, Some(110))], &x_is_a, true),
            ("unknown write observed, then not", vec![
                write(0, "b", 0, None), read(1, Some("a"), 10, Some(20)),
                read(1, Some("b"), 100, Some(110)), read(1, Some("b"), 120, Some(130))],
                &x_is_a, true),
            ("unknown write nobody observes", vec![
                write(0, "b", 0, None), read(1, Some("a"), 100, Some(110))], &x_is_a, true),
            ("unknown write observed before its call", vec![
                read(1, Some("b"), 0, Some(10)), write(0, "b", 20, None)], &x_is_a, false),
            ("unknown write cannot come back after being overwritten", vec![
                write(0, "b", 0, None), read(1, Some("b"), 10, Some(20)),
                write(1, "c", 30, Some(40)), read(1, Some("b"), 50, Some(60))], &x_is_a, false),
            ("unknown cas observed", vec![
                cas(0, (Some("a"), "b", false), 0, None), read(1, Some("b"), 20, Some(30))],
                &x_is_a, true),
            ("unknown cas cannot apply to another value", vec![
                cas(0, (Some("c"), "b", true), 0, None), read(1, Some("b"), 20, Some(30))],
                &x_is_a, false),
            ("unknown cas chain", vec![
                write(0, "b", 0, None), cas(1, (Some("b"), "c", true), 5, None),
                read(2, Some("c"), 20, Some(30))], &x_is_a, true),
            ("unknown read constrains nothing", vec![read(0, Some("zzz"), 0, None)], &x_is_a, true),
            ("unknown write lets a later cas fail", vec![
                write(0, "b", 0, None), cas(1, (Some("a"), "c", false), 20, Some(30))],
                &x_is_a, true),
            ("unknown write called after a failed cas returned", vec![
                cas(1, (Some("a"), "c", false), 0, Some(10)), write(0, "b", 20, None)],
                &x_is_a, false),
            ("keys are independent", vec![
                write(0, "b", 0, Some(10)),
                op(1, "y", Op::Read { value: Some("b".into()) }, 20, Some(30))], &x_is_a, false),
        ];
        for (name, history, initial, expected) in cases {
            let verdict = check(&history, initial, BUDGET);
            assert_eq!(verdict.linearizable, expected, "{name}: {verdict:?}");
            assert_eq!(verdict.failures.is_empty(), expected, "{name}: {verdict:?}");
        }
    }

    #[test]
    fn failure_names_the_key_and_the_shortest_failing_prefix() {
        let history = vec![
            write(0, "b", 0, Some(10)),
            read(1, Some("a"), 20, Some(30)),
            write(0, "c", 40, Some(50)),
            read(1, Some("c"), 60, Some(70)),
            op(2, "y", Op::Read { value: None }, 0, Some(5)),
        ];
        let verdict = check(&history, &initial(&[("x", "a")]), BUDGET);
        assert!(!verdict.linearizable);
        assert_eq!(verdict.failures.len(), 1, "{verdict:?}");
        let failure = &verdict.failures[0];
        assert!(
            failure.starts_with("key \"x\": not linearizable"),
            "{failure}"
        );
        assert!(failure.contains("t=30"), "{failure}");
        assert!(
            failure.contains("#1 client 1 [20, 30] read -> \"a\"  <-"),
            "{failure}"
        );
        assert!(
            failure.contains("#0 client 0 [0, 10] write \"b\""),
            "{failure}"
        );
        assert!(
            !failure.contains("#2"),
            "later operations are not listed: {failure}"
        );
    }

    #[test]
    fn malformed_operation_is_a_failure() {
        let verdict = check(&[read(0, None, 10, Some(5))], &initial(&[]), BUDGET);
        assert!(!verdict.linearizable);
        assert!(verdict.failures[0].contains("malformed"), "{verdict:?}");
    }

    /// SplitMix64: a small deterministic random generator (the crate has no `rand`).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            mix(self.0.wrapping_sub(0x9e37_79b9_7f4a_7c15))
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    /// An operation a simulated client has sent: what it is and, once it has taken effect on
    /// the register, what it saw.
    struct InFlight {
        key: String,
        op: Op,
        call: u64,
        /// Whether it took effect (reads: what they saw is in `op` by then).
        done: bool,
        /// Whether its client will never learn the outcome.
        lost: bool,
    }

    /// Simulates `clients` clients running `count` operations against real in-memory registers,
    /// each taking effect at a random point within its call and return; `lost_percent` of them
    /// end with an unknown outcome (having taken effect or not).
    fn simulate(
        seed: u64,
        count: usize,
        keys: usize,
        clients: usize,
        lost_percent: u64,
    ) -> Vec<Operation> {
        let mut rng = Rng(seed);
        let mut registers: HashMap<String, String> = HashMap::new();
        let mut in_flight: Vec<Option<InFlight>> = (0..clients).map(|_| None).collect();
        let (mut history, mut started, mut time) = (Vec::new(), 0, 0);
        while history.len() < count {
            time += 1 + rng.below(3);
            let client = rng.below(clients as u64) as usize;
            match in_flight[client].take() {
                None if started < count => {
                    started += 1;
                    let key = format!("k{}", rng.below(keys as u64));
                    let op = random_op(&mut rng, registers.get(&key), started);
                    let lost = rng.chance(lost_percent);
                    in_flight[client] = Some(InFlight {
                        key,
                        op,
                        call: time,
                        done: false,
                        lost,
                    });
                }
                None => {}
                Some(mut flight) if !flight.done => {
                    // A lost operation may also never take effect.
                    if !(flight.lost && rng.chance(50)) {
                        apply(&mut registers, &mut flight);
                    }
                    flight.done = true;
                    in_flight[client] = Some(flight);
                }
                Some(flight) => {
                    let ret = (!flight.lost).then_some(time);
                    history.push(op(client, &flight.key, flight.op, flight.call, ret));
                }
            }
        }
        history
    }

    /// A random operation; values written are unique (`v<n>`).
    fn random_op(rng: &mut Rng, current: Option<&String>, n: usize) -> Op {
        match rng.below(10) {
            0..4 => Op::Read { value: None },
            4..7 => Op::Write {
                value: format!("v{n}"),
            },
            _ => {
                let expected = match rng.below(4) {
                    0 | 1 => current.cloned(),
                    2 => None,
                    _ => Some(format!("v{}", rng.below(n as u64))),
                };
                Op::Cas {
                    expected,
                    new: format!("v{n}"),
                    ok: false,
                }
            }
        }
    }

    /// Takes `flight` into effect on the registers, recording what it saw.
    fn apply(registers: &mut HashMap<String, String>, flight: &mut InFlight) {
        let current = registers.get(&flight.key).cloned();
        match &mut flight.op {
            Op::Read { value } => *value = current,
            Op::Write { value } => {
                registers.insert(flight.key.clone(), value.clone());
            }
            Op::Cas { expected, new, ok } => {
                *ok = *expected == current;
                if *ok {
                    registers.insert(flight.key.clone(), new.clone());
                }
            }
        }
    }

    /// Indices of reads with a known outcome.
    fn known_reads(history: &[Operation]) -> Vec<usize> {
        (0..history.len())
            .filter(|&i| matches!(history[i].op, Op::Read { .. }) && history[i].ret.is_some())
            .collect()
    }

    /// Makes read `i` see `value` and checks that the history fails, naming read `i`.
    /// Makes read `i` see `value`, checks that the history fails at read `i`'s return, and
    /// returns how long the check took.
    fn assert_corruption_caught(history: &[Operation], i: usize, value: String) -> Duration {
        let mut corrupted = history.to_vec();
        corrupted[i].op = Op::Read { value: Some(value) };
        let started = Instant::now();
        let verdict = check(&corrupted, &HashMap::new(), BUDGET);
        let elapsed = started.elapsed();
        assert!(!verdict.linearizable, "corrupted read #{i} not caught");
        assert_eq!(verdict.failures.len(), 1, "{verdict:?}");
        let failure = &verdict.failures[0];
        assert!(failure.contains("not linearizable"), "{failure}");
        let culprit = format!("#{i} client");
        let line = failure.lines().find(|line| line.contains(&culprit));
        assert!(line.is_some_and(|l| l.ends_with("<-")), "{failure}");
        elapsed
    }

    /// A value written on `key` by an operation called after `after` (so no read returning by
    /// then can have seen it).
    fn later_value(history: &[Operation], key: &str, after: u64) -> Option<String> {
        history.iter().find_map(|o| match &o.op {
            Op::Write { value } | Op::Cas { new: value, .. } if o.key == key && o.call > after => {
                Some(value.clone())
            }
            _ => None,
        })
    }

    /// A value read `i` cannot have seen (values are unique): one written by a known write or
    /// successful compare-and-swap that returned before another one, writing something else,
    /// was called, which returned before the read was called.
    fn stale_value(history: &[Operation], i: usize) -> Option<String> {
        let read = &history[i];
        let written = |o: &Operation| match &o.op {
            Op::Write { value }
            | Op::Cas {
                new: value,
                ok: true,
                ..
            } if o.key == read.key && o.ret.is_some() => Some(value.clone()),
            _ => None,
        };
        let overwrite = history
            .iter()
            .rev()
            .find(|o| o.ret.is_some_and(|ret| ret < read.call) && written(o).is_some())?;
        let newer = written(overwrite)?;
        history.iter().rev().find_map(|o| {
            let value = written(o)?;
            (o.ret? < overwrite.call && value != newer).then_some(value)
        })
    }

    #[test]
    fn random_small_histories_pass_and_corrupted_ones_fail() {
        for seed in 0..60 {
            let history = simulate(seed, 300, 2, 2 + seed as usize % 7, 3);
            let verdict = check(&history, &HashMap::new(), BUDGET);
            assert!(verdict.linearizable, "seed {seed}: {verdict:?}");
            let reads = known_reads(&history);
            let mut rng = Rng(seed + 1000);
            let i = reads[rng.below(reads.len() as u64) as usize];
            assert_corruption_caught(&history, i, "never-written".to_string());
            let (key, ret) = (&history[i].key, history[i].ret.unwrap_or(u64::MAX));
            if let Some(value) = later_value(&history, key, ret) {
                assert_corruption_caught(&history, i, value);
            }
            if let Some(value) = stale_value(&history, i) {
                assert_corruption_caught(&history, i, value);
            }
        }
    }

    #[test]
    fn random_10k_history_passes_and_corrupted_reads_fail() {
        for lost_percent in [1, 10] {
            let history = simulate(42, 10_000, 5, 16, lost_percent);
            let unknown = history.iter().filter(|o| o.ret.is_none()).count();
            let started = Instant::now();
            let verdict = check(&history, &HashMap::new(), BUDGET);
            let elapsed = started.elapsed();
            assert!(verdict.linearizable, "{verdict:?}");
            let reads = known_reads(&history);
            let i = reads[reads.len() / 2];
            let (key, ret) = (&history[i].key, history[i].ret.unwrap_or(u64::MAX));
            let later = later_value(&history, key, ret).expect("a later write on the key");
            let stale = stale_value(&history, i).expect("two earlier writes on the key");
            let corrupted = [
                assert_corruption_caught(&history, i, "never-written".to_string()),
                assert_corruption_caught(&history, i, later),
                assert_corruption_caught(&history, i, stale),
            ];
            eprintln!(
                "10k operations (5 keys, 16 clients, {unknown} unknown outcomes): linearizable, \
                 checked in {elapsed:?}; with read #{i} corrupted (never written, written later, \
                 stale): not linearizable, checked and explained in {corrupted:?}"
            );
        }
    }

    /// Whether some order of `ops` (all on one key) explains them: exhaustive, straight from the
    /// definitions, for cross-checking [`check`] on tiny histories.
    fn brute_force(ops: &[Operation], state: Option<String>, placed: &mut [bool]) -> bool {
        let pending_known = |placed: &[bool], j: usize| !placed[j] && ops[j].ret.is_some();
        if !(0..ops.len()).any(|j| pending_known(placed, j)) {
            return true;
        }
        for i in 0..ops.len() {
            // Real time: nothing still to place may have returned before `i` was called.
            let blocked =
                (0..ops.len()).any(|j| pending_known(placed, j) && ops[j].ret < Some(ops[i].call));
            let known = ops[i].ret.is_some();
            let next = match &ops[i].op {
                _ if placed[i] || blocked => continue,
                Op::Read { .. } if !known => continue,
                Op::Read { value } if *value == state => state.clone(),
                Op::Read { .. } => continue,
                Op::Write { value } => Some(value.clone()),
                Op::Cas { expected, new, ok } if *expected == state && (*ok || !known) => {
                    Some(new.clone())
                }
                Op::Cas {
                    expected,
                    ok: false,
                    ..
                } if *expected != state && known => state.clone(),
                Op::Cas { .. } => continue,
            };
            placed[i] = true;
            let found = brute_force(ops, next, placed);
            placed[i] = false;
            if found {
                return true;
            }
        }
        false
    }

    /// A tiny random history on key "x" over values a, b, c: most are not linearizable.
    fn tiny_history(rng: &mut Rng) -> Vec<Operation> {
        let value = |rng: &mut Rng| ["a", "b", "c"][rng.below(3) as usize];
        (0..1 + rng.below(8) as usize)
            .map(|client| {
                let call = rng.below(20);
                let ret = (!rng.chance(25)).then(|| call + rng.below(12));
                match rng.below(3) {
                    0 => read(client, rng.chance(80).then(|| value(rng)), call, ret),
                    1 => write(client, value(rng), call, ret),
                    _ => {
                        let expected = rng.chance(80).then(|| value(rng));
                        cas(client, (expected, value(rng), rng.chance(50)), call, ret)
                    }
                }
            })
            .collect()
    }

    #[test]
    fn agrees_with_brute_force_on_tiny_histories() {
        let mut rng = Rng(3);
        let (mut linearizable, mut not) = (0, 0);
        for case in 0..20_000 {
            let history = tiny_history(&mut rng);
            let start = rng.chance(50).then(|| "a".to_string());
            let initial: HashMap<String, String> =
                start.iter().map(|v| ("x".to_string(), v.clone())).collect();
            let expected = brute_force(&history, start, &mut vec![false; history.len()]);
            let verdict = check(&history, &initial, BUDGET);
            assert_eq!(
                verdict.linearizable, expected,
                "case {case}: {history:#?}\n{verdict:?}"
            );
            if expected {
                linearizable += 1;
            } else {
                not += 1;
            }
        }
        assert!(
            linearizable > 2_000 && not > 2_000,
            "{linearizable} vs {not}"
        );
    }

    /// Breaks one operation of `history` at random, or not: a read sees the last value written,
    /// a compare-and-swap's result flips, a call moves later, or an outcome becomes unknown (or
    /// known again).
    fn perturb(rng: &mut Rng, history: &mut [Operation]) {
        let last_written = history.iter().rev().find_map(|o| match &o.op {
            Op::Write { value } => Some(value.clone()),
            _ => None,
        });
        let operation = &mut history[rng.below(history.len() as u64) as usize];
        match (rng.below(5), &mut operation.op) {
            (1, Op::Read { value }) => *value = last_written,
            (2, Op::Cas { ok, .. }) => *ok = !*ok,
            (3, _) => {
                operation.call += rng.below(6);
                operation.ret = operation.ret.map(|ret| ret.max(operation.call));
            }
            (4, _) if operation.ret.is_some() => operation.ret = None,
            (4, _) => operation.ret = Some(operation.call + rng.below(8)),
            _ => {}
        }
    }

    #[test]
    fn agrees_with_brute_force_on_simulated_histories() {
        let (mut linearizable, mut not) = (0, 0);
        for seed in 0..3_000 {
            let mut rng = Rng(seed);
            let (count, clients) = (6 + rng.below(10) as usize, 2 + rng.below(6) as usize);
            let mut history = simulate(seed, count, 1, clients, 20);
            perturb(&mut rng, &mut history);
            let expected = brute_force(&history, None, &mut vec![false; history.len()]);
            let verdict = check(&history, &HashMap::new(), BUDGET);
            assert_eq!(
                verdict.linearizable, expected,
                "seed {seed}: {history:#?}\n{verdict:?}"
            );
            if expected {
                linearizable += 1;
            } else {
                not += 1;
            }
        }
        assert!(linearizable > 1_000 && not > 100, "{linearizable} vs {not}");
    }

    #[test]
    fn exhausted_budget_is_undecided_not_linearizable() {
        let history = simulate(7, 2_000, 1, 8, 1);
        assert!(check(&history, &HashMap::new(), BUDGET).linearizable);
        let verdict = check(&history, &HashMap::new(), 100);
        assert!(!verdict.linearizable);
        assert_eq!(verdict.failures.len(), 1, "{verdict:?}");
        assert!(verdict.failures[0].contains("undecided"), "{verdict:?}");
    }
}
