//! `apps/v1` DaemonSet: one pod of a template on every eligible node (its `nodeSelector`
//! matches, it tolerates the node's taints), updated a few nodes at a time.
use compact_str::CompactString;

use serde::{Deserialize, Serialize};

use crate::deployment::PodTemplateSpec;
use crate::meta::ObjectMeta;
use crate::selector::LabelSelector;
use crate::strategy::IntOrPercent;

/// Label with the hash of the template a DaemonSet's pod was made from.
pub const REVISION_HASH_LABEL: &str = "controller-revision-hash";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSet {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: DaemonSetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DaemonSetStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetSpec {
    /// Must match the template's labels.
    #[serde(default)]
    pub selector: LabelSelector,
    #[serde(default)]
    pub template: PodTemplateSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_strategy: Option<DaemonSetUpdateStrategy>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetUpdateStrategy {
    /// `RollingUpdate` (default) or `OnDelete` (a pod is replaced only once deleted).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdateDaemonSet>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdateDaemonSet {
    /// Nodes whose pod may be unavailable during an update (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetStatus {
    #[serde(default)]
    pub observed_generation: i64,
    /// Eligible nodes.
    #[serde(default)]
    pub desired_number_scheduled: i32,
    /// Eligible nodes that have a pod.
    #[serde(default)]
    pub current_number_scheduled: i32,
    /// Pods on nodes that are not eligible (about to go).
    #[serde(default)]
    pub number_misscheduled: i32,
    #[serde(default)]
    pub number_ready: i32,
    #[serde(default)]
    pub updated_number_scheduled: i32,
    #[serde(default)]
    pub number_available: i32,
    #[serde(default)]
    pub number_unavailable: i32,
}

impl DaemonSet {
    /// False for `OnDelete`: old pods are replaced only when someone deletes them.
    pub fn rolling(&self) -> bool {
        let t = self
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.type_.as_deref());
        t != Some("OnDelete")
    }

    /// `maxUnavailable` as a number of nodes out of `desired` (default 1, at least 1).
    pub fn max_unavailable(&self, desired: i32) -> i32 {
        let v = self
            .spec
            .update_strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref())
            .and_then(|r| r.max_unavailable)
            .unwrap_or(IntOrPercent::Int(1));
        // Rounded up for DaemonSets, as Kubernetes does.
        v.scaled(desired, true).max(1)
    }
}
