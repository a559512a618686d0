//! [`Object`]: any stored object, and [`Kind`]: which kinds Bosun knows.
//!
//! Every kind is one line of the table at the bottom ([`kinds!`]): its Rust type, its
//! `apiVersion`, its plural and kubectl resource name, whether it is namespaced, and the names
//! the CLI accepts. The enums and every per-kind `match` are generated from that table.
use std::fmt;
use std::str::FromStr;

use compact_str::{CompactString, ToCompactString};
use serde::{Deserialize, Serialize};

use crate::configmap::ConfigMap;
use crate::cronjob::CronJob;
use crate::daemonset::DaemonSet;
use crate::deployment::Deployment;
use crate::event::Event;
use crate::job::Job;
use crate::meta::ObjectMeta;
use crate::namespace::Namespace;
use crate::node::Node;
use crate::pod::Pod;
use crate::pvc::PersistentVolumeClaim;
use crate::replicaset::ReplicaSet;
use crate::secret::Secret;

mod de;
mod sizes;

/// What the store needs of every kind: metadata, type metadata, spec and status.
pub trait Resource {
    fn metadata(&self) -> &ObjectMeta;
    fn metadata_mut(&mut self) -> &mut ObjectMeta;
    /// `(apiVersion, kind)`.
    fn type_meta_mut(&mut self) -> (&mut CompactString, &mut CompactString);
    fn spec_value(&self) -> serde_json::Value;
    fn status_value(&self) -> serde_json::Value;
    fn take_status(&mut self, other: &Self)
    where
        Self: Sized;
}

