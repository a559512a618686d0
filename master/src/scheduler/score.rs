//! Scoring: which feasible node is best? Spread replicas of one owner, then least allocated
//! (counting pods that request nothing at Kubernetes' defaults), then fewest pods.
//!
//! Modelled as a cost, lower is better, compared exactly: fractions are cross-multiplied in
//! `i128`, never turned into floats.
use std::cmp::Ordering;

use super::demand::{Demand, NodeUsage};
use super::node::NodeFacts;

/// A non-negative fraction `num / den` with `den > 0`, compared exactly.
#[derive(Debug, Clone, Copy)]
pub(super) struct Fraction {
    num: i64,
    den: i64,
}

impl Fraction {
    /// Nothing allocated.
    pub const ZERO: Fraction = Fraction { num: 0, den: 1 };
    /// Fully allocated.
    pub const ONE: Fraction = Fraction { num: 1, den: 1 };

    /// The share of `capacity` taken once `request` is added to `used`.
    ///
    /// A dimension with no capacity counts as empty when the pod requests none of it (the
    /// filters already turned away a pod that requests some).
    pub fn allocated(used: i64, request: i64, capacity: i64) -> Self {
        if capacity <= 0 {
            return if request <= 0 {
                Fraction::ZERO
            } else {
                Fraction::ONE
            };
        }
        Fraction {
            num: used.saturating_add(request).max(0),
            den: capacity,
        }
    }
}

impl Ord for Fraction {
    fn cmp(&self, other: &Self) -> Ordering {
        // i64 * i64 always fits in i128.
        let lhs = i128::from(self.num) * i128::from(other.den);
        let rhs = i128::from(other.num) * i128::from(self.den);
        lhs.cmp(&rhs)
    }
}

impl PartialOrd for Fraction {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Fraction {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Fraction {}

/// How bad a feasible node is for a pod; lower is better. Fields compare in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Cost {
    /// Pods on the node with the same controller owner as the pod (0 for pods without one).
    pub same_owner: usize,
    /// The larger of the CPU and memory shares of the node allocated once the pod is placed,
    /// as scoring counts them ([`super::demand::Scored`]).
    pub allocated: Fraction,
    /// Pods on the node already: spreads pods on nodes that report no capacity.
    pub pods: usize,
}

impl Cost {
    /// The cost of placing `demand` on `node`, which already holds `usage`.
    pub fn of(demand: &Demand, node: &NodeFacts, usage: &NodeUsage) -> Self {
        let (used, wanted) = (&usage.scored, &demand.scored);
        let cpu = Fraction::allocated(used.cpu_millis, wanted.cpu_millis, node.cpu_millis);
        let memory = Fraction::allocated(used.memory_bytes, wanted.memory_bytes, node.memory_bytes);
        Cost {
            same_owner: usage.same_owner(demand),
            allocated: cpu.max(memory),
            pods: usage.pods,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::{node, owned_by, pod};

    fn f(num: i64, den: i64) -> Fraction {
        Fraction { num, den }
    }

    #[test]
    fn fraction_order() {
        let cases = [
            (f(1, 2), f(2, 4), Ordering::Equal),
            (f(1, 3), f(1, 2), Ordering::Less),
            (f(3, 4), f(2, 3), Ordering::Greater),
            (Fraction::ZERO, f(0, 7), Ordering::Equal),
            // Byte-sized values do not overflow.
            (
                f(i64::MAX - 1, i64::MAX),
                f(i64::MAX - 2, i64::MAX - 1),
                Ordering::Greater,
            ),
            (f(i64::MAX, i64::MAX), Fraction::ONE, Ordering::Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(a.cmp(&b), want, "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn allocated_share() {
        let cases = [
            ("empty, no request", (0, 0, 1000), Fraction::ZERO),
            ("after placing", (250, 250, 1000), f(1, 2)),
            ("no capacity, no request", (0, 0, 0), Fraction::ZERO),
            (
                "no capacity, used but no request",
                (500, 0, 0),
                Fraction::ZERO,
            ),
            ("no capacity, request", (0, 1, 0), Fraction::ONE),
        ];
        for (name, (used, request, capacity), want) in cases {
            assert_eq!(Fraction::allocated(used, request, capacity), want, "{name}");
        }
    }

    #[test]
    fn cost_of_node() {
        let usage = |pods: &[bosun_shared::pod::Pod]| {
            let mut u = NodeUsage::default();
            for p in pods {
                u.add(&Demand::of(p));
            }
            u
        };
        let n = node("n1", "1", "1Gi");
        let cases = [
            (
                "memory dominates",
                pod("p", "100m", "512Mi"),
                usage(&[]),
                Cost {
                    same_owner: 0,
                    allocated: f(1, 2),
                    pods: 0,
                },
            ),
            (
                "cpu dominates, with usage; memory scored at 200Mi",
                pod("p", "250m", ""),
                usage(&[pod("b", "500m", "256Mi")]),
                Cost {
                    same_owner: 0,
                    allocated: f(3, 4),
                    pods: 1,
                },
            ),
            (
                "same owner counted; no requests scored at 100m and 200Mi",
                owned_by(pod("p", "", ""), "rs"),
                usage(&[
                    owned_by(pod("b", "", ""), "rs"),
                    owned_by(pod("c", "", ""), "x"),
                ]),
                Cost {
                    same_owner: 1,
                    // Memory: 3 x 200Mi of 1Gi, above CPU's 300m of 1.
                    allocated: f(600, 1024),
                    pods: 2,
                },
            ),
            (
                "no owner: spread ignored",
                pod("p", "", ""),
                usage(&[owned_by(pod("b", "", ""), "rs")]),
                Cost {
                    same_owner: 0,
                    allocated: f(400, 1024),
                    pods: 1,
                },
            ),
        ];
        for (name, pod, usage, want) in cases {
            let facts = NodeFacts::of(&n);
            assert_eq!(Cost::of(&Demand::of(&pod), &facts, &usage), want, "{name}");
        }
    }

    #[test]
    fn spread_before_load() {
        let crowded_but_empty = Cost {
            same_owner: 1,
            allocated: Fraction::ZERO,
            pods: 0,
        };
        let spread_but_full = Cost {
            same_owner: 0,
            allocated: Fraction::ONE,
            pods: 9,
        };
        assert!(spread_but_full < crowded_but_empty);
    }

    #[test]
    fn fewer_pods_break_a_tie() {
        // Nodes that report no capacity score every pod at zero: the pod count spreads them.
        let n = node("n1", "0", "0");
        let facts = NodeFacts::of(&n);
        let mut busy = NodeUsage::default();
        busy.add(&Demand::of(&pod("b", "", "")));
        let p = Demand::of(&pod("p", "", ""));
        let on_empty = Cost::of(&p, &facts, &NodeUsage::default());
        let on_busy = Cost::of(&p, &facts, &busy);
        assert_eq!(on_empty.allocated, on_busy.allocated);
        assert!(on_empty < on_busy);
    }
}
