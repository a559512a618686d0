//! Pod volumes and the containers' mounts of them, with Kubernetes' field names: `emptyDir`
//! (the pod's scratch space, on disk or in memory), `hostPath` (a path of the node, with its
//! `type` check), `configMap` and `secret` (an object's keys as files, updated in running
//! pods) and `persistentVolumeClaim` (a claim's local volume, on the node it is bound to).
use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::names;
use crate::quantity::Quantity;
use crate::validate::FieldError;

/// A volume of a pod: a name and exactly one source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    /// Scratch space that lives as long as the pod, shared by its containers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub empty_dir: Option<EmptyDir>,
    /// A file or directory of the node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_path: Option<HostPath>,
    /// A ConfigMap's keys as files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapVolume>,
    /// A Secret's keys as files (kept in memory on the node, never on its disk).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretVolume>,
    /// The local volume bound to a PersistentVolumeClaim.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent_volume_claim: Option<ClaimVolume>,
}

/// `emptyDir`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EmptyDir {
    /// `""` (the node's disk) or `Memory` (a tmpfs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub medium: Option<String>,
    /// For `Memory`: the tmpfs's size.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_limit: Option<Quantity>,
}

impl EmptyDir {
    pub fn in_memory(&self) -> bool {
        self.medium.as_deref() == Some("Memory")
    }
}

/// `hostPath`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HostPath {
    pub path: String,
    /// What must be there: `""` (no check), `DirectoryOrCreate`, `Directory`,
    /// `FileOrCreate`, `File`, `Socket`, `CharDevice`, `BlockDevice`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
}

/// The `type` values of a `hostPath`.
pub const HOST_PATH_TYPES: [&str; 8] = [
    "",
    "DirectoryOrCreate",
    "Directory",
    "FileOrCreate",
    "File",
    "Socket",
    "CharDevice",
    "BlockDevice",
];

/// One key of a ConfigMap or Secret as a file at `path` (relative).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyToPath {
    pub key: String,
    pub path: String,
    /// The file's mode (octal in YAML: `0400`), instead of `defaultMode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<i32>,
}

/// `configMap`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapVolume {
    pub name: String,
    /// Only these keys, at these paths (default: every key, named after it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    /// Mode of the files (default `0644`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    /// Start the pod without it (an empty directory) when it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `secret`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretVolume {
    pub secret_name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyToPath>,
    /// Mode of the files (default `0644`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_mode: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub optional: Option<bool>,
}

/// `persistentVolumeClaim`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimVolume {
    pub claim_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A container's mount of one of the pod's volumes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VolumeMount {
    /// The volume's name.
    pub name: String,
    /// Where in the container (absolute).
    pub mount_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// A path inside the volume to mount instead of its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
}

/// Default mode of configMap and secret files.
pub const DEFAULT_FILE_MODE: i32 = 0o644;

/// Checks the pod's volumes (`path` is `spec`).
pub fn validate_volumes(volumes: &[Volume], path: &str, errs: &mut Vec<FieldError>) {
    let mut names = BTreeSet::new();
    for (i, v) in volumes.iter().enumerate() {
        let p = format!("{path}.volumes[{i}]");
        if v.name.is_empty() {
            errs.push(FieldError::required(format!("{p}.name")));
        } else if let Err(rule) = names::validate_dns1123_label(&v.name) {
            errs.push(FieldError::invalid(format!("{p}.name"), &v.name, rule));
        } else if !names.insert(v.name.as_str()) {
            errs.push(FieldError::duplicate(format!("{p}.name"), &v.name));
        }
        let sources = [
            v.empty_dir.is_some(),
            v.host_path.is_some(),
            v.config_map.is_some(),
            v.secret.is_some(),
            v.persistent_volume_claim.is_some(),
        ]
        .iter()
        .filter(|s| **s)
        .count();
        match sources {
            0 => errs.push(FieldError::required(format!(
                "{p}: must specify a volume type (emptyDir, hostPath, configMap, secret or persistentVolumeClaim; Bosun has no other)"
            ))),
            1 => {}
            _ => errs.push(FieldError::forbidden(
                &p,
                "may not specify more than 1 volume type",
            )),
        }
        if let Some(e) = &v.empty_dir {
            if let Some(m) = e
                .medium
                .as_deref()
                .filter(|m| !m.is_empty() && *m != "Memory")
            {
                errs.push(FieldError::unsupported(
                    format!("{p}.emptyDir.medium"),
                    m,
                    &["", "Memory"],
                ));
            }
        }
        if let Some(h) = &v.host_path {
            if !h.path.starts_with('/') {
                errs.push(FieldError::invalid(
                    format!("{p}.hostPath.path"),
                    &h.path,
                    "must be an absolute path",
                ));
            }
            if let Some(t) = h.type_.as_deref().filter(|t| !HOST_PATH_TYPES.contains(t)) {
                errs.push(FieldError::unsupported(
                    format!("{p}.hostPath.type"),
                    t,
                    &HOST_PATH_TYPES[1..],
                ));
            }
        }
        if let Some(c) = &v.config_map {
            if c.name.is_empty() {
                errs.push(FieldError::required(format!("{p}.configMap.name")));
            }
            validate_items(&c.items, c.default_mode, &format!("{p}.configMap"), errs);
        }
        if let Some(s) = &v.secret {
            if s.secret_name.is_empty() {
                errs.push(FieldError::required(format!("{p}.secret.secretName")));
            }
            validate_items(&s.items, s.default_mode, &format!("{p}.secret"), errs);
        }
        if let Some(c) = &v.persistent_volume_claim {
            if c.claim_name.is_empty() {
                errs.push(FieldError::required(format!(
                    "{p}.persistentVolumeClaim.claimName"
                )));
            }
        }
    }
}

