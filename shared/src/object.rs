//! [`Object`]: any stored object, and [`Kind`]: which kinds Bosun knows.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::deployment::Deployment;
use crate::meta::ObjectMeta;
use crate::node::Node;
use crate::pod::Pod;

/// The kinds of object Bosun stores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    Pod,
    Deployment,
    Node,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Pod, Kind::Deployment, Kind::Node];

    /// `Pod`, as manifests spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Pod => "Pod",
            Kind::Deployment => "Deployment",
            Kind::Node => "Node",
        }
    }

    /// The `apiVersion` of the kind.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::Pod | Kind::Node => "v1",
            Kind::Deployment => "apps/v1",
        }
    }

    /// `pods`, `deployments`, `nodes`.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::Pod => "pods",
            Kind::Deployment => "deployments",
            Kind::Node => "nodes",
        }
    }

    /// `pod`, `deployment.apps`, `node`: how kubectl names the kind in its messages.
    pub fn resource_name(self) -> &'static str {
        match self {
            Kind::Pod => "pod",
            Kind::Deployment => "deployment.apps",
            Kind::Node => "node",
        }
    }

    /// Namespaced kinds live in a namespace; nodes do not.
    pub fn namespaced(self) -> bool {
        !matches!(self, Kind::Node)
    }

    /// Parses the names kubectl accepts: `pods`, `pod`, `po`, `Pod`, `deploy`, `deployment.apps`, ...
    pub fn parse_cli(s: &str) -> Option<Kind> {
        match s.to_ascii_lowercase().as_str() {
            "pod" | "pods" | "po" => Some(Kind::Pod),
            "deployment" | "deployments" | "deploy" | "deployment.apps" | "deployments.apps" => {
                Some(Kind::Deployment)
            }
            "node" | "nodes" | "no" => Some(Kind::Node),
            _ => None,
        }
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

/// Any object the store holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Object {
    Pod(Pod),
    Deployment(Deployment),
    Node(Node),
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
    pub fn kind(&self) -> Kind {
        match self {
            Object::Pod(_) => Kind::Pod,
            Object::Deployment(_) => Kind::Deployment,
            Object::Node(_) => Kind::Node,
        }
    }

    pub fn meta(&self) -> &ObjectMeta {
        match self {
            Object::Pod(o) => &o.metadata,
            Object::Deployment(o) => &o.metadata,
            Object::Node(o) => &o.metadata,
        }
    }

    pub fn meta_mut(&mut self) -> &mut ObjectMeta {
        match self {
            Object::Pod(o) => &mut o.metadata,
            Object::Deployment(o) => &mut o.metadata,
            Object::Node(o) => &mut o.metadata,
        }
    }

    /// `Pod default/web`: how errors and logs name an object.
    pub fn describe(&self) -> String {
        object_name(self.kind(), &self.meta().namespace, &self.meta().name)
    }

    /// Sets `apiVersion` and `kind` to the canonical values.
    pub fn set_type_meta(&mut self) {
        let (k, v) = (
            self.kind().as_str().to_string(),
            self.kind().api_version().to_string(),
        );
        match self {
            Object::Pod(o) => (o.kind, o.api_version) = (k, v),
            Object::Deployment(o) => (o.kind, o.api_version) = (k, v),
            Object::Node(o) => (o.kind, o.api_version) = (k, v),
        }
    }

    /// The spec as JSON, to compare specs.
    pub fn spec_json(&self) -> serde_json::Value {
        match self {
            Object::Pod(o) => serde_json::to_value(&o.spec),
            Object::Deployment(o) => serde_json::to_value(&o.spec),
            Object::Node(o) => serde_json::to_value(&o.spec),
        }
        .unwrap_or_default()
    }

    /// The status as JSON (`null` when none).
    pub fn status_json(&self) -> serde_json::Value {
        match self {
            Object::Pod(o) => serde_json::to_value(&o.status),
            Object::Deployment(o) => serde_json::to_value(&o.status),
            Object::Node(o) => serde_json::to_value(&o.status),
        }
        .unwrap_or_default()
    }

    /// Replaces this object's status with `other`'s (same kind), returning false on kind mismatch.
    pub fn take_status_from(&mut self, other: &Object) -> bool {
        match (self, other) {
            (Object::Pod(a), Object::Pod(b)) => a.status = b.status.clone(),
            (Object::Deployment(a), Object::Deployment(b)) => a.status = b.status.clone(),
            (Object::Node(a), Object::Node(b)) => a.status = b.status.clone(),
            _ => return false,
        }
        true
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Serializing plain data structs to JSON cannot fail.
        serde_json::to_vec(self).expect("objects serialize to JSON")
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("objects serialize to JSON")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Object, DecodeError> {
        let v: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Json {
                kind: "object".into(),
                source: e,
            })?;
        Object::from_value(v)
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
            "Pod" => Object::Pod(serde_json::from_value(v).map_err(err)?),
            "Deployment" => Object::Deployment(serde_json::from_value(v).map_err(err)?),
            "Node" => Object::Node(serde_json::from_value(v).map_err(err)?),
            _ => return Err(DecodeError::UnknownKind(kind)),
        })
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

impl Serialize for Object {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Object::Pod(o) => o.serialize(s),
            Object::Deployment(o) => o.serialize(s),
            Object::Node(o) => o.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        Object::from_value(v).map_err(serde::de::Error::custom)
    }
}

impl From<Pod> for Object {
    fn from(p: Pod) -> Self {
        let mut o = Object::Pod(p);
        o.set_type_meta();
        o
    }
}

impl From<Deployment> for Object {
    fn from(d: Deployment) -> Self {
        let mut o = Object::Deployment(d);
        o.set_type_meta();
        o
    }
}

impl From<Node> for Object {
    fn from(n: Node) -> Self {
        let mut o = Object::Node(n);
        o.set_type_meta();
        o
    }
}
