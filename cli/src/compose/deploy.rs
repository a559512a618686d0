//! A service's `deploy` section: `mode`, `replicas`, `restart_policy`, `resources`,
//! `placement` and `labels`; the rest (`update_config`, `rollback_config`, `endpoint_mode`)
//! is listed as unsupported.
use std::collections::BTreeMap;

use serde_json::Value;

use super::context::Ctx;
use super::placement;
use super::resources::{deploy_resources, Resources};
use super::value::{as_count, as_map, as_str, list_or_map};
use super::workload::{parse_condition, Mode, Restart};
use super::ComposeError;

/// What `deploy` decides besides resources and placement.
#[derive(Debug, Default)]
pub(crate) struct Deploy {
    pub mode: Mode,
    /// With the path of the key, for messages.
    pub replicas: Option<(i64, String)>,
    /// From `restart_policy`, with the path of its `condition`.
    pub restart: Option<(Restart, String)>,
    /// `deploy.labels`: annotations of the service's top object.
    pub labels: BTreeMap<String, String>,
}

/// The `deploy` section at `path`; resources and node selection go into the arguments.
pub(crate) fn convert(
    v: &Value,
    path: &str,
    resources: &mut Resources,
    node_selector: &mut BTreeMap<String, String>,
    ctx: &mut Ctx,
) -> Result<Deploy, ComposeError> {
    let mut d = Deploy::default();
    if v.is_null() {
        return Ok(d);
    }
    for (key, item) in as_map(v, path)? {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "mode" => {
                d.mode = match as_str(item, &p)? {
                    "replicated" => Mode::Replicated,
                    "global" => Mode::Global,
                    "replicated-job" => Mode::ReplicatedJob,
                    "global-job" => {
                        return Err(ComposeError::new(
                            p,
                            "mode \"global-job\" is not supported: Bosun has no Job that runs \
                             on every node",
                        ))
                    }
                    other => {
                        return Err(ComposeError::new(
                            p,
                            format!(
                                "unknown mode {other:?}: expected \"replicated\", \"global\" or \
                                 \"replicated-job\""
                            ),
                        ))
                    }
                }
            }
            "replicas" => d.replicas = Some((as_count(item, &p)?, p)),
            "resources" => deploy_resources(item, &p, resources, ctx)?,
            "placement" => placement::convert(item, &p, node_selector, ctx)?,
            "labels" => {
                for (k, val) in list_or_map(item, &p)? {
                    d.labels.insert(k, val.unwrap_or_default());
                }
            }
            "restart_policy" => d.restart = restart_policy(item, &p, ctx)?,
            "update_config" | "rollback_config" => ctx.unsupported(
                &p,
                "Bosun's Deployments and DaemonSets roll out with their default strategy",
            ),
            "endpoint_mode" => ctx.unsupported(&p, "Bosun has no Services or virtual IPs"),
            k if k.starts_with("x-") => {}
            _ => ctx.unsupported(&p, "not a deploy attribute Bosun knows"),
        }
    }
    if d.mode == Mode::Global {
        if let Some((_, p)) = d.replicas.take() {
            ctx.unsupported(p, "a global service runs one pod on every eligible node");
        }
    }
    Ok(d)
}

