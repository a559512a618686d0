//! Which object runs a service, as `docker stack deploy` would run it: the restart behaviour
//! (`restart`, `deploy.restart_policy.condition`) and `deploy.mode` choose it, and the pod
//! spec goes into it.
//!
//! | mode             | restart                            | object                        |
//! |------------------|------------------------------------|-------------------------------|
//! | replicated       | always, unless-stopped, any, unset | Deployment                    |
//! | replicated       | no, none                           | Pod(s), `restartPolicy: Never`|
//! | replicated       | `on-failure[:N]`                   | Job, `OnFailure`, backoff N   |
//! | global           | any                                | DaemonSet                     |
//! | replicated-job   | on-failure (default), none         | Job                           |
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::names;
use super::value::as_count;
use super::ComposeError;

/// Kubernetes' default `backoffLimit`.
const DEFAULT_BACKOFF_LIMIT: i64 = 6;

/// When a service's containers restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Restart {
    Never,
    /// On failure, at most this many times.
    OnFailure(Option<i64>),
    Always,
}

/// A service's `restart` (`no`, `always`, `unless-stopped`, `on-failure[:N]`).
pub(crate) fn parse_restart(v: &Value, path: &str) -> Result<Restart, ComposeError> {
    let s = match v {
        // YAML 1.1 reads an unquoted `no` as false.
        Value::Bool(false) => return Ok(Restart::Never),
        Value::String(s) => s.trim(),
        other => {
            return Err(ComposeError::new(
                path,
                format!("must be a string, not {}", super::value::type_name(other)),
            ))
        }
    };
    match s {
        "no" | "" => Ok(Restart::Never),
        "always" | "unless-stopped" => Ok(Restart::Always),
        "on-failure" => Ok(Restart::OnFailure(None)),
        other => match other.strip_prefix("on-failure:") {
            Some(n) => Ok(Restart::OnFailure(Some(as_count(&json!(n), path)?))),
            None => Err(ComposeError::new(
                path,
                format!(
                    "unknown restart policy {other:?}: expected \"no\", \"always\", \
                     \"on-failure[:N]\" or \"unless-stopped\""
                ),
            )),
        },
    }
}

/// `deploy.restart_policy.condition` (`none`, `on-failure`, `any`).
pub(crate) fn parse_condition(s: &str, path: &str) -> Result<Restart, ComposeError> {
    match s {
        "none" | "no" => Ok(Restart::Never),
        "on-failure" => Ok(Restart::OnFailure(None)),
        "any" => Ok(Restart::Always),
        other => Err(ComposeError::new(
            path,
            format!("unknown condition {other:?}: expected \"none\", \"on-failure\" or \"any\""),
        )),
    }
}

/// `deploy.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Mode {
    #[default]
    Replicated,
    Global,
    ReplicatedJob,
}

/// The object that runs a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Deployment,
    DaemonSet,
    /// Bare pods that never restart.
    Pods,
    Job {
        /// `OnFailure` or `Never`.
        restart_policy: &'static str,
        backoff_limit: i64,
    },
}

/// The object for `mode` and `restart` (from the key at `restart_path`).
pub(crate) fn choose(
    mode: Mode,
    restart: Option<Restart>,
    restart_path: &str,
    ctx: &mut Ctx,
) -> Kind {
    let on_failure = |n: Option<i64>| Kind::Job {
        restart_policy: "OnFailure",
        backoff_limit: n.unwrap_or(DEFAULT_BACKOFF_LIMIT),
    };
    match (mode, restart) {
        (Mode::Replicated, None | Some(Restart::Always)) => Kind::Deployment,
        (Mode::Replicated, Some(Restart::Never)) => Kind::Pods,
        (Mode::Replicated, Some(Restart::OnFailure(n))) => on_failure(n),
        (Mode::Global, None | Some(Restart::Always)) => Kind::DaemonSet,
        (Mode::Global, Some(_)) => {
            ctx.unsupported(
                restart_path,
                "a global service is a DaemonSet, whose pods always restart",
            );
            Kind::DaemonSet
        }
        (Mode::ReplicatedJob, Some(Restart::Never)) => Kind::Job {
            restart_policy: "Never",
            backoff_limit: 0,
        },
        (Mode::ReplicatedJob, None) => on_failure(None),
        (Mode::ReplicatedJob, Some(Restart::OnFailure(n))) => on_failure(n),
        (Mode::ReplicatedJob, Some(Restart::Always)) => {
            ctx.unsupported(
                restart_path,
                "a job's pods restart on failure only, not always",
            );
            on_failure(None)
        }
    }
}

/// Names, labels and annotations of a service's objects.
pub(crate) struct Meta {
    /// `<project>-<service>`.
    pub name: String,
    /// The project and service labels: the selector.
    pub labels: BTreeMap<String, String>,
    /// On the top object.
    pub annotations: BTreeMap<String, String>,
    /// On the pods.
    pub pod_annotations: BTreeMap<String, String>,
}

