//! The explanation of a key that is not linearizable: the shortest prefix of its history found
//! to have no linearization, its operations listed one a line.

use std::fmt::Write as _;

use super::history::KeyHistory;
use super::search::{search, Outcome};
use super::{Op, Operation};

/// At most this many operations are listed in a failure report (the last ones of the prefix).
const MAX_LISTED: usize = 32;

impl KeyHistory<'_> {
    /// Finds the shortest prefix that cannot be linearized and lists it: by bisection over
    /// return times (if a prefix has no linearization, no longer one has), first trying the
    /// prefix up to `stuck_at`, where the search on the whole history got stuck.
    pub(super) fn explain(&self, budget: u64, stuck_at: Option<u64>) -> String {
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
