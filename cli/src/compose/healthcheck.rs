//! `healthcheck` into an exec probe, used as both the liveness probe (Swarm replaces an
//! unhealthy task) and the readiness probe (an unhealthy container is not ready).
//!
//! `test: ["CMD", a, b]` runs `[a, b]`; `["CMD-SHELL", s]` and a plain string run
//! `["/bin/sh", "-c", s]`; `["NONE"]` and `disable: true` give no probe. Timing takes Docker's
//! defaults: `interval` 30s, `timeout` 30s, `retries` 3, `start_period` 0.
use serde_json::{json, Value};

use super::context::Ctx;
use super::duration;
use super::value::{as_bool, as_count, as_map, scalar_string, type_name};
use super::ComposeError;

const DEFAULT_INTERVAL: i64 = 30;
const DEFAULT_TIMEOUT: i64 = 30;
const DEFAULT_RETRIES: i64 = 3;

/// The probe for the `healthcheck` at `path`; `None` when it is disabled or has no test.
pub(crate) fn convert(v: &Value, path: &str, ctx: &mut Ctx) -> Result<Option<Value>, ComposeError> {
    if v.is_null() {
        return Ok(None);
    }
    let map = as_map(v, path)?;
    let mut test = None;
    let mut disabled = false;
    let (mut interval, mut timeout, mut retries, mut start) =
        (DEFAULT_INTERVAL, DEFAULT_TIMEOUT, DEFAULT_RETRIES, 0);
    for (key, item) in map {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "test" => test = Some(command(item, &p)?),
            "disable" => disabled = as_bool(item, &p)?,
            "interval" => interval = duration::seconds(item, &p, 1)?,
            "timeout" => timeout = duration::seconds(item, &p, 1)?,
            "start_period" => start = duration::seconds(item, &p, 0)?,
            "retries" => {
                // Docker reads 0 as its default.
                retries = match as_count(item, &p)? {
                    0 => DEFAULT_RETRIES,
                    n => n,
                }
            }
            "start_interval" => ctx.unsupported(
                &p,
                "Kubernetes probes have one period; the interval applies from the start",
            ),
            k if k.starts_with("x-") => {}
            _ => ctx.unsupported(&p, "not a healthcheck attribute Bosun knows"),
        }
    }
    if disabled {
        return Ok(None);
    }
    let command = match test {
        Some(Some(command)) => command,
        Some(None) => return Ok(None),
        None => {
            ctx.unsupported(
                path,
                "a healthcheck without a test keeps the image's HEALTHCHECK, which Bosun does \
                 not run; write the test out",
            );
            return Ok(None);
        }
    };
    let retries = i32::try_from(retries)
        .map_err(|_| ComposeError::new(format!("{path}.retries"), "is too large"))?;
    Ok(Some(json!({
        "exec": {"command": command},
        "initialDelaySeconds": clamp(start),
        "periodSeconds": clamp(interval),
        "timeoutSeconds": clamp(timeout),
        "failureThreshold": retries,
    })))
}

/// Seconds as a probe field (an `i32`).
fn clamp(secs: i64) -> i32 {
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// The command of a `test`; `None` for `["NONE"]`.
fn command(v: &Value, path: &str) -> Result<Option<Vec<String>>, ComposeError> {
    let list = match v {
        Value::String(s) if s.trim().is_empty() => {
            return Err(ComposeError::new(path, "the test must not be empty"))
        }
        Value::String(s) => return Ok(Some(shell(s.clone()))),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| scalar_string(item, &format!("{path}[{i}]")))
            .collect::<Result<Vec<_>, _>>()?,
        other => {
            return Err(ComposeError::new(
                path,
                format!("must be a string or a list, not {}", type_name(other)),
            ))
        }
    };
    let Some((kind, rest)) = list.split_first() else {
        return Err(ComposeError::new(
            path,
            "the test must not be empty: start it with \"CMD\", \"CMD-SHELL\" or \"NONE\"",
        ));
    };
    match kind.as_str() {
        "NONE" => Ok(None),
        "CMD" if !rest.is_empty() => Ok(Some(rest.to_vec())),
        "CMD-SHELL" if !rest.is_empty() => Ok(Some(shell(rest.join(" ")))),
        "CMD" | "CMD-SHELL" => Err(ComposeError::new(
            path,
            format!("{kind} must be followed by the command"),
        )),
        other => Err(ComposeError::new(
            path,
            format!("the test starts with {other:?}: expected \"CMD\", \"CMD-SHELL\" or \"NONE\""),
        )),
    }
}

