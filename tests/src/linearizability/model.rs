//! A key's sub-history as the search sees it: values interned, operations as steps of the
//! register, and unknown writes and compare-and-swaps that nothing could observe dropped.

use std::collections::HashMap;

/// Interned register values: absent, any value no operation reads or expects (they are
/// indistinguishable), then the others numbered from `FIRST_VALUE`.
pub(super) const ABSENT: u32 = 0;
pub(super) const UNSEEN: u32 = 1;
pub(super) const FIRST_VALUE: u32 = 2;

/// A key's sub-history as the search sees it: values interned, unknown reads dropped.
pub(super) struct Model {
    /// Sorted by call time.
    pub(super) ops: Vec<ModelOp>,
    pub(super) initial: u32,
    /// How many distinct values (interned as 0..values, 0 being absent).
    pub(super) values: usize,
}

/// One operation of a [`Model`].
#[derive(Debug, Clone, Copy)]
pub(super) struct ModelOp {
    pub(super) call: u64,
    /// `None`: unknown outcome (optional, never a barrier).
    pub(super) ret: Option<u64>,
    pub(super) kind: Kind,
}

/// What a [`ModelOp`] does to the register, values interned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Kind {
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
    pub(super) fn preserves(self) -> bool {
        matches!(self, Kind::Read(_) | Kind::CasFailed(_))
    }

    /// The register value after this operation from `state`, or `None` if it cannot happen there.
    pub(super) fn step(self, state: u32) -> Option<u32> {
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
pub(super) fn drop_unobservable(ops: &mut Vec<ModelOp>) {
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