/// The objects of `kind` running `replicas` pods of `pod` (a pod spec without restartPolicy).
pub(crate) fn build(
    kind: Kind,
    replicas: i64,
    meta: &Meta,
    mut pod: Map<String, Value>,
) -> Vec<Value> {
    let template = |pod: Map<String, Value>| {
        let mut m = Map::new();
        m.insert("labels".into(), json!(meta.labels));
        if !meta.pod_annotations.is_empty() {
            m.insert("annotations".into(), json!(meta.pod_annotations));
        }
        json!({"metadata": m, "spec": pod})
    };
    let object_meta = |name: &str, annotations: &BTreeMap<String, String>| {
        let mut m = Map::new();
        m.insert("name".into(), json!(name));
        m.insert("labels".into(), json!(meta.labels));
        if !annotations.is_empty() {
            m.insert("annotations".into(), json!(annotations));
        }
        Value::Object(m)
    };
    match kind {
        Kind::Deployment => vec![json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": object_meta(&meta.name, &meta.annotations),
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": meta.labels},
                "template": template(pod),
            },
        })],
        Kind::DaemonSet => vec![json!({
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": object_meta(&meta.name, &meta.annotations),
            "spec": {
                "selector": {"matchLabels": meta.labels},
                "template": template(pod),
            },
        })],
        Kind::Job {
            restart_policy,
            backoff_limit,
        } => {
            pod.insert("restartPolicy".into(), json!(restart_policy));
            vec![json!({
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": object_meta(&meta.name, &meta.annotations),
                "spec": {
                    "completions": replicas,
                    "parallelism": replicas,
                    "backoffLimit": backoff_limit,
                    "template": template(pod),
                },
            })]
        }
        Kind::Pods => {
            pod.insert("restartPolicy".into(), json!("Never"));
            let mut annotations = meta.annotations.clone();
            annotations.extend(meta.pod_annotations.clone());
            (1..=replicas)
                .map(|i| {
                    let name = if replicas == 1 {
                        meta.name.clone()
                    } else {
                        names::with_suffix(&meta.name, &format!("-{i}"))
                    };
                    json!({
                        "apiVersion": "v1",
                        "kind": "Pod",
                        "metadata": object_meta(&name, &annotations),
                        "spec": pod,
                    })
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn restart_values() {
        let r = |v: Value| parse_restart(&v, "r");
        assert_eq!(r(json!("no")).unwrap(), Restart::Never);
        assert_eq!(r(json!(false)).unwrap(), Restart::Never);
        assert_eq!(r(json!("always")).unwrap(), Restart::Always);
        assert_eq!(r(json!("unless-stopped")).unwrap(), Restart::Always);
        assert_eq!(r(json!("on-failure")).unwrap(), Restart::OnFailure(None));
        assert_eq!(
            r(json!("on-failure:3")).unwrap(),
            Restart::OnFailure(Some(3))
        );
        assert!(r(json!("on-failure:x")).is_err());
        assert!(r(json!("on-failure:-1")).is_err());
        assert!(r(json!("sometimes"))
            .unwrap_err()
            .message
            .contains("unknown restart policy"));
        assert!(r(json!(true)).is_err());
        assert_eq!(parse_condition("any", "c").unwrap(), Restart::Always);
        assert_eq!(parse_condition("none", "c").unwrap(), Restart::Never);
        assert!(parse_condition("never", "c").is_err());
    }

    #[test]
    fn choices() {
        let env = |_: &str| None;
        let mut ctx = Ctx::new("p", Path::new("/"), &env);
        let mut c = |m, r| choose(m, r, "services.a.restart", &mut ctx);
        assert_eq!(c(Mode::Replicated, None), Kind::Deployment);
        assert_eq!(c(Mode::Replicated, Some(Restart::Never)), Kind::Pods);
        assert_eq!(
            c(Mode::Replicated, Some(Restart::OnFailure(Some(2)))),
            Kind::Job {
                restart_policy: "OnFailure",
                backoff_limit: 2
            }
        );
        assert_eq!(
            c(Mode::Replicated, Some(Restart::OnFailure(None))),
            Kind::Job {
                restart_policy: "OnFailure",
                backoff_limit: 6
            }
        );
        assert_eq!(c(Mode::Global, None), Kind::DaemonSet);
        assert_eq!(c(Mode::Global, Some(Restart::Never)), Kind::DaemonSet);
        assert_eq!(
            c(Mode::ReplicatedJob, Some(Restart::Never)),
            Kind::Job {
                restart_policy: "Never",
                backoff_limit: 0
            }
        );
        assert_eq!(
            c(Mode::ReplicatedJob, Some(Restart::Always)),
            Kind::Job {
                restart_policy: "OnFailure",
                backoff_limit: 6
            }
        );
        assert_eq!(ctx.unsupported.len(), 2);
    }

    #[test]
    fn many_pods_are_numbered() {
        let meta = Meta {
            name: "p-task".into(),
            labels: BTreeMap::from([("k".to_string(), "v".to_string())]),
            annotations: BTreeMap::from([("a".to_string(), "1".to_string())]),
            pod_annotations: BTreeMap::from([("b".to_string(), "2".to_string())]),
        };
        let pods = build(Kind::Pods, 2, &meta, Map::new());
        assert_eq!(pods.len(), 2);
        assert_eq!(pods[0]["metadata"]["name"], "p-task-1");
        assert_eq!(pods[1]["metadata"]["name"], "p-task-2");
        assert_eq!(
            pods[1]["metadata"]["annotations"],
            json!({"a": "1", "b": "2"})
        );
        assert_eq!(pods[1]["spec"]["restartPolicy"], "Never");
        assert!(build(Kind::Pods, 0, &meta, Map::new()).is_empty());
        let one = build(Kind::Pods, 1, &meta, Map::new());
        assert_eq!(one[0]["metadata"]["name"], "p-task");
    }
}