/// Implements [`Resource`] for a type with `api_version`, `kind`, `metadata`, `spec` and
/// `status` fields.
macro_rules! resource {
    ($($ty:ty),*) => {$(
        impl Resource for $ty {
            fn metadata(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn metadata_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
            fn type_meta_mut(&mut self) -> (&mut CompactString, &mut CompactString) {
                (&mut self.api_version, &mut self.kind)
            }
            fn spec_value(&self) -> serde_json::Value {
                serde_json::to_value(&self.spec).unwrap_or_default()
            }
            fn status_value(&self) -> serde_json::Value {
                serde_json::to_value(&self.status).unwrap_or_default()
            }
            fn take_status(&mut self, other: &Self) {
                self.status = other.status.clone();
            }
        }
    )*};
}

/// A boxed kind (see [`kinds!`]) is what it boxes.
impl<T: Resource> Resource for Box<T> {
    fn metadata(&self) -> &ObjectMeta {
        (**self).metadata()
    }
    fn metadata_mut(&mut self) -> &mut ObjectMeta {
        (**self).metadata_mut()
    }
    fn type_meta_mut(&mut self) -> (&mut CompactString, &mut CompactString) {
        (**self).type_meta_mut()
    }
    fn spec_value(&self) -> serde_json::Value {
        (**self).spec_value()
    }
    fn status_value(&self) -> serde_json::Value {
        (**self).status_value()
    }
    fn take_status(&mut self, other: &Self) {
        (**self).take_status(other)
    }
}

resource!(
    Pod,
    Deployment,
    ReplicaSet,
    DaemonSet,
    Job,
    CronJob,
    Node,
    Namespace,
    PersistentVolumeClaim
);

/// Generates [`Kind`], [`Object`] and their per-kind functions from one table. A kind larger
/// than a Pod is boxed (`Box<CronJob>`), so that every `Arc<Object>` of a pod version is a
/// 768-byte allocation rather than the 896 bytes of the largest kind.
macro_rules! kinds {
    ($($variant:ident: $ty:ty, $api:literal, $plural:literal, $resource:literal,
       namespaced = $ns:literal, cli = [$($alias:literal),*];)*) => {
        /// The kinds of object Bosun stores.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Kind {
            $($variant,)*
        }

        impl Kind {
            pub const ALL: [Kind; [$(Kind::$variant),*].len()] = [$(Kind::$variant),*];

            /// `Pod`, as manifests spell it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Kind::$variant => stringify!($variant),)*
                }
            }

            /// The `apiVersion` of the kind.
            pub fn api_version(self) -> &'static str {
                match self {
                    $(Kind::$variant => $api,)*
                }
            }

            /// `pods`, `deployments`, `nodes`.
            pub fn plural(self) -> &'static str {
                match self {
                    $(Kind::$variant => $plural,)*
                }
            }

            /// `pod`, `deployment.apps`, `node`: how kubectl names the kind in its messages.
            pub fn resource_name(self) -> &'static str {
                match self {
                    $(Kind::$variant => $resource,)*
                }
            }

            /// Namespaced kinds live in a namespace; nodes do not.
            pub fn namespaced(self) -> bool {
                match self {
                    $(Kind::$variant => $ns,)*
                }
            }

            /// Every name the CLI accepts for the kind (`pod`, `pods`, `po`).
            pub fn cli_names(self) -> &'static [&'static str] {
                match self {
                    $(Kind::$variant => &[$($alias),*],)*
                }
            }

            /// Parses the names kubectl accepts: `pods`, `pod`, `po`, `Pod`, `deploy`,
            /// `deployment.apps`, ...
            pub fn parse_cli(s: &str) -> Option<Kind> {
                let s = s.to_ascii_lowercase();
                $(
                    if [$($alias),*].contains(&s.as_str()) {
                        return Some(Kind::$variant);
                    }
                )*
                None
            }
        }

        /// Any object the store holds.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Object {
            $($variant($ty),)*
        }

        impl Object {
            pub fn kind(&self) -> Kind {
                match self {
                    $(Object::$variant(_) => Kind::$variant,)*
                }
            }

            fn resource(&self) -> &dyn Resource {
                match self {
                    $(Object::$variant(o) => o,)*
                }
            }

            fn resource_mut(&mut self) -> &mut dyn Resource {
                match self {
                    $(Object::$variant(o) => o,)*
                }
            }

            /// Replaces this object's status with `other`'s (same kind), returning false on
            /// kind mismatch.
            pub fn take_status_from(&mut self, other: &Object) -> bool {
                match (self, other) {
                    $((Object::$variant(a), Object::$variant(b)) => a.take_status(b),)*
                    #[allow(unreachable_patterns)]
                    _ => return false,
                }
                true
            }

            pub fn from_value(v: serde_json::Value) -> Result<Object, DecodeError> {
                let kind = v
                    .get("kind")
                    .and_then(|k| k.as_str())
                    .ok_or(DecodeError::NoKind)?
                    .to_string();
                let err = |source| DecodeError::Json {
                    kind: kind.clone(),
                    source,
                };
                Ok(match kind.as_str() {
                    $(stringify!($variant) => Object::$variant(serde_json::from_value(v).map_err(err)?),)*
                    _ => return Err(DecodeError::UnknownKind(kind)),
                })
            }

            /// Decodes the rest of an object's map once its `kind` is known ([`de`]).
            fn from_map<'de, M: serde::de::MapAccess<'de>>(
                kind: &str,
                map: M,
            ) -> Result<Object, M::Error> {
                let d = serde::de::value::MapAccessDeserializer::new(map);
                Ok(match kind {
                    $(stringify!($variant) => Object::$variant(<$ty>::deserialize(d)?),)*
                    _ => {
                        return Err(serde::de::Error::custom(
                            DecodeError::UnknownKind(kind.to_string()),
                        ))
                    }
                })
            }
        }

        impl Serialize for Object {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Object::$variant(o) => o.serialize(s),)*
                }
            }
        }

        $(
            impl From<$ty> for Object {
                fn from(o: $ty) -> Self {
                    let mut o = Object::$variant(o);
                    o.set_type_meta();
                    o
                }
            }
        )*
    };
}

kinds! {
    Pod: Pod, "v1", "pods", "pod", namespaced = true, cli = ["pod", "pods", "po"];
    Deployment: Deployment, "apps/v1", "deployments", "deployment.apps", namespaced = true,
        cli = ["deployment", "deployments", "deploy", "deployment.apps", "deployments.apps"];
    ReplicaSet: ReplicaSet, "apps/v1", "replicasets", "replicaset.apps", namespaced = true,
        cli = ["replicaset", "replicasets", "rs", "replicaset.apps", "replicasets.apps"];
    DaemonSet: DaemonSet, "apps/v1", "daemonsets", "daemonset.apps", namespaced = true,
        cli = ["daemonset", "daemonsets", "ds", "daemonset.apps", "daemonsets.apps"];
    Job: Box<Job>, "batch/v1", "jobs", "job.batch", namespaced = true,
        cli = ["job", "jobs", "job.batch", "jobs.batch"];
    CronJob: Box<CronJob>, "batch/v1", "cronjobs", "cronjob.batch", namespaced = true,
        cli = ["cronjob", "cronjobs", "cj", "cronjob.batch", "cronjobs.batch"];
    Event: Event, "v1", "events", "event", namespaced = true, cli = ["event", "events", "ev"];
    Node: Node, "v1", "nodes", "node", namespaced = false, cli = ["node", "nodes", "no"];
    Secret: Secret, "v1", "secrets", "secret", namespaced = true, cli = ["secret", "secrets"];
    Namespace: Namespace, "v1", "namespaces", "namespace", namespaced = false,
        cli = ["namespace", "namespaces", "ns"];
    ConfigMap: ConfigMap, "v1", "configmaps", "configmap", namespaced = true,
        cli = ["configmap", "configmaps", "cm"];
    PersistentVolumeClaim: PersistentVolumeClaim, "v1", "persistentvolumeclaims",
        "persistentvolumeclaim", namespaced = true,
        cli = ["persistentvolumeclaim", "persistentvolumeclaims", "pvc"];
}

