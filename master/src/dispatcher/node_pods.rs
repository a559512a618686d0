//! [`NodePods`]: the pods bound to each node: what a session sends its
//! agent in full without looking at every pod of the cluster.
//!
//! Why: a session used to list every pod and keep its node's. With 1,000 sessions re-sending
//! at once (the hub's watch fell behind a burst of 10,000 pods) that was 1,000 passes over the
//! cluster's pods, seconds of both cores, while the Raft heartbeats waited.
use std::collections::{BTreeMap, HashMap};

use crate::store::{Change, EventType, Stored};

/// Pods by node, then by `namespace/name`; pods not bound to a node are not held.
#[derive(Default)]
pub struct NodePods {
    by_node: HashMap<String, BTreeMap<String, Stored>>,
    /// The node each held pod is bound to.
    node_of: HashMap<String, String>,
}

fn key(s: &Stored) -> String {
    let m = s.object.meta();
    format!("{}/{}", m.namespace, m.name)
}

fn node(s: &Stored) -> Option<&str> {
    s.object.as_pod()?.spec.node_name.as_deref()
}

impl NodePods {
    /// The pods of a list.
    pub fn new(pods: Vec<Stored>) -> Self {
        let mut index = NodePods::default();
        for s in pods {
            index.put(s);
        }
        index
    }

    /// The pods bound to `node`, in name order.
    pub fn of(&self, node: &str) -> Vec<Stored> {
        self.by_node
            .get(node)
            .map(|pods| pods.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Follows one change of the store (changes of other kinds are not its concern).
    pub fn apply(&mut self, c: &Change) {
        if c.object.as_pod().is_none() {
            return;
        }
        let stored = c.stored();
        self.remove(&key(&stored));
        if c.event != EventType::Deleted {
            self.put(stored);
        }
    }

    fn put(&mut self, s: Stored) {
        let Some(node) = node(&s).map(str::to_string) else {
            return;
        };
        let key = key(&s);
        self.by_node
            .entry(node.clone())
            .or_default()
            .insert(key.clone(), s);
        self.node_of.insert(key, node);
    }

    fn remove(&mut self, key: &str) {
        let Some(node) = self.node_of.remove(key) else {
            return;
        };
        if let Some(pods) = self.by_node.get_mut(&node) {
            pods.remove(key);
            if pods.is_empty() {
                self.by_node.remove(&node);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::pod::Pod;
    use std::sync::Arc;

    fn pod(name: &str, node: Option<&str>) -> Arc<bosun_shared::Object> {
        let mut p = Pod::default();
        p.metadata.name = name.into();
        p.metadata.namespace = "default".into();
        p.spec.node_name = node.map(Into::into);
        Arc::new(p.into())
    }

    fn names(index: &NodePods, node: &str) -> Vec<String> {
        let of = index.of(node);
        of.iter()
            .map(|s| s.object.meta().name.to_string())
            .collect()
    }

    #[test]
    fn pods_follow_binding_moves_and_deletion() {
        let listed = vec![
            Stored::new(pod("a", Some("n1"))),
            Stored::new(pod("pending", None)),
        ];
        let mut index = NodePods::new(listed);
        assert_eq!(names(&index, "n1"), ["a"]);
        index.apply(&Change::new(
            EventType::Modified,
            pod("pending", Some("n2")),
            6,
        ));
        assert_eq!(names(&index, "n2"), ["pending"]);
        // A pod that names another node is no longer the first node's.
        index.apply(&Change::new(EventType::Modified, pod("a", Some("n2")), 7));
        assert!(names(&index, "n1").is_empty());
        assert_eq!(names(&index, "n2"), ["a", "pending"]);
        index.apply(&Change::new(EventType::Deleted, pod("a", Some("n2")), 8));
        assert_eq!(names(&index, "n2"), ["pending"]);
        assert!(
            !index.by_node.contains_key("n1"),
            "an empty node is forgotten"
        );
    }
}
