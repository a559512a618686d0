//! One service into its objects: the container (image, command, environment, ports, mounts,
//! probes, resources), its pod spec, and the workload that runs it (see `workload.rs`).
//!
//! Every key of the service is either converted, or listed as unsupported with a reason;
//! `x-*` extension keys are ignored.
//!
//! This file walks the service's keys and puts the container, its pod and the workload
//! together; the rest is:
//! - `container.rs`: the container fields that take more than a copy: its name, `command` and
//!   `entrypoint`, `environment`, `pull_policy`.
//! - `unsupported.rs`: why each service key that is not converted is not.
//! - `fixtures.rs`: helpers for the tests.
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::deploy::{self, Deploy};
use super::duration;
use super::healthcheck;
use super::names;
use super::ports;
use super::resources::{cpu_quantity, memory_quantity, Resources};
use super::value::{as_count, as_str, list_or_map, type_name};
use super::volumes::{self, PodVolumes};
use super::workload::{self, parse_restart, Meta, Restart};
use super::{ComposeError, PROJECT_LABEL, SERVICE_LABEL};

mod container;
#[cfg(test)]
mod fixtures;
mod unsupported;

use container::{container_name, environment, pull_policy, words};
use unsupported::unsupported_reason;

/// Most bare Pods written for one service (`restart: "no"` with replicas).
const MAX_BARE_PODS: i64 = 1000;

