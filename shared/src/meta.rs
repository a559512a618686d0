//! `metadata` of every object, as Kubernetes spells it.
use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

/// The string-to-string maps of objects: labels, annotations, node selectors, `matchLabels`.
/// A sorted flat vector, not a B-tree: with a label or two, a `BTreeMap` leaf took ~540
/// bytes, and every version of every pod carried a few (heaptrack of a master holding 30,000
/// pods: 34 MB of B-tree leaves). Serialized the same way, as a map in key order.
///
/// The objects' strings are `CompactString`s where a pod carries them (metadata, owner
/// references, conditions, containers' names and images, statuses): up to 24 bytes are held
/// inline, and most names, label keys and values, timestamps and condition fields are that
/// short. As `String`s they were ~30 heap allocations of 8-32 bytes per pod version, ~20 MB
/// of a master holding 30,000 pods (session 17's heap profile); they serialize as strings.
pub type StringMap = litemap::LiteMap<CompactString, CompactString>;

/// Default namespace of namespaced objects.
pub const DEFAULT_NAMESPACE: &str = "default";

/// Metadata common to every object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMeta {
    /// DNS-1123 name, unique per kind and namespace.
    #[serde(default)]
    pub name: CompactString,
    /// Namespace; empty for cluster-scoped objects (nodes).
    #[serde(default, skip_serializing_if = "CompactString::is_empty")]
    pub namespace: CompactString,
    /// Set by the master on create; a recreated object gets a new one.
    #[serde(default, skip_serializing_if = "CompactString::is_empty")]
    pub uid: CompactString,
    /// Labels, matched by selectors.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub labels: StringMap,
    /// Free-form annotations.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub annotations: StringMap,
    /// Store revision (Raft log index) of the last write; a string, as in Kubernetes.
    #[serde(default, skip_serializing_if = "CompactString::is_empty")]
    pub resource_version: CompactString,
    /// Incremented by the store each time the spec changes.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub generation: i64,
    /// RFC 3339 time the object was created, stamped by the master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_timestamp: Option<CompactString>,
    /// RFC 3339 time deletion was requested.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_timestamp: Option<CompactString>,
    /// Seconds the deleted pod's containers get to stop, when the deletion chose them
    /// (`--grace-period`); set on the deleted object the watchers see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_grace_period_seconds: Option<i64>,
    /// Objects that own this one; it is garbage-collected when they are gone.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub owner_references: Vec<OwnerReference>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

impl ObjectMeta {
    /// The resource version as a number (0 when unset or not a number).
    pub fn revision(&self) -> u64 {
        self.resource_version.parse().unwrap_or(0)
    }

    /// The owner reference marked as controller, if any.
    pub fn controller(&self) -> Option<&OwnerReference> {
        self.owner_references
            .iter()
            .find(|o| o.controller.unwrap_or(false))
    }
}

/// A reference from an owned object to its owner.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnerReference {
    pub api_version: CompactString,
    pub kind: CompactString,
    pub name: CompactString,
    pub uid: CompactString,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller: Option<bool>,
}

pub use crate::condition::{find_condition, set_condition, Condition, ConditionTimes};

/// What a delete does to the objects the deleted one owns (kubectl's `--cascade`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Propagation {
    /// The owner goes now; the garbage collector deletes what it owned right after.
    #[default]
    Background,
    /// What it owns (transitively) is deleted in the same write as the owner.
    Foreground,
    /// What it owns stays, its reference to the owner removed.
    Orphan,
}

impl Propagation {
    pub fn as_str(self) -> &'static str {
        match self {
            Propagation::Background => "background",
            Propagation::Foreground => "foreground",
            Propagation::Orphan => "orphan",
        }
    }
}

impl std::str::FromStr for Propagation {
    type Err = String;
    /// kubectl's values; `true` and `false` are its older spellings of background and orphan.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "" | "background" | "true" => Ok(Propagation::Background),
            "foreground" => Ok(Propagation::Foreground),
            "orphan" | "false" => Ok(Propagation::Orphan),
            other => Err(format!(
                "Unsupported value: {other:?}: supported values: \"background\", \"foreground\", \"orphan\""
            )),
        }
    }
}
