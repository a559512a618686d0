//! The depth-first search for a linearization of one [`Model`] (Wing & Gong / Lowe): doubly
//! linked event lists, operations lifted out when linearized and put back on backtracking,
//! forced moves, and the checks that keep unknown operations from multiplying the work.

use std::collections::HashMap;

use super::model::{Kind, Model, ModelOp};
use super::prune::{mix, Cache, Demand, Slot};

/// What a search concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    Linearizable,
    /// `stuck_at`: the latest return the search ever had to wait for (where the history most
    /// likely stops being linearizable).
    NotLinearizable {
        stuck_at: Option<u64>,
    },
    Undecided,
}

/// Runs the search on a model within `budget` steps.
pub(super) fn search(model: &Model, budget: u64) -> Outcome {
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
