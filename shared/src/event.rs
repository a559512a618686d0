//! [`Event`]: something that happened to an object (core `v1` Event, Kubernetes' field names):
//! a pod scheduled or not, an image pulled, a container started, crashed or killed by a probe,
//! a pod created by its controller or evicted from a node.
//!
//! Events are recorded by the master (`master::events`), counted when the same thing happens
//! again (`count`, `lastTimestamp`), and kept bounded; `bosun get events` lists them and
//! `bosun describe` ends with those of the object described.
use compact_str::CompactString;

use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::object::Resource;
use crate::Object;

/// `type` of an event that is part of normal operation.
pub const NORMAL: &str = "Normal";
/// `type` of an event that says something went wrong.
pub const WARNING: &str = "Warning";

/// An Event, as in Kubernetes' core `v1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// The object the event is about.
    #[serde(default)]
    pub involved_object: ObjectReference,
    /// Short, CamelCase: `Scheduled`, `FailedScheduling`, `Pulling`, `Started`, `BackOff`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reason: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Who reported it.
    #[serde(default)]
    pub source: EventSource,
    /// RFC 3339 time it first and last happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_timestamp: Option<String>,
    /// How many times it happened.
    #[serde(default)]
    pub count: i32,
    /// [`NORMAL`] or [`WARNING`].
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
}

/// Which object an event is about.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "camelCase")]
pub struct ObjectReference {
    #[serde(default)]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uid: String,
    /// The part of the object: `spec.containers{web}`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub field_path: String,
}

/// The component (and machine) that reported an event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventSource {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub component: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub host: String,
}

impl ObjectReference {
    /// A reference to `obj`.
    pub fn to(obj: &Object) -> Self {
        let m = obj.meta();
        ObjectReference {
            kind: obj.kind().as_str().to_string(),
            namespace: m.namespace.to_string(),
            name: m.name.to_string(),
            uid: m.uid.to_string(),
            field_path: String::new(),
        }
    }
}

impl Event {
    /// A new event about `involved`, reported by `component` (the caller stamps names and
    /// times when it records it).
    pub fn about(
        involved: ObjectReference,
        type_: &str,
        reason: &str,
        message: impl Into<String>,
        component: &str,
    ) -> Self {
        Event {
            involved_object: involved,
            type_: type_.into(),
            reason: reason.into(),
            message: message.into(),
            source: EventSource {
                component: component.into(),
                host: String::new(),
            },
            count: 1,
            ..Default::default()
        }
    }

    /// `pod/web-7d9f`, as kubectl's OBJECT column shows it.
    pub fn object_column(&self) -> String {
        let o = &self.involved_object;
        format!("{}/{}", o.kind.to_ascii_lowercase(), o.name)
    }
}

/// An event has no spec or status: it is replaced whole.
impl Resource for Event {
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
        serde_json::Value::Null
    }
    fn status_value(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    fn take_status(&mut self, _other: &Self) {}
}
