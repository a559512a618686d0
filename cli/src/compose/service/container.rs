//! The container fields that take more than a copy: the container's name, `command` and
//! `entrypoint` split into words, `environment` with bare names looked up, and `pull_policy`
//! as an `imagePullPolicy`.
use serde_json::Value;

use crate::compose::context::Ctx;
use crate::compose::names;
use crate::compose::shell;
use crate::compose::value::{list_or_map, string_list, type_name};
use crate::compose::ComposeError;

/// The container's name: the service's, as a DNS-1123 label.
pub(super) fn container_name(service: &str) -> String {
    match names::dns_label(service) {
        n if n.is_empty() => "app".to_string(),
        n => n,
    }
}

/// The words of a `command` or `entrypoint`: a list, or a string split as a shell does.
/// `None` when empty (listed as unsupported: Kubernetes cannot clear the image's).
pub(super) fn words(
    v: &Value,
    path: &str,
    ctx: &mut Ctx,
) -> Result<Option<Vec<String>>, ComposeError> {
    let words = match v {
        Value::Null => return Ok(None),
        Value::String(s) => shell::split(s)
            .map_err(|why| ComposeError::new(path, format!("cannot split {s:?}: {why}")))?,
        Value::Array(_) => string_list(v, path)?,
        other => {
            return Err(ComposeError::new(
                path,
                format!("must be a string or a list, not {}", type_name(other)),
            ))
        }
    };
    if words.is_empty() {
        ctx.unsupported(
            path,
            "an empty value clears the image's setting, which Kubernetes cannot express: the \
             image's is used",
        );
        return Ok(None);
    }
    Ok(Some(words))
}

/// `environment` into `env`: a later entry for the same name replaces an earlier one; a bare
/// name takes its value from the environment, and is left out when it is not set there.
pub(super) fn environment(
    v: &Value,
    path: &str,
    env: &mut Vec<(String, String)>,
    ctx: &mut Ctx,
) -> Result<(), ComposeError> {
    for (name, value) in list_or_map(v, path)? {
        let Some(value) = value.or_else(|| (ctx.env)(&name)) else {
            continue;
        };
        match env.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => env.push((name, value)),
        }
    }
    Ok(())
}

