//! `v1` Node: a machine running `bosun agent`.
use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::meta::{find_condition, Condition, ObjectMeta, StringMap};
use crate::quantity::Quantity;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: NodeSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NodeStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeSpec {
    /// Cordoned: no new pods are scheduled here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unschedulable: bool,
    /// Pods that do not tolerate these are kept off (and, for `NoExecute`, evicted).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<crate::taint::Taint>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeStatus {
    /// `cpu`, `memory`, `pods`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, Quantity>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allocatable: BTreeMap<String, Quantity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<NodeAddress>,
    #[serde(default)]
    pub node_info: NodeInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeAddress {
    #[serde(rename = "type")]
    pub type_: String,
    pub address: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NodeInfo {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub operating_system: String,
    /// `docker://20.10.24`.
    #[serde(default)]
    pub container_runtime_version: String,
    /// Version of the Bosun agent (Kubernetes calls it the kubelet version).
    #[serde(default)]
    pub kubelet_version: String,
}

impl Node {
    /// Ready condition is `True`.
    pub fn is_ready(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| find_condition(&s.conditions, "Ready"))
            .is_some_and(|c| c.status == "True")
    }

    fn allocatable(&self, name: &str) -> Option<&Quantity> {
        let s = self.status.as_ref()?;
        s.allocatable.get(name).or_else(|| s.capacity.get(name))
    }

    /// Allocatable CPU in millicores.
    pub fn cpu_millis(&self) -> i64 {
        self.allocatable("cpu")
            .and_then(|q| q.millis().ok())
            .unwrap_or(0)
    }

    /// Allocatable memory in bytes.
    pub fn memory_bytes(&self) -> i64 {
        self.allocatable("memory")
            .and_then(|q| q.value().ok())
            .unwrap_or(0)
    }

    /// The first address of the given type (`InternalIP`, `Hostname`).
    pub fn address(&self, type_: &str) -> Option<&str> {
        self.status
            .as_ref()?
            .addresses
            .iter()
            .find(|a| a.type_ == type_)
            .map(|a| a.address.as_str())
    }
}

/// The label of a simulated node (`bosun hollow`): `"true"`.
pub const HOLLOW_LABEL: &str = "bosun.dev/hollow";

impl Node {
    /// Whether a pod with node selector `selector` may run here: every label it names
    /// matches, and a hollow node is taken only by a pod that selects it
    /// (`bosun.dev/hollow: "true"`), so simulated nodes never run real work.
    pub fn selected_by(&self, selector: &StringMap) -> bool {
        let labels = &self.metadata.labels;
        let hollow = labels.get(HOLLOW_LABEL).is_some_and(|v| v == "true");
        selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            && (!hollow || selector.contains_key(HOLLOW_LABEL))
    }
}

#[cfg(test)]
mod selector_tests {
    use super::*;

    #[test]
    fn a_hollow_node_runs_only_the_pods_that_select_it() {
        let mut node = Node::default();
        node.metadata.labels.insert("zone".into(), "a".into());
        let sel = |pairs: &[(&str, &str)]| -> StringMap {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        assert!(node.selected_by(&sel(&[])));
        assert!(node.selected_by(&sel(&[("zone", "a")])));
        assert!(!node.selected_by(&sel(&[("zone", "b")])));
        node.metadata
            .labels
            .insert(HOLLOW_LABEL.into(), "true".into());
        assert!(!node.selected_by(&sel(&[])));
        assert!(!node.selected_by(&sel(&[("zone", "a")])));
        assert!(node.selected_by(&sel(&[(HOLLOW_LABEL, "true")])));
        assert!(!node.selected_by(&sel(&[(HOLLOW_LABEL, "true"), ("zone", "b")])));
    }
}