fn shell(script: String) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn run(v: Value) -> Result<(Option<Value>, Vec<String>), ComposeError> {
        let env = |_: &str| None;
        let mut ctx = Ctx::new("p", Path::new("/"), &env);
        let probe = convert(&v, "services.db.healthcheck", &mut ctx)?;
        Ok((
            probe,
            ctx.unsupported.iter().map(|u| u.path.clone()).collect(),
        ))
    }

    fn probe(v: Value) -> Value {
        run(v).unwrap().0.unwrap()
    }

    #[test]
    fn cmd() {
        assert_eq!(
            probe(
                json!({"test": ["CMD", "pg_isready", "-U", "app"], "interval": "10s",
                         "timeout": "5s", "retries": 5, "start_period": "1m30s"})
            ),
            json!({"exec": {"command": ["pg_isready", "-U", "app"]}, "initialDelaySeconds": 90,
                   "periodSeconds": 10, "timeoutSeconds": 5, "failureThreshold": 5})
        );
    }

    #[test]
    fn shell_forms_and_defaults() {
        let expected = json!({"exec": {"command": ["/bin/sh", "-c", "curl -f localhost || exit 1"]},
                              "initialDelaySeconds": 0, "periodSeconds": 30,
                              "timeoutSeconds": 30, "failureThreshold": 3});
        assert_eq!(
            probe(json!({"test": ["CMD-SHELL", "curl -f localhost || exit 1"]})),
            expected
        );
        assert_eq!(
            probe(json!({"test": "curl -f localhost || exit 1"})),
            expected
        );
    }

    #[test]
    fn durations_round_up() {
        let p = probe(
            json!({"test": "true", "interval": "500ms", "timeout": "1500ms",
                             "start_period": "0s", "retries": "0"}),
        );
        assert_eq!(p["periodSeconds"], 1);
        assert_eq!(p["timeoutSeconds"], 2);
        assert_eq!(p["initialDelaySeconds"], 0);
        assert_eq!(p["failureThreshold"], 3, "Docker reads retries 0 as 3");
        let e = run(json!({"test": "true", "interval": "10"})).unwrap_err();
        assert_eq!(e.path, "services.db.healthcheck.interval");
    }

    #[test]
    fn disabled() {
        assert_eq!(run(json!({"test": ["NONE"]})).unwrap(), (None, vec![]));
        assert_eq!(
            run(json!({"test": ["CMD", "x"], "disable": true})).unwrap(),
            (None, vec![])
        );
        assert_eq!(run(Value::Null).unwrap(), (None, vec![]));
    }

    #[test]
    fn unsupported_and_invalid() {
        let (p, unsupported) = run(json!({"interval": "5s"})).unwrap();
        assert_eq!(p, None);
        assert_eq!(unsupported, ["services.db.healthcheck"]);
        let (_, unsupported) =
            run(json!({"test": "true", "start_interval": "1s", "x-note": 1})).unwrap();
        assert_eq!(unsupported, ["services.db.healthcheck.start_interval"]);
        assert!(run(json!({"test": []})).is_err());
        assert!(run(json!({"test": ["CMD"]})).is_err());
        assert!(run(json!({"test": [" "]}))
            .unwrap_err()
            .message
            .contains("expected"));
        assert!(run(json!({"test": ["curl", "x"]})).is_err());
        assert!(run(json!({"test": ""})).is_err());
        assert!(run(json!({"test": 1})).is_err());
        assert!(run(json!({"test": "x", "retries": -1})).is_err());
        assert!(run(json!({"test": "x", "retries": 99999999999i64})).is_err());
        assert!(run(json!("x")).is_err());
    }
}
