//! The scheduling decision for a batch of pending pods: filter every node, score the feasible
//! ones, place the pod on the best, and count it against that node for the rest of the batch.
//! The filters that do not depend on what a node holds run once per pod shape and node.
use std::borrow::Borrow;
use std::collections::HashMap;

use bosun_shared::meta::StringMap;

use bosun_shared::node::Node;
use bosun_shared::pod::Pod;
use bosun_shared::taint::Toleration;
use bosun_shared::CompactString;

use super::demand::{Demand, NodeUsage};
use super::filter::{check_fit, check_node, Reason};
use super::message;
use super::node::NodeFacts;
use super::score::Cost;

/// What the scheduler decided for one pending pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Bind pod `namespace/name` to `node`.
    Bind {
        /// Namespace of the pod.
        namespace: CompactString,
        /// Name of the pod.
        name: CompactString,
        /// Name of the node chosen for it.
        node: CompactString,
    },
    /// No node fits; `message` says why, e.g.
    /// "0/3 nodes available: 2 insufficient memory, 1 cordoned".
    Unschedulable {
        /// Namespace of the pod.
        namespace: CompactString,
        /// Name of the pod.
        name: CompactString,
        /// Why no node fits, with the count of nodes per reason.
        message: String,
    },
}

/// Decides placements for `pending` pods (no spec.nodeName, not terminal), given all `nodes`
/// and every pod already bound (`bound`: spec.nodeName set and phase not Succeeded/Failed).
/// Pods placed earlier in the same call count against later ones (a batch never overcommits a
/// node).
///
/// Pending pods are decided in the order given, one outcome each; a pod in `pending` that is in
/// fact bound or terminal is skipped (no outcome). Pods in `bound` that are terminal or bound to
/// a node not in `nodes` are ignored.
pub fn schedule<P, N, B>(pending: &[P], nodes: &[N], bound: &[B]) -> Vec<Outcome>
where
    P: Borrow<Pod>,
    N: Borrow<Node>,
    B: Borrow<Pod>,
{
    let nodes: Vec<NodeFacts> = nodes.iter().map(|n| NodeFacts::of(n.borrow())).collect();
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        index.entry(node.node.metadata.name.as_str()).or_insert(i);
    }
    let mut usage = vec![NodeUsage::default(); nodes.len()];
    for pod in bound.iter().map(Borrow::borrow) {
        if pod.phase().is_terminal() {
            continue;
        }
        if let Some(&i) = node_name(pod).and_then(|n| index.get(n)) {
            usage[i].add(&Demand::of(pod));
        }
    }
    let mut shapes = Shapes::default();
    pending
        .iter()
        .map(Borrow::borrow)
        .filter(|p| node_name(p).is_none() && !p.phase().is_terminal())
        .map(|pod| {
            let passed = shapes.node_checks(pod, &nodes);
            place(pod, passed, &nodes, &mut usage)
        })
        .collect()
}

/// The node filters' answers ([`check_node`]) for each pod shape of a batch: a shape is a
/// `nodeSelector` and `tolerations`, which the replicas of one owner share.
#[derive(Default)]
struct Shapes<'p> {
    known: Vec<Shape<'p>>,
}

/// One pod shape and the node filters' answers for it, one per node in the batch's order.
struct Shape<'p> {
    selector: &'p StringMap,
    tolerations: &'p [Toleration],
    answers: Vec<Result<(), Reason>>,
}

impl<'p> Shapes<'p> {
    fn node_checks(&mut self, pod: &'p Pod, nodes: &[NodeFacts]) -> &[Result<(), Reason>] {
        let (selector, tolerations) = (&pod.spec.node_selector, pod.spec.tolerations.as_slice());
        let found = self
            .known
            .iter()
            .position(|k| k.selector == selector && k.tolerations == tolerations);
        let i = found.unwrap_or_else(|| {
            let answers = nodes
                .iter()
                .map(|n| check_node(selector, tolerations, n))
                .collect();
            self.known.push(Shape {
                selector,
                tolerations,
                answers,
            });
            self.known.len() - 1
        });
        &self.known[i].answers
    }
}

/// The node a pod is bound to, if any.
fn node_name(pod: &Pod) -> Option<&str> {
    pod.spec.node_name.as_deref().filter(|n| !n.is_empty())
}