/// `deploy.restart_policy`: the restart behaviour, `max_attempts` as the retries on failure.
fn restart_policy(
    v: &Value,
    path: &str,
    ctx: &mut Ctx,
) -> Result<Option<(Restart, String)>, ComposeError> {
    if v.is_null() {
        return Ok(None);
    }
    let mut condition = None;
    let mut max_attempts = None;
    for (key, item) in as_map(v, path)? {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "condition" => condition = Some((parse_condition(as_str(item, &p)?, &p)?, p)),
            "max_attempts" => max_attempts = Some((as_count(item, &p)?, p)),
            "delay" | "window" => ctx.unsupported(
                &p,
                "containers restart with Kubernetes' back-off (10s doubling up to 5 minutes)",
            ),
            k if k.starts_with("x-") => {}
            _ => ctx.unsupported(&p, "not a restart_policy attribute Bosun knows"),
        }
    }
    // Swarm's default condition is `any`.
    let (restart, cpath) = condition.unwrap_or((Restart::Always, format!("{path}.condition")));
    if let Some((n, p)) = max_attempts {
        match restart {
            Restart::OnFailure(_) => return Ok(Some((Restart::OnFailure(Some(n)), cpath))),
            Restart::Always => ctx.unsupported(
                p,
                "a Deployment's pods restart without limit; only condition on-failure (a Job) \
                 counts attempts",
            ),
            Restart::Never => {}
        }
    }
    Ok(Some((restart, cpath)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    /// The section, the resources, the node selector, the unsupported paths.
    type Outcome = (Deploy, Resources, BTreeMap<String, String>, Vec<String>);

    fn run(v: Value) -> Result<Outcome, ComposeError> {
        let env = |_: &str| None;
        let mut ctx = Ctx::new("p", Path::new("/"), &env);
        let mut r = Resources::default();
        let mut sel = BTreeMap::new();
        let d = convert(&v, "services.a.deploy", &mut r, &mut sel, &mut ctx)?;
        let unsupported = ctx.unsupported.iter().map(|u| u.path.clone()).collect();
        Ok((d, r, sel, unsupported))
    }

    #[test]
    fn everything() {
        let (d, r, sel, unsupported) = run(json!({
            "mode": "replicated",
            "replicas": "3",
            "labels": ["traefik.enable=true", "bare"],
            "resources": {"limits": {"cpus": "1", "memory": "512M"}},
            "placement": {"constraints": ["node.labels.disk == ssd"]},
            "restart_policy": {"condition": "on-failure", "max_attempts": 4, "delay": "5s"},
            "update_config": {"parallelism": 1},
            "endpoint_mode": "vip",
            "x-ignored": true,
        }))
        .unwrap();
        assert_eq!(d.mode, Mode::Replicated);
        assert_eq!(d.replicas.unwrap().0, 3);
        assert_eq!(
            d.restart,
            Some((
                Restart::OnFailure(Some(4)),
                "services.a.deploy.restart_policy.condition".to_string()
            ))
        );
        assert_eq!(d.labels["traefik.enable"], "true");
        assert_eq!(d.labels["bare"], "");
        assert_eq!(r.limits["memory"], "512Mi");
        assert_eq!(sel["disk"], "ssd");
        assert_eq!(
            unsupported,
            [
                "services.a.deploy.endpoint_mode",
                "services.a.deploy.restart_policy.delay",
                "services.a.deploy.update_config",
            ]
        );
    }

    #[test]
    fn modes() {
        let (d, _, _, unsupported) = run(json!({"mode": "global", "replicas": 2})).unwrap();
        assert_eq!(d.mode, Mode::Global);
        assert!(d.replicas.is_none());
        assert_eq!(unsupported, ["services.a.deploy.replicas"]);
        assert_eq!(
            run(json!({"mode": "replicated-job"})).unwrap().0.mode,
            Mode::ReplicatedJob
        );
        assert!(run(json!({"mode": "global-job"})).is_err());
        assert!(run(json!({"mode": "swarm"})).is_err());
        assert!(run(json!({"replicas": -1})).is_err());
        assert!(run(json!([])).is_err());
    }

    #[test]
    fn restart_policies() {
        let restart = |v: Value| run(json!({"restart_policy": v})).unwrap();
        assert_eq!(
            restart(json!({"condition": "none"})).0.restart.unwrap().0,
            Restart::Never
        );
        assert_eq!(
            restart(json!({"condition": "any"})).0.restart.unwrap().0,
            Restart::Always
        );
        let (d, _, _, unsupported) = restart(json!({"max_attempts": 3}));
        assert_eq!(d.restart.unwrap().0, Restart::Always);
        assert_eq!(
            unsupported,
            ["services.a.deploy.restart_policy.max_attempts"]
        );
        assert!(run(json!({"restart_policy": {"condition": "always"}})).is_err());
    }
}
