//! A map of keys to bytes written as base64 text, as Kubernetes writes a Secret's `data` and
//! a ConfigMap's `binaryData`: `#[serde(with = "crate::base64_map")]`.
use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Deserializer, Serializer};

pub fn serialize<S: Serializer>(data: &BTreeMap<String, Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(data.iter().map(|(k, v)| (k, STANDARD.encode(v))))
}

/// Errors name the key whose value is not base64.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, Vec<u8>>, D::Error> {
    let text = BTreeMap::<String, String>::deserialize(d)?;
    text.into_iter()
        .map(|(k, v)| {
            STANDARD
                .decode(v.trim())
                .map(|bytes| (k.clone(), bytes))
                .map_err(|e| serde::de::Error::custom(format!("{k}: not base64: {e}")))
        })
        .collect()
}