/// The objects of service `name` (its spec `spec`), named `object_name`.
pub(crate) fn convert(
    name: &str,
    spec: &Value,
    object_name: &str,
    ctx: &mut Ctx,
) -> Result<Vec<Value>, ComposeError> {
    let path = format!("services.{name}");
    let empty = Map::new();
    let map = match spec {
        Value::Object(m) => m,
        Value::Null => &empty,
        other => {
            return Err(ComposeError::new(
                path,
                format!("must be a mapping, not {}", type_name(other)),
            ))
        }
    };

    let mut container = Map::new();
    let mut pod = Map::new();
    let mut image: Option<String> = None;
    let mut build_path = None;
    let mut env: Vec<(String, String)> = Vec::new();
    let mut resources = Resources::default();
    let mut node_selector = BTreeMap::new();
    let mut pv = PodVolumes::default();
    let mut restart: Option<(Restart, String)> = None;
    let mut deploy = Deploy::default();
    let mut scale = None;
    let mut annotations = BTreeMap::new();
    let mut pod_annotations = BTreeMap::new();

    for (key, v) in map {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "image" => {
                let i = as_str(v, &p)?.trim();
                if i.is_empty() {
                    return Err(ComposeError::new(p, "must not be empty"));
                }
                image = Some(i.to_string());
            }
            "build" => build_path = Some(p),
            // Compose's entrypoint replaces the image's ENTRYPOINT: Kubernetes' command.
            "entrypoint" => {
                if let Some(words) = words(v, &p, ctx)? {
                    container.insert("command".into(), json!(words));
                }
            }
            // Compose's command replaces the image's CMD: Kubernetes' args.
            "command" => {
                if let Some(words) = words(v, &p, ctx)? {
                    container.insert("args".into(), json!(words));
                }
            }
            "environment" => environment(v, &p, &mut env, ctx)?,
            "ports" => {
                let ports = ports::convert(v, &p, ctx)?;
                if !ports.is_empty() {
                    container.insert("ports".into(), json!(ports));
                }
            }
            "volumes" => volumes::service_volumes(v, &p, &mut pv, ctx)?,
            "tmpfs" => volumes::service_tmpfs(v, &p, &mut pv, ctx)?,
            "healthcheck" => {
                if let Some(probe) = healthcheck::convert(v, &p, ctx)? {
                    container.insert("livenessProbe".into(), probe.clone());
                    container.insert("readinessProbe".into(), probe);
                }
            }
            "deploy" => {
                deploy = deploy::convert(v, &p, &mut resources, &mut node_selector, ctx)?;
            }
            "restart" => restart = Some((parse_restart(v, &p)?, p)),
            "scale" => scale = Some((as_count(v, &p)?, p)),
            "labels" => {
                for (k, val) in list_or_map(v, &p)? {
                    let val = val.unwrap_or_default();
                    annotations.insert(k.clone(), val.clone());
                    pod_annotations.insert(k, val);
                }
            }
            "annotations" => {
                for (k, val) in list_or_map(v, &p)? {
                    pod_annotations.insert(k, val.unwrap_or_default());
                }
            }
            "working_dir" => {
                let dir = as_str(v, &p)?;
                if !dir.is_empty() {
                    container.insert("workingDir".into(), json!(dir));
                }
            }
            "stop_grace_period" => {
                let secs = duration::seconds(v, &p, 0)?;
                pod.insert("terminationGracePeriodSeconds".into(), json!(secs));
            }
            "pull_policy" => {
                if let Some(policy) = pull_policy(as_str(v, &p)?, &p, ctx)? {
                    container.insert("imagePullPolicy".into(), json!(policy));
                }
            }
            "cpus" => resources.set(true, "cpu", cpu_quantity(v, &p)?, &p)?,
            "mem_limit" => resources.set(true, "memory", memory_quantity(v, &p)?, &p)?,
            "mem_reservation" => resources.set(false, "memory", memory_quantity(v, &p)?, &p)?,
            // Read by `convert` before the service is converted.
            "profiles" => {}
            k if k.starts_with("x-") => {}
            k => ctx.unsupported(&p, unsupported_reason(k)),
        }
    }

    let image =
        match (image, build_path) {
            (Some(image), None) => image,
            (Some(image), Some(bp)) => {
                ctx.unsupported(
                    bp,
                    format!("Bosun does not build images; the image {image:?} is used as it is"),
                );
                image
            }
            (None, Some(bp)) => return Err(ComposeError::new(
                bp,
                "Bosun does not build images; build it with docker build, load it on the nodes \
                 and set image:",
            )),
            (None, None) => return Err(ComposeError::new(path, "image is required")),
        };
    container.insert("name".into(), json!(container_name(name)));
    container.insert("image".into(), json!(image));
    if !env.is_empty() {
        let env: Vec<Value> = env
            .into_iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect();
        container.insert("env".into(), json!(env));
    }
    if let Some(r) = resources.to_json() {
        container.insert("resources".into(), r);
    }
    if !pv.mounts.is_empty() {
        container.insert("volumeMounts".into(), json!(pv.mounts));
    }
    pod.insert("containers".into(), json!([container]));
    if !pv.volumes.is_empty() {
        pod.insert("volumes".into(), json!(pv.volumes));
    }
    if !node_selector.is_empty() {
        pod.insert("nodeSelector".into(), json!(node_selector));
    }

    let replicas = match (deploy.replicas, scale) {
        (Some((a, _)), Some((b, p))) if a != b => {
            return Err(ComposeError::new(
                p,
                format!("{b} differs from deploy.replicas ({a})"),
            ))
        }
        (Some((n, p)), _) | (None, Some((n, p))) => {
            if n > i64::from(i32::MAX) {
                return Err(ComposeError::new(p, format!("{n} replicas are too many")));
            }
            n
        }
        (None, None) => 1,
    };
    let restart = match (deploy.restart, restart) {
        (Some((from_deploy, dp)), Some((from_restart, rp))) => {
            if from_deploy != from_restart {
                ctx.warn(format!(
                    "{rp} is overridden by {dp}, as docker stack deploy does"
                ));
            }
            Some((from_deploy, dp))
        }
        (a, b) => a.or(b),
    };
    let restart_path = restart
        .as_ref()
        .map_or_else(|| format!("{path}.restart"), |(_, p)| p.clone());
    let kind = workload::choose(deploy.mode, restart.map(|(r, _)| r), &restart_path, ctx);
    if kind == workload::Kind::Pods && replicas > MAX_BARE_PODS {
        return Err(ComposeError::new(
            restart_path,
            format!(
                "{replicas} replicas that never restart would be {replicas} Pods; at most \
                 {MAX_BARE_PODS} are written out"
            ),
        ));
    }
    annotations.extend(deploy.labels);
    let meta = Meta {
        name: object_name.to_string(),
        labels: BTreeMap::from([
            (PROJECT_LABEL.to_string(), names::label_value(ctx.project)),
            (SERVICE_LABEL.to_string(), names::label_value(name)),
        ]),
        annotations,
        pod_annotations,
    };
    Ok(workload::build(kind, replicas, &meta, pod))
}

#[cfg(test)]
mod tests {
    use super::fixtures::{one, run};
    use super::*;

