//! Filters: can this node run this pod at all? The first failing filter is the node's reason.
use std::fmt;

use bosun_shared::meta::StringMap;

use bosun_shared::taint::Toleration;

use super::demand::{Demand, NodeUsage};
use super::node::NodeFacts;

/// Why a node cannot run a pod. Variants are in filter order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Reason {
    /// The node's Ready condition is not `True`.
    NotReady,
    /// The node is cordoned (`spec.unschedulable`).
    Cordoned,
    /// The node has a `NoSchedule` or `NoExecute` taint the pod does not tolerate.
    UntoleratedTaint,
    /// A key/value of the pod's `nodeSelector` is missing from the node's labels.
    NodeSelectorMismatch,
    /// The CPU requests of the node's pods plus this pod's exceed the node's allocatable CPU.
    InsufficientCpu,
    /// The memory requests of the node's pods plus this pod's exceed the node's memory.
    InsufficientMemory,
    /// A (protocol, hostPort) of the pod is already published by a pod on the node.
    HostPortTaken,
}

impl Reason {
    /// The reason as it appears in the unschedulable message.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::NotReady => "not ready",
            Reason::Cordoned => "cordoned",
            Reason::UntoleratedTaint => "untolerated taint",
            Reason::NodeSelectorMismatch => "node selector mismatch",
            Reason::InsufficientCpu => "insufficient cpu",
            Reason::InsufficientMemory => "insufficient memory",
            Reason::HostPortTaken => "host port taken",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The filters that read only the node and the pod's `nodeSelector` and `tolerations`, in
/// order: not what the node holds. Pods of one shape (selector and tolerations) get the same
/// answer from a node for a whole batch, so the batch asks once per shape and node.
pub(super) fn check_node(
    selector: &StringMap,
    tolerations: &[Toleration],
    node: &NodeFacts,
) -> Result<(), Reason> {
    if !node.ready {
        return Err(Reason::NotReady);
    }
    if node.node.spec.unschedulable {
        return Err(Reason::Cordoned);
    }
    if bosun_shared::taint::untolerated(
        &node.node.spec.taints,
        tolerations,
        &["NoSchedule", "NoExecute"],
    )
    .is_some()
    {
        return Err(Reason::UntoleratedTaint);
    }
    if !node.node.selected_by(selector) {
        return Err(Reason::NodeSelectorMismatch);
    }
    Ok(())
}

/// The filters that read what the node already holds (`usage`), in order, for a pod asking
/// `demand`.
pub(super) fn check_fit(
    demand: &Demand,
    node: &NodeFacts,
    usage: &NodeUsage,
) -> Result<(), Reason> {
    if !fits(usage.cpu_millis, demand.cpu_millis, node.cpu_millis) {
        return Err(Reason::InsufficientCpu);
    }
    if !fits(usage.memory_bytes, demand.memory_bytes, node.memory_bytes) {
        return Err(Reason::InsufficientMemory);
    }
    if demand
        .host_ports
        .iter()
        .any(|p| usage.host_ports.contains(p))
    {
        return Err(Reason::HostPortTaken);
    }
    Ok(())
}

/// Whether `request` fits on top of `used` within `capacity`; a zero request always fits.
fn fits(used: i64, request: i64, capacity: i64) -> bool {
    request <= 0 || used.saturating_add(request) <= capacity
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::{
        bound_to, cordoned, labelled, node, pod, selecting, with_host_port, with_ready,
    };
    use bosun_shared::node::Node;
    use bosun_shared::pod::Pod;

    /// Runs `check` for `pod` on `node`, with `on_node` already bound there.
    fn run(pod: &Pod, node: &Node, on_node: &[Pod]) -> Result<(), Reason> {
        let mut usage = NodeUsage::default();
        for p in on_node {
            usage.add(&Demand::of(p));
        }
        let facts = NodeFacts::of(node);
        check_node(&pod.spec.node_selector, &pod.spec.tolerations, &facts)
            .and_then(|()| check_fit(&Demand::of(pod), &facts, &usage))
    }

    /// A case: name, pod, node, pods already bound to the node, expected result.
    type Case = (&'static str, Pod, Node, Vec<Pod>, Result<(), Reason>);

    #[test]
    fn filters() {
        let n = || node("n1", "1", "1Gi");
        let p = |cpu, mem| pod("p", cpu, mem);
        let on = |p: Pod| bound_to(p, "n1");
        let cases: Vec<Case> = vec![
            ("fits", p("500m", "512Mi"), n(), vec![], Ok(())),
            (
                "not ready",
                p("", ""),
                with_ready(n(), "False"),
                vec![],
                Err(Reason::NotReady),
            ),
            (
                "ready unknown",
                p("", ""),
                with_ready(n(), "Unknown"),
                vec![],
                Err(Reason::NotReady),
            ),
            (
                "no status",
                p("", ""),
                Node::default(),
                vec![],
                Err(Reason::NotReady),
            ),
            (
                "cordoned",
                p("", ""),
                cordoned(n()),
                vec![],
                Err(Reason::Cordoned),
            ),
            (
                "not ready wins over cordoned",
                p("", ""),
                cordoned(with_ready(n(), "False")),
                vec![],
                Err(Reason::NotReady),
            ),
            (
                "selector: label missing",
                selecting(p("", ""), &[("disk", "ssd")]),
                n(),
                vec![],
                Err(Reason::NodeSelectorMismatch),
            ),
            (
                "selector: wrong value",
                selecting(p("", ""), &[("disk", "ssd")]),
                labelled(n(), &[("disk", "hdd")]),
                vec![],
                Err(Reason::NodeSelectorMismatch),
            ),
            (
                "selector: one of two missing",
                selecting(p("", ""), &[("disk", "ssd"), ("zone", "a")]),
                labelled(n(), &[("disk", "ssd")]),
                vec![],
                Err(Reason::NodeSelectorMismatch),
            ),
            (
                "selector: match, extra node labels",
                selecting(p("", ""), &[("disk", "ssd")]),
                labelled(n(), &[("disk", "ssd"), ("zone", "a")]),
                vec![],
                Ok(()),
            ),
            (
                "cordoned wins over selector",
                selecting(p("", ""), &[("disk", "ssd")]),
                cordoned(n()),
                vec![],
                Err(Reason::Cordoned),
            ),
            (
                "cpu: too much alone",
                p("1001m", ""),
                n(),
                vec![],
                Err(Reason::InsufficientCpu),
            ),
            (
                "cpu: exactly full",
                p("400m", ""),
                n(),
                vec![on(pod("b", "600m", ""))],
                Ok(()),
            ),
            (
                "cpu: too much with bound pods",
                p("401m", ""),
                n(),
                vec![on(pod("b", "600m", ""))],
                Err(Reason::InsufficientCpu),
            ),
            (
                "cpu: zero request fits a full node",
                p("", "1Mi"),
                n(),
                vec![on(pod("b", "2", ""))],
                Ok(()),
            ),
            (
                "cpu: zero request fits a node without cpu",
                p("", ""),
                node("n1", "", ""),
                vec![],
                Ok(()),
            ),
            (
                "cpu: node without cpu",
                p("1m", ""),
                node("n1", "", "1Gi"),
                vec![],
                Err(Reason::InsufficientCpu),
            ),
            (
                "memory: too much with bound pods",
                p("", "600Mi"),
                n(),
                vec![on(pod("b", "", "600Mi"))],
                Err(Reason::InsufficientMemory),
            ),
            ("memory: exactly full", p("", "1Gi"), n(), vec![], Ok(())),
            (
                "cpu wins over memory",
                p("2", "2Gi"),
                n(),
                vec![],
                Err(Reason::InsufficientCpu),
            ),
            (
                "host port taken",
                with_host_port(p("", ""), "TCP", 80),
                n(),
                vec![on(with_host_port(pod("b", "", ""), "TCP", 80))],
                Err(Reason::HostPortTaken),
            ),
            (
                "host port: protocol case does not matter",
                with_host_port(p("", ""), "tcp", 80),
                n(),
                vec![on(with_host_port(pod("b", "", ""), "TCP", 80))],
                Err(Reason::HostPortTaken),
            ),
            (
                "host port: other protocol is free",
                with_host_port(p("", ""), "UDP", 80),
                n(),
                vec![on(with_host_port(pod("b", "", ""), "TCP", 80))],
                Ok(()),
            ),
            (
                "host port: other port is free",
                with_host_port(p("", ""), "TCP", 8080),
                n(),
                vec![on(with_host_port(pod("b", "", ""), "TCP", 80))],
                Ok(()),
            ),
            (
                "memory wins over host port",
                with_host_port(p("", "2Gi"), "TCP", 80),
                n(),
                vec![on(with_host_port(pod("b", "", ""), "TCP", 80))],
                Err(Reason::InsufficientMemory),
            ),
        ];
        for (name, pod, node, on_node, want) in cases {
            assert_eq!(run(&pod, &node, &on_node), want, "{name}");
        }
    }

    #[test]
    fn reason_strings() {
        let cases = [
            (Reason::NotReady, "not ready"),
            (Reason::Cordoned, "cordoned"),
            (Reason::NodeSelectorMismatch, "node selector mismatch"),
            (Reason::InsufficientCpu, "insufficient cpu"),
            (Reason::InsufficientMemory, "insufficient memory"),
            (Reason::HostPortTaken, "host port taken"),
        ];
        for (reason, want) in cases {
            assert_eq!(reason.to_string(), want);
        }
    }
}