/// Decides for one pod and, when it is bound, adds it to its node's usage. `node_checks` are
/// the node filters' answers for the pod's shape.
fn place(
    pod: &Pod,
    node_checks: &[Result<(), Reason>],
    nodes: &[NodeFacts],
    usage: &mut [NodeUsage],
) -> Outcome {
    let demand = Demand::of(pod);
    let mut reasons: Vec<Reason> = Vec::new();
    // (cost, node name, index): the lowest cost wins, ties go to the first name.
    let mut best: Option<(Cost, &str, usize)> = None;
    for (i, ((node, used), checked)) in nodes.iter().zip(usage.iter()).zip(node_checks).enumerate()
    {
        match checked.and_then(|()| check_fit(&demand, node, used)) {
            Err(reason) => reasons.push(reason),
            Ok(()) => {
                let candidate = (
                    Cost::of(&demand, node, used),
                    node.node.metadata.name.as_str(),
                    i,
                );
                if best.is_none_or(|b| (candidate.0, candidate.1) < (b.0, b.1)) {
                    best = Some(candidate);
                }
            }
        }
    }
    let namespace = pod.metadata.namespace.clone();
    let name = pod.metadata.name.clone();
    match best {
        Some((_, node, i)) => {
            usage[i].add(&demand);
            Outcome::Bind {
                namespace,
                name,
                node: node.into(),
            }
        }
        None => Outcome::Unschedulable {
            namespace,
            name,
            message: message::unschedulable(nodes.len(), &reasons),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::{
        bound_to, cordoned, in_phase, labelled, node, owned_by, pod, selecting, with_host_port,
        with_ready,
    };
    use bosun_shared::pod::PodPhase;

    fn bind(name: &str, node: &str) -> Outcome {
        Outcome::Bind {
            namespace: "default".into(),
            name: name.into(),
            node: node.into(),
        }
    }

    fn unschedulable(name: &str, message: &str) -> Outcome {
        Outcome::Unschedulable {
            namespace: "default".into(),
            name: name.into(),
            message: message.into(),
        }
    }

    /// One scenario: pending pods, nodes, bound pods, and the outcomes expected.
    struct Case {
        name: &'static str,
        pending: Vec<Pod>,
        nodes: Vec<Node>,
        bound: Vec<Pod>,
        want: Vec<Outcome>,
    }

    fn cases() -> Vec<Case> {
        let n = |name| node(name, "1", "1Gi");
        let replica = |name| owned_by(pod(name, "", ""), "rs-1");
        vec![
            Case {
                name: "zero nodes",
                pending: vec![pod("a", "", "")],
                nodes: vec![],
                bound: vec![],
                want: vec![unschedulable(
                    "a",
                    "0/0 nodes available: no nodes registered",
                )],
            },
            Case {
                name: "batch does not overcommit",
                pending: vec![pod("a", "", "600Mi"), pod("b", "", "600Mi")],
                nodes: vec![n("n1")],
                bound: vec![],
                want: vec![
                    bind("a", "n1"),
                    unschedulable("b", "0/1 nodes available: 1 insufficient memory"),
                ],
            },
            Case {
                name: "reasons counted per node",
                pending: vec![pod("a", "", "2Gi")],
                nodes: vec![n("n1"), cordoned(n("n2")), n("n3")],
                bound: vec![],
                want: vec![unschedulable(
                    "a",
                    "0/3 nodes available: 2 insufficient memory, 1 cordoned",
                )],
            },
            Case {
                name: "only the feasible node is chosen",
                pending: vec![pod("a", "", "")],
                nodes: vec![with_ready(n("n1"), "False"), cordoned(n("n2")), n("n3")],
                bound: vec![],
                want: vec![bind("a", "n3")],
            },
            Case {
                name: "spread: 3 replicas over 3 equal nodes",
                pending: vec![replica("r1"), replica("r2"), replica("r3")],
                nodes: vec![n("n1"), n("n2"), n("n3")],
                bound: vec![],
                want: vec![bind("r1", "n1"), bind("r2", "n2"), bind("r3", "n3")],
            },
            Case {
                name: "no requests, no owner: spread as if each asked 100m and 200Mi",
                pending: vec![pod("a", "", ""), pod("b", "", ""), pod("c", "", "")],
                nodes: vec![n("n1"), n("n2")],
                bound: vec![],
                want: vec![bind("a", "n1"), bind("b", "n2"), bind("c", "n1")],
            },
            Case {
                name: "no requests: bound pods count too",
                pending: vec![pod("a", "", "")],
                nodes: vec![n("n1"), n("n2")],
                bound: vec![bound_to(pod("x", "", ""), "n1")],
                want: vec![bind("a", "n2")],
            },
            Case {
                name: "spread counts bound replicas and wins over load",
                pending: vec![replica("r2")],
                nodes: vec![n("n1"), n("n2")],
                bound: vec![
                    bound_to(replica("r1"), "n1"),
                    bound_to(pod("big", "900m", ""), "n2"),
                ],
                want: vec![bind("r2", "n2")],
            },
            Case {
                name: "spread ignores other owners",
                pending: vec![replica("r1")],
                nodes: vec![n("n1"), n("n2")],
                // Equal load; counting rs-2 as r1's owner would make n1 the worse node.
                bound: vec![
                    bound_to(owned_by(pod("x", "", ""), "rs-2"), "n1"),
                    bound_to(pod("y", "", ""), "n2"),
                ],
                want: vec![bind("r1", "n1")],
            },
            Case {
                name: "least allocated prefers the emptier node",
                pending: vec![pod("a", "100m", "")],
                nodes: vec![n("n1"), n("n2")],
                bound: vec![bound_to(pod("x", "500m", ""), "n1")],
                want: vec![bind("a", "n2")],
            },
            Case {
                name: "least allocated takes the larger of cpu and memory",
                pending: vec![pod("a", "", "")],
                nodes: vec![n("n1"), n("n2")],
                // Scored with a's 100m and 200Mi: n1 cpu 70%, memory 39%; n2 cpu 40%,
                // memory 69.5%.
                bound: vec![
                    bound_to(pod("x", "600m", ""), "n1"),
                    bound_to(pod("y", "300m", "512Mi"), "n2"),
                ],
                want: vec![bind("a", "n2")],
            },
            Case {
                name: "least allocated relative to capacity",
                pending: vec![pod("a", "500m", "")],
                nodes: vec![node("small", "1", "1Gi"), node("big", "4", "1Gi")],
                bound: vec![],
                want: vec![bind("a", "big")],
            },
            Case {
                name: "batch spreads load",
                pending: vec![
                    pod("a", "400m", ""),
                    pod("b", "400m", ""),
                    pod("c", "400m", ""),
                ],
                nodes: vec![n("n1"), n("n2")],
                bound: vec![],
                want: vec![bind("a", "n1"), bind("b", "n2"), bind("c", "n1")],
            },
            Case {
                name: "node selector match",
                pending: vec![selecting(pod("a", "", ""), &[("disk", "ssd")])],
                nodes: vec![
                    labelled(n("n1"), &[("disk", "hdd")]),
                    labelled(n("n2"), &[("disk", "ssd")]),
                    n("n3"),
                ],
                bound: vec![],
                want: vec![bind("a", "n2")],
            },
            Case {
                name: "node selector matches nothing",
                pending: vec![selecting(pod("a", "", ""), &[("disk", "ssd")])],
                nodes: vec![labelled(n("n1"), &[("disk", "hdd")]), n("n2")],
                bound: vec![],
                want: vec![unschedulable(
                    "a",
                    "0/2 nodes available: 2 node selector mismatch",
                )],
            },
            Case {
                name: "host port conflict only on the same protocol",
                pending: vec![
                    with_host_port(pod("tcp1", "", ""), "TCP", 80),
                    with_host_port(pod("tcp2", "", ""), "TCP", 80),
                    with_host_port(pod("udp", "", ""), "UDP", 80),
                ],
                nodes: vec![n("n1")],
                bound: vec![],
                want: vec![
                    bind("tcp1", "n1"),
                    unschedulable("tcp2", "0/1 nodes available: 1 host port taken"),
                    bind("udp", "n1"),
                ],
            },
            Case {
                name: "host port held by a bound pod moves the pod elsewhere",
                pending: vec![with_host_port(pod("a", "", ""), "TCP", 443)],
                nodes: vec![n("n1"), n("n2")],
                bound: vec![bound_to(with_host_port(pod("x", "", ""), "TCP", 443), "n1")],
                want: vec![bind("a", "n2")],
            },
            Case {
                name: "deterministic tie-break by node name, whatever the node order",
                pending: vec![pod("a", "100m", "100Mi")],
                nodes: vec![n("c"), n("a"), n("b")],
                bound: vec![],
                want: vec![bind("a", "a")],
            },
            Case {
                name: "terminal bound pods and pods on unknown nodes hold nothing",
                pending: vec![pod("a", "", "1Gi")],
                nodes: vec![n("n1")],
                bound: vec![
                    in_phase(bound_to(pod("done", "", "1Gi"), "n1"), PodPhase::Succeeded),
                    in_phase(bound_to(pod("failed", "", "1Gi"), "n1"), PodPhase::Failed),
                    bound_to(pod("gone", "", "1Gi"), "n9"),
                ],
                want: vec![bind("a", "n1")],
            },
            Case {
                name: "bound or terminal pods in pending are skipped",
                pending: vec![
                    bound_to(pod("bound", "", ""), "n1"),
                    in_phase(pod("done", "", ""), PodPhase::Failed),
                    pod("a", "", ""),
                ],
                nodes: vec![n("n1")],
                bound: vec![],
                want: vec![bind("a", "n1")],
            },
        ]
    }

    #[test]
    fn scenarios() {
        for case in cases() {
            let got = schedule(&case.pending, &case.nodes, &case.bound);
            assert_eq!(got, case.want, "{}", case.name);
        }
    }

    #[test]
    fn node_order_does_not_matter() {
        for case in cases() {
            let mut nodes = case.nodes.clone();
            nodes.reverse();
            let got = schedule(&case.pending, &nodes, &case.bound);
            assert_eq!(got, case.want, "{} (nodes reversed)", case.name);
        }
    }

    #[test]
    fn namespace_is_kept() {
        let mut p = pod("a", "", "");
        p.metadata.namespace = "prod".into();
        let got = schedule(&[p], &[node("n1", "1", "1Gi")], &[] as &[Pod]);
        let want = Outcome::Bind {
            namespace: "prod".into(),
            name: "a".into(),
            node: "n1".into(),
        };
        assert_eq!(got, vec![want]);
    }
}
