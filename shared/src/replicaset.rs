//! `apps/v1` ReplicaSet: keeps `replicas` pods of one template running. Deployments make one
//! per template (revision) and scale them; their templates are the revision history that
//! `bosun rollout undo` goes back to.
use compact_str::CompactString;

use serde::{Deserialize, Serialize};

use crate::deployment::PodTemplateSpec;
use crate::meta::ObjectMeta;
use crate::selector::LabelSelector;

/// Label with the hash of the template a Deployment's ReplicaSet and its pods were made from.
pub const TEMPLATE_HASH_LABEL: &str = "pod-template-hash";
/// Annotation with the Deployment revision a ReplicaSet's template is (`"1"`, `"2"`, ...).
pub const REVISION_ANNOTATION: &str = "deployment.kubernetes.io/revision";
/// Annotation a user sets on a Deployment to say why it changed; copied to its ReplicaSets
/// and shown by `rollout history`.
pub const CHANGE_CAUSE_ANNOTATION: &str = "kubernetes.io/change-cause";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSet {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ReplicaSetSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReplicaSetStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetSpec {
    /// Desired number of pods (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<i32>,
    /// Must match the template's labels.
    #[serde(default)]
    pub selector: LabelSelector,
    #[serde(default)]
    pub template: PodTemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReplicaSetStatus {
    #[serde(default)]
    pub observed_generation: i64,
    #[serde(default)]
    pub replicas: i32,
    #[serde(default)]
    pub ready_replicas: i32,
    #[serde(default)]
    pub available_replicas: i32,
}

impl ReplicaSet {
    pub fn replicas(&self) -> i32 {
        self.spec.replicas.unwrap_or(1)
    }

    /// The template as its Deployment had it (without `pod-template-hash`): what
    /// `rollout undo` puts back.
    pub fn deployment_template(&self) -> PodTemplateSpec {
        let mut t = self.spec.template.clone();
        t.metadata.labels.remove(TEMPLATE_HASH_LABEL);
        t
    }

    /// The Deployment revision this ReplicaSet is (0 when it has none).
    pub fn revision(&self) -> i64 {
        self.metadata
            .annotations
            .get(REVISION_ANNOTATION)
            .and_then(|r| r.parse().ok())
            .unwrap_or(0)
    }
}
