//! A container's environment, resolved when it is created: `envFrom` first (in order), then
//! `env` (which wins), as the kubelet does. Values come from the pod's ConfigMaps and Secrets
//! as the node received them, and from the pod itself (`fieldRef`).
use bosun_shared::env::{label_or_annotation, EnvVarSource};
use bosun_shared::pod::{Container, Pod};
use bosun_shared::Kind;

use crate::assigned_config::AssignedConfig;

/// The variables, or why the container cannot start (kubelet's `CreateContainerConfigError`
/// messages).
pub fn resolve(
    pod: &Pod,
    c: &Container,
    node: &str,
    config: &AssignedConfig,
) -> Result<Vec<(String, String)>, String> {
    let ns = &pod.metadata.namespace;
    let mut vars: Vec<(String, String)> = Vec::new();
    let set = |vars: &mut Vec<(String, String)>, k: String, v: String| {
        vars.retain(|(n, _)| *n != k);
        vars.push((k, v));
    };
    for from in &c.env_from {
        let (kind, r) = match (&from.config_map_ref, &from.secret_ref) {
            (Some(r), _) => (Kind::ConfigMap, r),
            (None, Some(r)) => (Kind::Secret, r),
            (None, None) => continue,
        };
        let Some(values) = config.values(kind, ns, &r.name) else {
            if r.optional == Some(true) {
                continue;
            }
            return Err(missing(kind, &r.name));
        };
        let prefix = from.prefix.as_deref().unwrap_or_default();
        for (k, v) in values {
            let name = format!("{prefix}{k}");
            // Keys that are not valid variable names are skipped, as the kubelet does.
            if bosun_shared::names::validate_env_var_name(&name).is_ok() {
                set(&mut vars, name, String::from_utf8_lossy(&v).into_owned());
            }
        }
    }
    for e in &c.env {
        let value = match e.value_from.as_deref() {
            None => Some(e.value.clone()),
            Some(src) => from_source(pod, node, src, config)?,
        };
        if let Some(v) = value {
            set(&mut vars, e.name.clone(), v);
        }
    }
    Ok(vars)
}

/// `None`: an optional reference that is missing (the variable stays unset).
fn from_source(
    pod: &Pod,
    node: &str,
    src: &EnvVarSource,
    config: &AssignedConfig,
) -> Result<Option<String>, String> {
    let ns = &pod.metadata.namespace;
    let keyed = match (&src.config_map_key_ref, &src.secret_key_ref) {
        (Some(r), _) => Some((Kind::ConfigMap, r)),
        (None, Some(r)) => Some((Kind::Secret, r)),
        _ => None,
    };
    if let Some((kind, r)) = keyed {
        let optional = r.optional == Some(true);
        let Some(values) = config.values(kind, ns, &r.name) else {
            return if optional {
                Ok(None)
            } else {
                Err(missing(kind, &r.name))
            };
        };
        return match values.get(&r.key) {
            Some(v) => Ok(Some(String::from_utf8_lossy(v).into_owned())),
            None if optional => Ok(None),
            None => Err(format!(
                "couldn't find key {} in {} {ns}/{}",
                r.key,
                kind.as_str(),
                r.name
            )),
        };
    }
    let Some(f) = &src.field_ref else {
        return Ok(None);
    };
    let m = &pod.metadata;
    Ok(Some(match f.field_path.as_str() {
        "metadata.name" => m.name.to_string(),
        "metadata.namespace" => m.namespace.to_string(),
        "metadata.uid" => m.uid.to_string(),
        "spec.nodeName" => node.to_string(),
        path => match label_or_annotation(path) {
            Some(("labels", k)) => m.labels.get(k).map(|v| v.to_string()).unwrap_or_default(),
            Some((_, k)) => m
                .annotations
                .get(k)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            None => return Err(format!("unsupported fieldPath {path}")),
        },
    }))
}

fn missing(kind: Kind, name: &str) -> String {
    format!("{} \"{name}\" not found", kind.resource_name())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::Object;

    fn pod(yaml_env: serde_json::Value) -> (Pod, Container) {
        let p: Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "web-1", "namespace": "default", "uid": "u1", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "x",
                "env": yaml_env.get("env").cloned().unwrap_or(serde_json::json!([])),
                "envFrom": yaml_env.get("envFrom").cloned().unwrap_or(serde_json::json!([]))}]},
        }))
        .unwrap();
        let c = p.spec.containers[0].clone();
        (p, c)
    }

    fn config() -> AssignedConfig {
        let cfg = AssignedConfig::default();
        let cm = Object::from_value(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "default"},
            "data": {"MODE": "prod", "LEVEL": "3"}}))
        .unwrap();
        let s = Object::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "default"},
            "data": {"password": "aHVudGVyMg=="}}))
        .unwrap();
        cfg.apply(true, vec![cm, s], &[]);
        cfg
    }

    #[test]
    fn env_wins_over_env_from_and_refs_resolve() {
        let (p, c) = pod(serde_json::json!({
            "envFrom": [{"configMapRef": {"name": "settings"}, "prefix": "APP_"}],
            "env": [
                {"name": "APP_MODE", "value": "dev"},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
                {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "NODE", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}},
                {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                {"name": "GONE", "valueFrom": {"configMapKeyRef": {"name": "nope", "key": "k", "optional": true}}},
            ],
        }));
        let vars = resolve(&p, &c, "n1", &config()).unwrap();
        let get = |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("APP_MODE"), Some("dev"));
        assert_eq!(get("APP_LEVEL"), Some("3"));
        assert_eq!(get("PASSWORD"), Some("hunter2"));
        assert_eq!(get("POD"), Some("web-1"));
        assert_eq!(get("NODE"), Some("n1"));
        assert_eq!(get("APP"), Some("web"));
        assert_eq!(get("GONE"), None);
    }

    #[test]
    fn missing_objects_and_keys_say_which() {
        let (p, c) = pod(serde_json::json!({"env": [
            {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "NOPE"}}}]}));
        assert_eq!(
            resolve(&p, &c, "n1", &config()).unwrap_err(),
            "couldn't find key NOPE in ConfigMap default/settings"
        );
        let (p, c) = pod(serde_json::json!({"envFrom": [{"secretRef": {"name": "other"}}]}));
        assert_eq!(
            resolve(&p, &c, "n1", &config()).unwrap_err(),
            "secret \"other\" not found"
        );
    }
}
