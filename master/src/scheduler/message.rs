//! The message of an unschedulable pod: `0/3 nodes available: 2 insufficient memory, 1 cordoned`.
use std::cmp::Reverse;
use std::collections::BTreeMap;

use super::filter::Reason;

/// Summarises why none of `total` nodes can run a pod, given each node's reason: counts per
/// reason, most frequent first, then alphabetical.
pub(super) fn unschedulable(total: usize, reasons: &[Reason]) -> String {
    if total == 0 {
        return "0/0 nodes available: no nodes registered".to_string();
    }
    let mut counts: BTreeMap<&'static str, usize> = BTreeMap::new();
    for r in reasons {
        *counts.entry(r.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    // Stable sort on a list already in alphabetical order: ties stay alphabetical.
    counts.sort_by_key(|&(_, n)| Reverse(n));
    let parts: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{n} {reason}"))
        .collect();
    format!("0/{total} nodes available: {}", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Reason::*;

    #[test]
    fn message_format() {
        let cases: [(usize, &[Reason], &str); 5] = [
            (0, &[], "0/0 nodes available: no nodes registered"),
            (1, &[Cordoned], "0/1 nodes available: 1 cordoned"),
            (
                3,
                &[InsufficientMemory, Cordoned, InsufficientMemory],
                "0/3 nodes available: 2 insufficient memory, 1 cordoned",
            ),
            (
                4,
                &[
                    NotReady,
                    HostPortTaken,
                    InsufficientCpu,
                    NodeSelectorMismatch,
                ],
                "0/4 nodes available: 1 host port taken, 1 insufficient cpu, \
                 1 node selector mismatch, 1 not ready",
            ),
            (
                6,
                &[
                    NotReady,
                    Cordoned,
                    NotReady,
                    InsufficientCpu,
                    Cordoned,
                    HostPortTaken,
                ],
                "0/6 nodes available: 2 cordoned, 2 not ready, 1 host port taken, \
                 1 insufficient cpu",
            ),
        ];
        for (total, reasons, want) in cases {
            assert_eq!(unschedulable(total, reasons), want);
        }
    }
}
