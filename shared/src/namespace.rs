//! [`Namespace`]: core `v1` Namespace. Namespaced objects can be created only in a namespace
//! that exists; deleting one deletes what it holds. `default`, `bosun-system` and
//! `kube-system` (which manifests from the wild name) always
//! exist (the leader creates them) and cannot be deleted.
use compact_str::CompactString;

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::secret::SYSTEM_NAMESPACE;

/// Namespaces that always exist.
pub const BUILT_IN: [&str; 3] = [
    crate::meta::DEFAULT_NAMESPACE,
    SYSTEM_NAMESPACE,
    "kube-system",
];

/// Whether `name` is one of the namespaces that always exist.
pub fn is_built_in(name: &str) -> bool {
    BUILT_IN.contains(&name)
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Namespace {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: NamespaceSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<NamespaceStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSpec {
    /// Accepted for compatibility; Bosun deletes a namespace's objects itself.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub finalizers: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceStatus {
    /// `Active`.
    #[serde(default)]
    pub phase: String,
}

impl Namespace {
    /// An active namespace named `name`.
    pub fn new(name: &str) -> Namespace {
        let mut n = Namespace {
            api_version: "v1".into(),
            kind: "Namespace".into(),
            status: Some(NamespaceStatus {
                phase: "Active".into(),
            }),
            ..Default::default()
        };
        n.metadata.name = name.into();
        n
    }
}