/// Kubernetes' `imagePullPolicy` for Compose's `pull_policy`.
pub(super) fn pull_policy(
    p: &str,
    path: &str,
    ctx: &mut Ctx,
) -> Result<Option<&'static str>, ComposeError> {
    Ok(match p {
        "always" => Some("Always"),
        "never" => Some("Never"),
        "missing" | "if_not_present" => Some("IfNotPresent"),
        "build" => {
            ctx.unsupported(path, "Bosun does not build images");
            None
        }
        "daily" | "weekly" => {
            ctx.unsupported(path, "Bosun does not pull images on a schedule");
            None
        }
        p if p.starts_with("every_") => {
            ctx.unsupported(path, "Bosun does not pull images on a schedule");
            None
        }
        other => {
            return Err(ComposeError::new(
                path,
                format!(
                    "unknown pull policy {other:?}: expected always, never, missing, \
                     if_not_present or build"
                ),
            ))
        }
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;
    use crate::compose::service::convert;
    use crate::compose::service::fixtures::{container, env, run};

    #[test]
    fn command_and_entrypoint() {
        let c = container(json!({"image": "a", "entrypoint": "/bin/sh -c",
                                 "command": ["echo", "hi there"]}));
        assert_eq!(c["command"], json!(["/bin/sh", "-c"]));
        assert_eq!(c["args"], json!(["echo", "hi there"]));
        let c = container(json!({"image": "a", "command": "sh -c 'sleep 5 && echo \"done\"'"}));
        assert_eq!(c["args"], json!(["sh", "-c", "sleep 5 && echo \"done\""]));
        assert!(c.get("command").is_none());
        let (objects, unsupported, _) = run(json!({"image": "a", "entrypoint": []})).unwrap();
        assert!(objects[0]["spec"]["template"]["spec"]["containers"][0]
            .get("command")
            .is_none());
        assert_eq!(unsupported, ["services.web.entrypoint"]);
        let e = run(json!({"image": "a", "command": "echo 'oops"})).unwrap_err();
        assert_eq!(
            e.to_string(),
            "services.web.command: cannot split \"echo 'oops\": a single quote is not closed"
        );
        assert!(run(json!({"image": "a", "command": 5})).is_err());
    }

    #[test]
    fn environment_as_list() {
        let c = container(json!({"image": "a", "environment": [
            "A=1", "B=x=y", "TZ", "UNSET", "EMPTY=", "A=2"]}));
        assert_eq!(
            c["env"],
            json!([
                {"name": "A", "value": "2"},
                {"name": "B", "value": "x=y"},
                {"name": "TZ", "value": "Europe/Paris"},
                {"name": "EMPTY", "value": ""},
            ])
        );
    }

    #[test]
    fn environment_as_map() {
        let c = container(json!({"image": "a", "environment": {
            "PORT": 8080, "DEBUG": false, "RATIO": 0.5, "SECRET": null, "UNSET": null,
            "NAME": "app"}}));
        assert_eq!(
            c["env"],
            json!([
                {"name": "DEBUG", "value": "false"},
                {"name": "NAME", "value": "app"},
                {"name": "PORT", "value": "8080"},
                {"name": "RATIO", "value": "0.5"},
                {"name": "SECRET", "value": "s3cret"},
            ])
        );
        assert!(run(json!({"image": "a", "environment": "A=1"})).is_err());
    }

    #[test]
    fn container_fields() {
        let (objects, unsupported, _) = run(json!({
            "image": "a", "working_dir": "/app", "stop_grace_period": "1m",
            "pull_policy": "always", "cpus": 0.5, "mem_limit": "256m", "mem_reservation": "128m",
            "labels": {"com.example.team": "infra"}, "annotations": ["note=x"],
            "deploy": {"labels": {"owner": "me"}},
        }))
        .unwrap();
        assert!(unsupported.is_empty(), "{unsupported:?}");
        let o = &objects[0];
        let pod = &o["spec"]["template"]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(c["workingDir"], "/app");
        assert_eq!(c["imagePullPolicy"], "Always");
        assert_eq!(
            c["resources"],
            json!({"limits": {"cpu": "500m", "memory": "256Mi"},
                   "requests": {"memory": "128Mi"}})
        );
        assert_eq!(pod["terminationGracePeriodSeconds"], 60);
        assert_eq!(
            o["metadata"]["annotations"],
            json!({"com.example.team": "infra", "owner": "me"})
        );
        assert_eq!(
            o["spec"]["template"]["metadata"]["annotations"],
            json!({"com.example.team": "infra", "note": "x"})
        );
        for (policy, expected) in [
            ("never", "Never"),
            ("missing", "IfNotPresent"),
            ("if_not_present", "IfNotPresent"),
        ] {
            assert_eq!(
                container(json!({"image": "a", "pull_policy": policy}))["imagePullPolicy"],
                expected
            );
        }
        let (_, unsupported, _) = run(json!({"image": "a", "pull_policy": "daily"})).unwrap();
        assert_eq!(unsupported, ["services.web.pull_policy"]);
        assert!(run(json!({"image": "a", "pull_policy": "sometimes"})).is_err());
        let e =
            run(json!({"image": "a", "cpus": 1, "deploy": {"resources": {"limits": {"cpus": 2}}}}))
                .unwrap_err();
        assert!(e.message.contains("differs"), "{e}");
    }

    #[test]
    fn names_are_sanitized() {
        let mut ctx = Ctx::new("lab", Path::new("/"), &env);
        let o = convert("My_Web", &json!({"image": "a"}), "lab-my-web", &mut ctx).unwrap();
        assert_eq!(
            o[0]["spec"]["template"]["spec"]["containers"][0]["name"],
            "my-web"
        );
        assert_eq!(
            o[0]["metadata"]["labels"]["bosun.dev/compose-service"],
            "My_Web"
        );
    }
}
