//! [`Secret`]: core `v1` Secret, with Kubernetes' field names: `type`, `data` (base64 in
//! JSON and YAML, bytes here), `stringData` (plain text, merged into `data` when stored) and
//! `immutable`. Bosun keeps its own in the `bosun-system` namespace: the cluster CA and the
//! join tokens (only hashes of their secrets).
use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize, Serializer};

use crate::meta::ObjectMeta;
use crate::object::Resource;
use crate::validate::FieldError;

/// Namespace of the secrets Bosun keeps for itself.
pub const SYSTEM_NAMESPACE: &str = "bosun-system";
/// `type` of a secret without a declared type.
pub const OPAQUE: &str = "Opaque";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub type_: String,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        with = "crate::base64_map"
    )]
    #[schemars(with = "BTreeMap<String, String>")]
    pub data: BTreeMap<String, Vec<u8>>,
    /// Write-only convenience: merged into `data` (winning over it) before storing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub string_data: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immutable: Option<bool>,
    /// `data` encrypted with the cluster's data key: what the masters' log, store and
    /// snapshots hold instead of `data` (never set in what the API serves).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub sealed: Option<crate::seal::Sealed>,
}

impl Secret {
    /// A secret of `type_` in `namespace`.
    pub fn new(namespace: &str, name: &str, type_: &str) -> Secret {
        let mut s = Secret {
            api_version: "v1".into(),
            kind: "Secret".into(),
            type_: type_.into(),
            ..Default::default()
        };
        s.metadata.namespace = namespace.into();
        s.metadata.name = name.into();
        s
    }

    /// Moves `stringData` into `data`, as the API server does before storing.
    pub fn merge_string_data(&mut self) {
        for (k, v) in std::mem::take(&mut self.string_data) {
            self.data.insert(k, v.into_bytes());
        }
    }

    /// `namespace/name`: what a sealed value is bound to.
    fn seal_aad(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }

    /// This secret with `data` (and `stringData`) replaced by their encryption under the
    /// keyring's current key.
    pub fn sealed_with(
        &self,
        keys: &crate::seal::Keyring,
    ) -> Result<Secret, crate::seal::SealError> {
        let mut data = self.data.clone();
        for (k, v) in &self.string_data {
            data.insert(k.clone(), v.clone().into_bytes());
        }
        let mut out = self.clone();
        out.sealed = Some(keys.seal(&self.seal_aad(), &data)?);
        out.data.clear();
        out.string_data.clear();
        Ok(out)
    }

    /// Decrypts a sealed secret's `data` in place (nothing to do if it is not sealed).
    pub fn unseal_with(
        &mut self,
        keys: &crate::seal::Keyring,
    ) -> Result<(), crate::seal::SealError> {
        if let Some(sealed) = self.sealed.take() {
            self.data = keys.unseal(&self.seal_aad(), &sealed)?;
        }
        Ok(())
    }

    /// A value as text (`None` if missing or not UTF-8).
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn set_text(&mut self, key: &str, value: impl Into<String>) {
        self.data.insert(key.to_string(), value.into().into_bytes());
    }
}

impl Resource for Secret {
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
        // What a change of the secret is measured by.
        serde_json::json!({
            "type": self.type_,
            "data": serde_json::to_value(SerializeData(&self.data)).unwrap_or_default(),
            "stringData": self.string_data,
            "immutable": self.immutable,
        })
    }
    fn status_value(&self) -> serde_json::Value {
        serde_json::Value::Null
    }
    fn take_status(&mut self, _other: &Self) {}
}

struct SerializeData<'a>(&'a BTreeMap<String, Vec<u8>>);

impl Serialize for SerializeData<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        crate::base64_map::serialize(self.0, s)
    }
}

/// A key of a Secret or ConfigMap: letters, digits, `-`, `_`, `.`, at most 253 (it becomes a
/// file name in volumes, so `.` and `..` are refused too).
pub fn validate_key(k: &str) -> Result<(), &'static str> {
    let ok = !k.is_empty()
        && k.len() <= 253
        && k != "."
        && k != ".."
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err("a valid config key must consist of alphanumeric characters, '-', '_' or '.'")
    }
}

/// Keys of `data` and `stringData` are what Kubernetes accepts: letters, digits, `-`, `_`, `.`.
pub fn validate_secret(s: &Secret, errs: &mut Vec<FieldError>) {
    for (field, keys) in [
        ("data", s.data.keys().collect::<Vec<_>>()),
        ("stringData", s.string_data.keys().collect()),
    ] {
        for k in keys {
            if let Err(rule) = validate_key(k) {
                errs.push(FieldError::invalid(format!("{field}[{k}]"), k, rule));
            }
        }
    }
    if s.type_ == crate::registry_auth::DOCKER_CONFIG_JSON {
        let mut checked = s.clone();
        checked.merge_string_data();
        if let Err(e) = crate::registry_auth::validate(&checked) {
            errs.push(FieldError::new("", e));
        }
    }
    let size: usize = s.data.values().map(Vec::len).sum::<usize>()
        + s.string_data.values().map(String::len).sum::<usize>();
    if size > MAX_BYTES {
        errs.push(FieldError::invalid(
            "data",
            format!("{size} bytes"),
            "a secret holds at most 1 MiB",
        ));
    }
}

/// Largest secret, as in Kubernetes.
pub const MAX_BYTES: usize = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_base64_in_json_and_string_data_merges() {
        let json = r#"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque",
            "data":{"a":"aGVsbG8="},"stringData":{"b":"world"}}"#;
        let mut s: Secret = serde_json::from_str(json).unwrap();
        assert_eq!(s.text("a"), Some("hello"));
        s.merge_string_data();
        assert_eq!(s.text("b"), Some("world"));
        let back = serde_json::to_value(&s).unwrap();
        assert_eq!(back["data"]["b"], "d29ybGQ=");
        assert!(back.get("stringData").is_none());

        let bad = r#"{"metadata":{"name":"s"},"data":{"a":"%%%"}}"#;
        let e = serde_json::from_str::<Secret>(bad).unwrap_err().to_string();
        assert!(e.contains("a: not base64"), "{e}");

        let mut errs = Vec::new();
        s.data.insert("no/slash".into(), vec![]);
        validate_secret(&s, &mut errs);
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].to_string().contains("data[no/slash]"),
            "{}",
            errs[0]
        );
    }
}
