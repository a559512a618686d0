//! A container's `lifecycle` hooks, as Kubernetes writes them: `postStart` runs right after
//! the container starts (failing it kills the container), `preStop` runs before the stop
//! signal, inside the termination grace period. Handlers: `exec` and `sleep`; `httpGet` is
//! refused (not implemented) rather than silently skipped.
use serde::{Deserialize, Serialize};

use crate::probe::{ExecAction, HttpGetAction};
use crate::validate::FieldError;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Lifecycle {
    /// Runs right after the container is started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_start: Option<LifecycleHandler>,
    /// Runs before the container is sent SIGTERM, within its grace period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_stop: Option<LifecycleHandler>,
}

/// One hook: exactly one of these.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHandler {
    /// A command run in the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecAction>,
    /// A pause before going on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sleep: Option<SleepAction>,
    /// Not implemented by Bosun: refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_get: Option<HttpGetAction>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SleepAction {
    pub seconds: i64,
}

/// Checks a container's `lifecycle` (`path` is `...containers[i].lifecycle`).
pub fn validate(l: &Lifecycle, path: &str, errs: &mut Vec<FieldError>) {
    for (name, h) in [("postStart", &l.post_start), ("preStop", &l.pre_stop)] {
        let Some(h) = h else { continue };
        let p = format!("{path}.{name}");
        let set = [h.exec.is_some(), h.sleep.is_some(), h.http_get.is_some()]
            .iter()
            .filter(|b| **b)
            .count();
        if set != 1 {
            errs.push(FieldError::new(
                &p,
                "must specify exactly one handler: exec or sleep",
            ));
        }
        if h.http_get.is_some() {
            errs.push(FieldError::forbidden(
                format!("{p}.httpGet"),
                "not implemented by Bosun; use exec",
            ));
        }
        if let Some(e) = &h.exec {
            if e.command.is_empty() {
                errs.push(FieldError::required(format!("{p}.exec.command")));
            }
        }
        if let Some(s) = &h.sleep {
            if s.seconds < 0 {
                errs.push(FieldError::invalid(
                    format!("{p}.sleep.seconds"),
                    s.seconds,
                    "must be greater than or equal to 0",
                ));
            }
        }
    }
}
