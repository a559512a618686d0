//! [`NodeFacts`]: what the filters and the score read of a node, read once per batch.
//!
//! A node's allocatable CPU and memory are quantity strings ("4", "7890Mi"); parsing them for
//! every (pod, node) pair took half of a 10,000-pod batch over 1,000 nodes.
use bosun_shared::node::Node;

/// A node as the scheduler sees it during one batch.
#[derive(Debug, Clone, Copy)]
pub(super) struct NodeFacts<'a> {
    pub node: &'a Node,
    /// Its Ready condition is `True`.
    pub ready: bool,
    /// Allocatable CPU in millicores.
    pub cpu_millis: i64,
    /// Allocatable memory in bytes.
    pub memory_bytes: i64,
}

impl<'a> NodeFacts<'a> {
    pub fn of(node: &'a Node) -> Self {
        NodeFacts {
            node,
            ready: node.is_ready(),
            cpu_millis: node.cpu_millis(),
            memory_bytes: node.memory_bytes(),
        }
    }
}
