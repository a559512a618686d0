//! `apps/v1` Deployment: keeps `replicas` pods of a template running.
use compact_str::CompactString;

use serde::{Deserialize, Serialize};

use crate::meta::{Condition, ObjectMeta, StringMap};
use crate::pod::PodSpec;
use crate::selector::LabelSelector;
use crate::strategy::DeploymentStrategy;

/// Condition: the rollout moves (`True`), or stopped moving (`False`, [`DEADLINE_EXCEEDED`]).
pub const PROGRESSING: &str = "Progressing";
/// Condition: at least `replicas - maxUnavailable` pods are ready.
pub const AVAILABLE: &str = "Available";
/// `Progressing=False` reason of a rollout that did not move for `progressDeadlineSeconds`.
pub const DEADLINE_EXCEEDED: &str = "ProgressDeadlineExceeded";

/// Kubernetes' default `progressDeadlineSeconds`.
pub const DEFAULT_PROGRESS_DEADLINE_SECONDS: i32 = 600;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: DeploymentSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeploymentStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentSpec {
    /// Desired number of pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Must match the template's labels.
    #[serde(default)]
    pub selector: LabelSelector,
    #[serde(default)]
    pub template: PodTemplateSpec,
    /// How pods of a changed template replace the old ones.
    #[serde(default, skip_serializing_if = "is_default")]
    pub strategy: DeploymentStrategy,
    /// Old ReplicaSets kept for `rollout undo` (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_history_limit: Option<i32>,
    /// Seconds without progress after which the rollout is reported as failed (default 600).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress_deadline_seconds: Option<i32>,
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// The pods a controller creates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplateSpec {
    #[serde(default)]
    pub metadata: TemplateMeta,
    #[serde(default)]
    pub spec: PodSpec,
}

/// The part of metadata a template may set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateMeta {
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub labels: StringMap,
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    #[schemars(with = "std::collections::BTreeMap<String, String>")]
    pub annotations: StringMap,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStatus {
    #[serde(default)]
    pub observed_generation: i64,
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub updated_replicas: i32,
    #[serde(default)]
    pub ready_replicas: i32,
    #[serde(default)]
    pub available_replicas: i32,
    #[serde(default)]
    pub unavailable_replicas: i32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl Deployment {
    pub fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }

    pub fn progress_deadline(&self) -> std::time::Duration {
        let secs = self
            .spec
            .progress_deadline_seconds
            .unwrap_or(DEFAULT_PROGRESS_DEADLINE_SECONDS);
        std::time::Duration::from_secs(secs.max(0) as u64)
    }

    /// The condition of `type_`, if the status has one.
    pub fn condition(&self, type_: &str) -> Option<&crate::meta::Condition> {
        crate::meta::find_condition(&self.status.as_ref()?.conditions, type_)
    }
}