    #[test]
    fn a_plain_service_is_a_deployment() {
        assert_eq!(
            one(json!({"image": "nginx:1.27"})),
            json!({
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "lab-web", "labels": {
                    "bosun.dev/compose-project": "lab", "bosun.dev/compose-service": "web"}},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": {
                        "bosun.dev/compose-project": "lab", "bosun.dev/compose-service": "web"}},
                    "template": {
                        "metadata": {"labels": {
                            "bosun.dev/compose-project": "lab",
                            "bosun.dev/compose-service": "web"}},
                        "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                    },
                },
            })
        );
    }

    #[test]
    fn build_with_and_without_image() {
        let e = run(json!({"build": "."})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "services.web.build: Bosun does not build images; build it with docker build, load \
             it on the nodes and set image:"
        );
        let (objects, unsupported, _) =
            run(json!({"build": {"context": "."}, "image": "me/app:dev"})).unwrap();
        assert_eq!(
            objects[0]["spec"]["template"]["spec"]["containers"][0]["image"],
            "me/app:dev"
        );
        assert_eq!(unsupported, ["services.web.build"]);
        assert_eq!(
            run(json!({"command": "x"})).unwrap_err().to_string(),
            "services.web: image is required"
        );
        assert_eq!(
            run(Value::Null).unwrap_err().to_string(),
            "services.web: image is required"
        );
        assert!(run(json!({"image": ""})).is_err());
        assert!(run(json!("nginx"))
            .unwrap_err()
            .message
            .contains("must be a mapping"));
    }

    #[test]
    fn restart_mappings() {
        let o = one(json!({"image": "a", "restart": "no"}));
        assert_eq!(o["kind"], "Pod");
        assert_eq!(o["apiVersion"], "v1");
        assert_eq!(o["metadata"]["name"], "lab-web");
        assert_eq!(o["spec"]["restartPolicy"], "Never");
        assert_eq!(o["spec"]["containers"][0]["image"], "a");

        let (pods, _, _) = run(json!({"image": "a", "restart": false,
                                      "deploy": {"replicas": 3}}))
        .unwrap();
        let names: Vec<_> = pods.iter().map(|p| p["metadata"]["name"].clone()).collect();
        assert_eq!(
            names,
            [json!("lab-web-1"), json!("lab-web-2"), json!("lab-web-3")]
        );

        let job = one(json!({"image": "a", "restart": "on-failure:3", "scale": 2}));
        assert_eq!(job["kind"], "Job");
        assert_eq!(job["apiVersion"], "batch/v1");
        assert_eq!(job["spec"]["completions"], 2);
        assert_eq!(job["spec"]["parallelism"], 2);
        assert_eq!(job["spec"]["backoffLimit"], 3);
        assert_eq!(
            job["spec"]["template"]["spec"]["restartPolicy"],
            "OnFailure"
        );
        assert!(job["spec"].get("selector").is_none());

        let job = one(json!({"image": "a", "restart": "on-failure"}));
        assert_eq!(job["spec"]["backoffLimit"], 6);

        for r in ["always", "unless-stopped"] {
            let o = one(json!({"image": "a", "restart": r}));
            assert_eq!(o["kind"], "Deployment");
            assert!(o["spec"]["template"]["spec"].get("restartPolicy").is_none());
        }

        let o = one(json!({"image": "a",
                           "deploy": {"restart_policy": {"condition": "on-failure",
                                                         "max_attempts": 2}}}));
        assert_eq!(o["kind"], "Job");
        assert_eq!(o["spec"]["backoffLimit"], 2);
        assert_eq!(
            one(json!({"image": "a", "deploy": {"restart_policy": {"condition": "none"}}}))["kind"],
            "Pod"
        );
        let (objects, _, warnings) = run(json!({"image": "a", "restart": "no",
                                                "deploy": {"restart_policy": {"condition": "any"}}}))
        .unwrap();
        assert_eq!(objects[0]["kind"], "Deployment");
        assert_eq!(
            warnings,
            ["services.web.restart is overridden by \
              services.web.deploy.restart_policy.condition, as docker stack deploy does"]
        );
    }

    #[test]
    fn deploy_modes_and_replicas() {
        let ds = one(json!({"image": "a", "deploy": {"mode": "global"}}));
        assert_eq!(ds["kind"], "DaemonSet");
        assert!(ds["spec"].get("replicas").is_none());
        assert_eq!(
            ds["spec"]["selector"]["matchLabels"]["bosun.dev/compose-service"],
            "web"
        );
        let d = one(json!({"image": "a", "deploy": {"replicas": 4}}));
        assert_eq!(d["spec"]["replicas"], 4);
        let d = one(json!({"image": "a", "scale": 2}));
        assert_eq!(d["spec"]["replicas"], 2);
        assert!(run(json!({"image": "a", "scale": 2, "deploy": {"replicas": 3}})).is_err());
        assert!(run(json!({"image": "a", "scale": 3_000_000_000i64})).is_err());
        let e = run(json!({"image": "a", "restart": "no", "scale": 1001})).unwrap_err();
        assert_eq!(e.path, "services.web.restart");
        let job = one(json!({"image": "a", "deploy": {"mode": "replicated-job", "replicas": 5}}));
        assert_eq!(job["kind"], "Job");
        assert_eq!(job["spec"]["completions"], 5);
        let d = one(
            json!({"image": "a", "deploy": {"placement": {"constraints": [
            "node.hostname == nas", "node.labels.gpu == yes"]}}}),
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["nodeSelector"],
            json!({"gpu": "yes", "kubernetes.io/hostname": "nas"})
        );
    }
}
