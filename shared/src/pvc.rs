//! [`PersistentVolumeClaim`]: core `v1` PersistentVolumeClaim, backed by a local volume. A
//! claim is bound to the node where the first pod that uses it is scheduled (the annotation
//! `volume.kubernetes.io/selected-node`, as Kubernetes' `WaitForFirstConsumer`); its volume is
//! a Docker named volume there, and every later pod that uses the claim runs on that node.
//! Deleting the claim deletes the volume, unless the claim says
//! `bosun.dev/reclaim-policy: Retain` (Kubernetes keeps that policy on the PersistentVolume,
//! which Bosun does not have).
use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::quantity::Quantity;
use crate::validate::FieldError;

/// The node a claim is bound to.
pub const SELECTED_NODE: &str = "volume.kubernetes.io/selected-node";
/// `Delete` (default) or `Retain`: what happens to the volume when the claim is deleted.
pub const RECLAIM_POLICY: &str = "bosun.dev/reclaim-policy";
/// The access modes Kubernetes defines (a local volume serves any of them on its node).
pub const ACCESS_MODES: [&str; 4] = [
    "ReadWriteOnce",
    "ReadOnlyMany",
    "ReadWriteMany",
    "ReadWriteOncePod",
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PersistentVolumeClaim {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: ClaimSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ClaimStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
    /// `requests.storage`: the size asked for.
    #[serde(default)]
    pub resources: ClaimResources,
    /// Accepted; every claim is a local volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class_name: Option<String>,
    /// The volume's name once bound (`bosun-pvc-<uid>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_name: Option<String>,
    /// `Filesystem` (the only mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_mode: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimResources {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimStatus {
    /// `Pending` until a pod that uses it is scheduled, then `Bound`.
    #[serde(default)]
    pub phase: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub capacity: BTreeMap<String, Quantity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_modes: Vec<String>,
}

impl PersistentVolumeClaim {
    /// The node it is bound to, if it is.
    pub fn node(&self) -> Option<&str> {
        self.metadata
            .annotations
            .get(SELECTED_NODE)
            .map(CompactString::as_str)
    }

    /// The name of its volume on the node: unique to this claim (a claim deleted and made
    /// again gets a new volume).
    pub fn volume_name(&self) -> String {
        let uid: String = self
            .metadata
            .uid
            .chars()
            .filter(|c| *c != '-')
            .take(16)
            .collect();
        format!("bosun-pvc-{uid}")
    }

    pub fn retained(&self) -> bool {
        self.metadata
            .annotations
            .get(RECLAIM_POLICY)
            .map(CompactString::as_str)
            == Some("Retain")
    }

    /// This claim bound to `node`: annotated, its volume named, status `Bound`.
    pub fn bound_to(&self, node: &str) -> PersistentVolumeClaim {
        let mut c = self.clone();
        c.metadata
            .annotations
            .insert(SELECTED_NODE.into(), node.into());
        c.spec.volume_name = Some(self.volume_name());
        c.status = Some(ClaimStatus {
            phase: "Bound".into(),
            capacity: self.spec.resources.requests.clone(),
            access_modes: self.spec.access_modes.clone(),
        });
        c
    }

    /// `Pending` or `Bound`.
    pub fn phase(&self) -> &str {
        match &self.status {
            Some(s) if !s.phase.is_empty() => &s.phase,
            _ => "Pending",
        }
    }
}

pub fn validate_claim(c: &PersistentVolumeClaim, errs: &mut Vec<FieldError>) {
    for (i, m) in c.spec.access_modes.iter().enumerate() {
        if !ACCESS_MODES.contains(&m.as_str()) {
            errs.push(FieldError::unsupported(
                format!("spec.accessModes[{i}]"),
                m,
                &ACCESS_MODES,
            ));
        }
    }
    match c.spec.resources.requests.get("storage") {
        None => errs.push(FieldError::required("spec.resources.requests[storage]")),
        Some(q) => {
            if let Err(e) = q.value() {
                errs.push(FieldError::invalid(
                    "spec.resources.requests[storage]",
                    &q.0,
                    e,
                ));
            }
        }
    }
    if let Some(p) = c.metadata.annotations.get(RECLAIM_POLICY) {
        if p != "Delete" && p != "Retain" {
            errs.push(FieldError::unsupported(
                format!("metadata.annotations[{RECLAIM_POLICY}]"),
                p,
                &["Delete", "Retain"],
            ));
        }
    }
    if let Some(m) = c.spec.volume_mode.as_deref().filter(|m| *m != "Filesystem") {
        errs.push(FieldError::unsupported(
            "spec.volumeMode",
            m,
            &["Filesystem"],
        ));
    }
}
