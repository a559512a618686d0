//! [`ConfigMap`]: core `v1` ConfigMap: configuration kept in the cluster (`data` as text,
//! `binaryData` base64), used by pods as environment variables or files.
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::meta::ObjectMeta;
use crate::object::Resource;
use crate::validate::FieldError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMap {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    /// Text values by key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, String>,
    /// Binary values by key (base64 in JSON and YAML).
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "crate::base64_map"
    )]
    #[schemars(with = "BTreeMap<String, String>")]
    pub binary_data: BTreeMap<String, Vec<u8>>,
    /// Refuse changes once created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
}

impl ConfigMap {
    pub fn new(namespace: &str, name: &str) -> ConfigMap {
        let mut c = ConfigMap {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            ..Default::default()
        };
        c.metadata.namespace = namespace.into();
        c.metadata.name = name.into();
        c
    }

    /// Every key's value as bytes (text and binary).
    pub fn values(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out: BTreeMap<String, Vec<u8>> = self
            .data
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into_bytes()))
            .collect();
        out.extend(self.binary_data.clone());
        out
    }
}

impl Resource for ConfigMap {
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
        serde_json::json!({
            "data": self.data,
            "binaryData": self.binary_data.iter().map(|(k, v)| (k.clone(), STANDARD.encode(v))).collect::<BTreeMap<_, _>>(),
            "immutable": self.immutable,
        })
    }
    fn status_value(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    fn take_status(&mut self, _other: &Self) {}
}

/// Keys are what Kubernetes accepts (letters, digits, `-`, `_`, `.`), in one of the two maps.
pub fn validate_config_map(c: &ConfigMap, errs: &mut Vec<FieldError>) {
    for (field, keys) in [
        ("data", c.data.keys().collect::<Vec<_>>()),
        ("binaryData", c.binary_data.keys().collect()),
    ] {
        for k in keys {
            if let Err(rule) = crate::secret::validate_key(k) {
                errs.push(FieldError::invalid(format!("{field}[{k}]"), k, rule));
            }
        }
    }
    for k in c.data.keys().filter(|k| c.binary_data.contains_key(*k)) {
        errs.push(FieldError::invalid(
            format!("binaryData[{k}]"),
            k,
            "duplicate of key present in data",
        ));
    }
}