fn validate_items(items: &[KeyToPath], mode: Option<i32>, path: &str, errs: &mut Vec<FieldError>) {
    let valid_mode = |m: i32| (0..=0o777).contains(&m);
    if let Some(m) = mode.filter(|m| !valid_mode(*m)) {
        errs.push(FieldError::invalid(
            format!("{path}.defaultMode"),
            m,
            "must be a number between 0 and 0777 (octal), both inclusive",
        ));
    }
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}.items[{i}]");
        if item.key.is_empty() {
            errs.push(FieldError::required(format!("{p}.key")));
        }
        if let Err(rule) = relative_path(&item.path) {
            errs.push(FieldError::invalid(format!("{p}.path"), &item.path, rule));
        }
        if let Some(m) = item.mode.filter(|m| !valid_mode(*m)) {
            errs.push(FieldError::invalid(
                format!("{p}.mode"),
                m,
                "must be a number between 0 and 0777 (octal), both inclusive",
            ));
        }
    }
}

/// A path that stays inside its volume: relative, no `..` element, not empty.
pub fn relative_path(p: &str) -> Result<(), &'static str> {
    if p.is_empty() {
        return Err("must not be empty");
    }
    if p.starts_with('/') {
        return Err("must be a relative path");
    }
    if p.split('/').any(|e| e == "..") {
        return Err("must not contain '..'");
    }
    Ok(())
}

/// Checks a container's mounts against the pod's volumes (`path` is `...containers[i]`).
pub fn validate_mounts(
    mounts: &[VolumeMount],
    volumes: &[Volume],
    path: &str,
    errs: &mut Vec<FieldError>,
) {
    let mut targets = BTreeSet::new();
    for (i, m) in mounts.iter().enumerate() {
        let p = format!("{path}.volumeMounts[{i}]");
        if m.name.is_empty() {
            errs.push(FieldError::required(format!("{p}.name")));
        } else if !volumes.iter().any(|v| v.name == m.name) {
            errs.push(FieldError::new(
                format!("{p}.name"),
                format!("Not found: {:?}", m.name),
            ));
        }
        if !m.mount_path.starts_with('/') {
            errs.push(FieldError::invalid(
                format!("{p}.mountPath"),
                &m.mount_path,
                "must be an absolute path",
            ));
        } else if !targets.insert(m.mount_path.trim_end_matches('/')) {
            errs.push(FieldError::invalid(
                format!("{p}.mountPath"),
                &m.mount_path,
                "must be unique",
            ));
        }
        if let Some(sub) = m.sub_path.as_deref().filter(|s| !s.is_empty()) {
            if let Err(rule) = relative_path(sub) {
                errs.push(FieldError::invalid(format!("{p}.subPath"), sub, rule));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(errs: &[FieldError]) -> Vec<String> {
        errs.iter().map(|e| e.to_string()).collect()
    }

    #[test]
    fn volumes_need_one_known_source_and_safe_paths() {
        let vols = vec![
            Volume {
                name: "a".into(),
                ..Default::default()
            },
            Volume {
                name: "b".into(),
                host_path: Some(HostPath {
                    path: "rel".into(),
                    type_: Some("Dir".into()),
                }),
                ..Default::default()
            },
            Volume {
                name: "c".into(),
                config_map: Some(ConfigMapVolume {
                    name: "cm".into(),
                    items: vec![KeyToPath {
                        key: "k".into(),
                        path: "../x".into(),
                        mode: None,
                    }],
                    default_mode: Some(0o1000),
                    optional: None,
                }),
                ..Default::default()
            },
        ];
        let mut errs = Vec::new();
        validate_volumes(&vols, "spec", &mut errs);
        let t = text(&errs);
        assert!(
            t[0].starts_with("spec.volumes[0]: must specify a volume type"),
            "{t:?}"
        );
        assert!(
            t[1].starts_with("spec.volumes[1].hostPath.path: Invalid value"),
            "{t:?}"
        );
        assert!(
            t[2].starts_with("spec.volumes[1].hostPath.type: Unsupported value: \"Dir\""),
            "{t:?}"
        );
        assert!(
            t[3].starts_with("spec.volumes[2].configMap.defaultMode: Invalid value: 512"),
            "{t:?}"
        );
        assert!(
            t[4].contains("items[0].path: Invalid value: \"../x\": must not contain '..'"),
            "{t:?}"
        );
        let mounts = vec![
            VolumeMount {
                name: "nope".into(),
                mount_path: "data".into(),
                ..Default::default()
            },
            VolumeMount {
                name: "a".into(),
                mount_path: "/x".into(),
                sub_path: Some("/abs".into()),
                ..Default::default()
            },
        ];
        let mut errs = Vec::new();
        validate_mounts(&mounts, &vols, "spec.containers[0]", &mut errs);
        assert_eq!(
            text(&errs),
            [
                "spec.containers[0].volumeMounts[0].name: Not found: \"nope\"",
                "spec.containers[0].volumeMounts[0].mountPath: Invalid value: \"data\": must be an absolute path",
                "spec.containers[0].volumeMounts[1].subPath: Invalid value: \"/abs\": must be a relative path",
            ]
        );
    }
}
