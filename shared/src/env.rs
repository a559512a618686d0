//! Environment of a container, as Kubernetes writes it: literal `env` values, values taken
//! from a ConfigMap or Secret key or from the pod itself (`valueFrom`), and whole ConfigMaps
//! or Secrets (`envFrom`). The agent resolves them when it creates the container.
use serde::{Deserialize, Serialize};

use crate::validate::FieldError;

/// An environment variable: a literal `value`, or one taken from elsewhere (`valueFrom`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvVar {
    pub name: String,
    #[serde(default)]
    pub value: String,
    /// Where the value comes from instead of `value`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<Box<EnvVarSource>>,
}

/// The source of one variable's value: exactly one of these.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvVarSource {
    /// A key of a ConfigMap in the pod's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_key_ref: Option<KeyRef>,
    /// A key of a Secret in the pod's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_key_ref: Option<KeyRef>,
    /// A field of the pod: `metadata.name`, `metadata.namespace`, `metadata.uid`,
    /// `spec.nodeName`, `metadata.labels['KEY']` or `metadata.annotations['KEY']`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field_ref: Option<FieldRef>,
}

/// A key of a ConfigMap or Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    /// The object's name.
    pub name: String,
    pub key: String,
    /// Leave the variable unset, rather than fail to start, when the object or key is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// A field of the pod, by path.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    pub field_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
}

/// Every key of a ConfigMap or Secret as variables, optionally prefixed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvFromSource {
    /// Put before each key's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ObjectRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<ObjectRef>,
}

/// A ConfigMap or Secret by name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub name: String,
    /// Start the container without it when it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// The pod fields `fieldRef` can name.
pub const FIELD_PATHS: [&str; 4] = [
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "spec.nodeName",
];

/// Checks one `valueFrom` (`path` is `...env[i].valueFrom`).
pub fn validate_source(s: &EnvVarSource, path: &str, errs: &mut Vec<FieldError>) {
    let set = [
        s.config_map_key_ref.is_some(),
        s.secret_key_ref.is_some(),
        s.field_ref.is_some(),
    ]
    .iter()
    .filter(|b| **b)
    .count();
    if set != 1 {
        errs.push(FieldError::new(
            path,
            "must specify exactly one of configMapKeyRef, secretKeyRef or fieldRef",
        ));
    }
    for (field, r) in [
        ("configMapKeyRef", &s.config_map_key_ref),
        ("secretKeyRef", &s.secret_key_ref),
    ] {
        if let Some(r) = r {
            if r.name.is_empty() {
                errs.push(FieldError::required(format!("{path}.{field}.name")));
            }
            if r.key.is_empty() {
                errs.push(FieldError::required(format!("{path}.{field}.key")));
            }
        }
    }
    if let Some(f) = &s.field_ref {
        let ok = FIELD_PATHS.contains(&f.field_path.as_str())
            || label_or_annotation(&f.field_path).is_some();
        if !ok {
            errs.push(FieldError::unsupported(
                format!("{path}.fieldRef.fieldPath"),
                &f.field_path,
                &[
                    "metadata.name",
                    "metadata.namespace",
                    "metadata.uid",
                    "spec.nodeName",
                    "metadata.labels['KEY']",
                    "metadata.annotations['KEY']",
                ],
            ));
        }
    }
}

/// Checks one `envFrom` entry (`path` is `...envFrom[i]`).
pub fn validate_from(s: &EnvFromSource, path: &str, errs: &mut Vec<FieldError>) {
    match (&s.config_map_ref, &s.secret_ref) {
        (Some(r), None) | (None, Some(r)) => {
            if r.name.is_empty() {
                let field = if s.config_map_ref.is_some() {
                    "configMapRef"
                } else {
                    "secretRef"
                };
                errs.push(FieldError::required(format!("{path}.{field}.name")));
            }
        }
        _ => errs.push(FieldError::new(
            path,
            "must specify exactly one of configMapRef or secretRef",
        )),
    }
}

/// `metadata.labels['KEY']` -> (`labels`, `KEY`); the same for annotations.
pub fn label_or_annotation(path: &str) -> Option<(&str, &str)> {
    for map in ["labels", "annotations"] {
        if let Some(rest) = path.strip_prefix(&format!("metadata.{map}[")) {
            let key = rest
                .strip_suffix(']')?
                .trim_matches(|c| c == '\'' || c == '"');
            return Some((map, key));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_need_exactly_one_kind_and_their_names() {
        let mut errs = Vec::new();
        validate_source(&EnvVarSource::default(), "env[0].valueFrom", &mut errs);
        assert!(errs[0].to_string().contains("exactly one"), "{errs:?}");
        let mut errs = Vec::new();
        let s = EnvVarSource {
            secret_key_ref: Some(KeyRef::default()),
            ..Default::default()
        };
        validate_source(&s, "env[0].valueFrom", &mut errs);
        let text: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        assert_eq!(
            text,
            [
                "env[0].valueFrom.secretKeyRef.name: Required value",
                "env[0].valueFrom.secretKeyRef.key: Required value"
            ]
        );
        assert_eq!(
            label_or_annotation("metadata.labels['app']"),
            Some(("labels", "app"))
        );
        let mut errs = Vec::new();
        let s = EnvVarSource {
            field_ref: Some(FieldRef {
                field_path: "status.podIP".into(),
                api_version: None,
            }),
            ..Default::default()
        };
        validate_source(&s, "v", &mut errs);
        assert!(
            errs[0]
                .to_string()
                .starts_with("v.fieldRef.fieldPath: Unsupported value"),
            "{errs:?}"
        );
    }
}