impl From<Job> for Object {
    fn from(o: Job) -> Self {
        Box::new(o).into()
    }
}

impl From<CronJob> for Object {
    fn from(o: CronJob) -> Self {
        Box::new(o).into()
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .or_else(|| Kind::parse_cli(s))
            .ok_or_else(|| format!("unknown kind {s:?}"))
    }
}

/// Why JSON could not be turned into an [`Object`].
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("object has no kind")]
    NoKind,
    #[error("unknown kind {0:?}")]
    UnknownKind(String),
    #[error("{kind}: {source}")]
    Json {
        kind: String,
        source: serde_json::Error,
    },
}

impl Object {
    pub fn meta(&self) -> &ObjectMeta {
        self.resource().metadata()
    }

    pub fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.resource_mut().metadata_mut()
    }

    /// `Pod default/web`: how errors and logs name an object.
    pub fn describe(&self) -> String {
        object_name(self.kind(), &self.meta().namespace, &self.meta().name)
    }

    /// Sets `apiVersion` and `kind` to the canonical values.
    pub fn set_type_meta(&mut self) {
        let kind = self.kind();
        let (api_version, k) = self.resource_mut().type_meta_mut();
        *api_version = kind.api_version().to_compact_string();
        *k = kind.as_str().to_compact_string();
    }

    /// The spec as JSON, to compare specs.
    pub fn spec_json(&self) -> serde_json::Value {
        self.resource().spec_value()
    }

    /// The status as JSON (`null` when none).
    pub fn status_json(&self) -> serde_json::Value {
        self.resource().status_value()
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain data structs to JSON cannot fail.
        serde_json::to_vec(self).expect("objects serialize to JSON")
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("objects serialize to JSON")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Object, DecodeError> {
        // One pass straight into the kind's type; on failure the slower path through a
        // `Value` gives the typed error (which kind, which field).
        if let Ok(o) = serde_json::from_slice(bytes) {
            return Ok(o);
        }
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Json {
                kind: "object".into(),
                source: e,
            })?;
        Object::from_value(v)
    }

    pub fn as_pod(&self) -> Option<&Pod> {
        match self {
            Object::Pod(p) => Some(p),
            _ => None,
        }
    }

    pub fn as_deployment(&self) -> Option<&Deployment> {
        match self {
            Object::Deployment(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_replica_set(&self) -> Option<&ReplicaSet> {
        match self {
            Object::ReplicaSet(r) => Some(r),
            _ => None,
        }
    }

    pub fn as_daemon_set(&self) -> Option<&DaemonSet> {
        match self {
            Object::DaemonSet(d) => Some(d),
            _ => None,
        }
    }

    pub fn as_job(&self) -> Option<&Job> {
        match self {
            Object::Job(j) => Some(j),
            _ => None,
        }
    }

    pub fn as_event(&self) -> Option<&Event> {
        match self {
            Object::Event(e) => Some(e),
            _ => None,
        }
    }

    pub fn as_cron_job(&self) -> Option<&CronJob> {
        match self {
            Object::CronJob(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_claim(&self) -> Option<&PersistentVolumeClaim> {
        match self {
            Object::PersistentVolumeClaim(c) => Some(c),
            _ => None,
        }
    }

    pub fn as_secret(&self) -> Option<&crate::secret::Secret> {
        match self {
            Object::Secret(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_node(&self) -> Option<&Node> {
        match self {
            Object::Node(n) => Some(n),
            _ => None,
        }
    }
}

/// `Pod default/web` or `Node n1`.
pub fn object_name(kind: Kind, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(de::ObjectVisitor)
    }
}
