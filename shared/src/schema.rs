//! JSON Schemas of the kinds, generated from the same types the API decodes (schemars reads
//! their serde attributes and doc comments): what `bosun explain` prints and what
//! `docs/schema/` publishes for editors. Types serialized by hand describe themselves here.
use std::borrow::Cow;

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::Value;

use crate::Kind;

/// The schema of `kind`'s objects (draft 2020-12, definitions under `$defs`).
pub fn of_kind(kind: Kind) -> Value {
    use crate::*;
    let schema = match kind {
        Kind::Pod => schemars::schema_for!(pod::Pod),
        Kind::Deployment => schemars::schema_for!(deployment::Deployment),
        Kind::ReplicaSet => schemars::schema_for!(replicaset::ReplicaSet),
        Kind::DaemonSet => schemars::schema_for!(daemonset::DaemonSet),
        Kind::Job => schemars::schema_for!(job::Job),
        Kind::CronJob => schemars::schema_for!(cronjob::CronJob),
        Kind::Event => schemars::schema_for!(event::Event),
        Kind::Node => schemars::schema_for!(node::Node),
        Kind::Secret => schemars::schema_for!(secret::Secret),
        Kind::Namespace => schemars::schema_for!(namespace::Namespace),
        Kind::ConfigMap => schemars::schema_for!(configmap::ConfigMap),
        Kind::PersistentVolumeClaim => schemars::schema_for!(pvc::PersistentVolumeClaim),
    };
    let mut v = schema.to_value();
    if let Some(props) = v.get_mut("properties").and_then(Value::as_object_mut) {
        // What a manifest of this kind must say.
        props.insert("apiVersion".into(), serde_json::json!({"const": kind.api_version(), "description": "The API version of the kind."}));
        props.insert(
            "kind".into(),
            serde_json::json!({"const": kind.as_str(), "description": "The kind of object."}),
        );
    }
    if let Some(o) = v.as_object_mut() {
        o.insert(
            "required".into(),
            serde_json::json!(["apiVersion", "kind", "metadata"]),
        );
    }
    v
}

/// A value written as an integer or a string (`8080` or `"http"`, `1` or `"25%"`).
pub(crate) fn int_or_string(description: &str) -> Schema {
    json_schema!({
        "description": description,
        "type": ["integer", "string"],
    })
}

impl JsonSchema for crate::quantity::Quantity {
    fn schema_name() -> Cow<'static, str> {
        "Quantity".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        int_or_string("A quantity: `500m` or `2` CPUs, `128Mi` or `1G` bytes.")
    }
}

impl JsonSchema for crate::strategy::IntOrPercent {
    fn schema_name() -> Cow<'static, str> {
        "IntOrPercent".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        int_or_string("A number of pods, or a percentage of them (`25%`).")
    }
}

impl JsonSchema for crate::probe::ProbePort {
    fn schema_name() -> Cow<'static, str> {
        "ProbePort".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        int_or_string("A port number, or the name of a port of the container.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_schema_with_its_fields_and_docs() {
        for kind in Kind::ALL {
            let s = of_kind(kind);
            assert_eq!(s["properties"]["kind"]["const"], kind.as_str(), "{kind}");
            assert!(s["properties"]["metadata"].is_object(), "{kind}: {s}");
        }
        let pod = of_kind(Kind::Pod);
        let text = pod.to_string();
        assert!(text.contains("\"restartPolicy\""), "{text}");
        assert!(text.contains("\"terminationGracePeriodSeconds\""), "{text}");
        assert!(
            pod["$defs"]["Container"]["properties"]["image"].is_object(),
            "{pod}"
        );
    }
}
