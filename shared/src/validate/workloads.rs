//! Rules of the kinds that run pods from a template: Deployments (and their strategy),
//! ReplicaSets, DaemonSets, Jobs and CronJobs.
use super::{
    labels_string, selector_string, validate_annotations, validate_labels, validate_pod_spec,
    validate_selector, FieldError,
};
use crate::deployment::{DeploymentSpec, PodTemplateSpec};
use crate::pod::RestartPolicy;
use crate::selector::LabelSelector;
use crate::strategy::{DeploymentStrategy, IntOrPercent, StrategyType};

pub(super) fn validate_deployment_spec(spec: &DeploymentSpec, errs: &mut Vec<FieldError>) {
    validate_replicated(spec.replicas, &spec.selector, &spec.template, errs);
    validate_strategy(&spec.strategy, errs);
    if let Some(s) = spec.progress_deadline_seconds.filter(|s| *s <= 0) {
        errs.push(FieldError::invalid(
            "spec.progressDeadlineSeconds",
            s,
            "must be greater than 0",
        ));
    }
}

/// The rules of a kind that keeps `replicas` pods of a template (Deployment, ReplicaSet).
pub(super) fn validate_replicated(
    replicas: Option<i32>,
    selector: &LabelSelector,
    template: &PodTemplateSpec,
    errs: &mut Vec<FieldError>,
) {
    if let Some(replicas) = replicas.filter(|r| *r < 0) {
        errs.push(FieldError::invalid(
            "spec.replicas",
            replicas,
            "must be greater than or equal to 0",
        ));
    }
    validate_labels(
        &template.metadata.labels,
        "spec.template.metadata.labels",
        errs,
    );
    validate_annotations(
        &template.metadata.annotations,
        "spec.template.metadata.annotations",
        errs,
    );
    if selector.is_empty() {
        errs.push(FieldError::required("spec.selector"));
    } else {
        let selector_ok = validate_selector(selector, "spec.selector", errs);
        if selector_ok && !selector.matches(&template.metadata.labels) {
            errs.push(FieldError::invalid(
                "spec.selector",
                selector_string(selector),
                format!(
                    "selector does not match template labels ({})",
                    labels_string(&template.metadata.labels)
                ),
            ));
        }
    }
    let policy = template.spec.restart_policy.unwrap_or_default();
    if policy != RestartPolicy::Always {
        errs.push(FieldError::unsupported(
            "spec.template.spec.restartPolicy",
            format!("{policy:?}"),
            &["Always"],
        ));
    }
    validate_pod_spec(&template.spec, "spec.template.spec", errs);
}

/// A Job's spec at `path` (`spec`, or a CronJob's `spec.jobTemplate.spec`).
pub(super) fn validate_job(spec: &crate::job::JobSpec, path: &str, errs: &mut Vec<FieldError>) {
    let counts = [
        ("completions", spec.completions),
        ("parallelism", spec.parallelism),
        ("backoffLimit", spec.backoff_limit),
        ("ttlSecondsAfterFinished", spec.ttl_seconds_after_finished),
    ];
    for (field, v) in counts {
        if let Some(n) = v.filter(|n| *n < 0) {
            errs.push(FieldError::invalid(
                format!("{path}.{field}"),
                n,
                "must be greater than or equal to 0",
            ));
        }
    }
    if let Some(s) = spec.active_deadline_seconds.filter(|s| *s <= 0) {
        errs.push(FieldError::invalid(
            format!("{path}.activeDeadlineSeconds"),
            s,
            "must be greater than 0",
        ));
    }
    let indexed = spec.completion_mode == Some(crate::job::CompletionMode::Indexed);
    if indexed && spec.completions.is_none() {
        errs.push(FieldError::new(
            format!("{path}.completions"),
            "Required value: when completion mode is Indexed",
        ));
    }
    let t = &spec.template;
    validate_labels(
        &t.metadata.labels,
        &format!("{path}.template.metadata.labels"),
        errs,
    );
    validate_annotations(
        &t.metadata.annotations,
        &format!("{path}.template.metadata.annotations"),
        errs,
    );
    let policy = t.spec.restart_policy.unwrap_or_default();
    if policy == RestartPolicy::Always {
        errs.push(FieldError::unsupported(
            format!("{path}.template.spec.restartPolicy"),
            format!("{policy:?}"),
            &["OnFailure", "Never"],
        ));
    }
    validate_pod_spec(&t.spec, &format!("{path}.template.spec"), errs);
}

pub(super) fn validate_cron_job(c: &crate::cronjob::CronJob, errs: &mut Vec<FieldError>) {
    let spec = &c.spec;
    if spec.schedule.trim().is_empty() {
        errs.push(FieldError::required("spec.schedule"));
    } else if let Err(e) = crate::cronjob::Schedule::parse(&spec.schedule, None) {
        errs.push(FieldError::invalid("spec.schedule", &spec.schedule, e));
    }
    if let Some(tz) = &spec.time_zone {
        if crate::cronjob::Schedule::parse("* * * * *", Some(tz)).is_err() {
            errs.push(FieldError::invalid(
                "spec.timeZone",
                tz,
                "unknown time zone",
            ));
        }
    }
    if let Some(s) = spec.starting_deadline_seconds.filter(|s| *s < 0) {
        errs.push(FieldError::invalid(
            "spec.startingDeadlineSeconds",
            s,
            "must be greater than or equal to 0",
        ));
    }
    let limits = [
        (
            "spec.successfulJobsHistoryLimit",
            spec.successful_jobs_history_limit,
        ),
        (
            "spec.failedJobsHistoryLimit",
            spec.failed_jobs_history_limit,
        ),
    ];
    for (path, v) in limits {
        if let Some(n) = v.filter(|n| *n < 0) {
            errs.push(FieldError::invalid(
                path,
                n,
                "must be greater than or equal to 0",
            ));
        }
    }
    validate_job(&spec.job_template.spec, "spec.jobTemplate.spec", errs);
}

fn validate_strategy(s: &DeploymentStrategy, errs: &mut Vec<FieldError>) {
    let Some(ru) = &s.rolling_update else {
        return;
    };
    if s.kind() == StrategyType::Recreate {
        errs.push(FieldError::forbidden(
            "spec.strategy.rollingUpdate",
            "may not be specified when strategy `type` is 'Recreate'",
        ));
        return;
    }
    let bounds = [
        ("spec.strategy.rollingUpdate.maxSurge", ru.max_surge),
        (
            "spec.strategy.rollingUpdate.maxUnavailable",
            ru.max_unavailable,
        ),
    ];
    for (path, v) in bounds {
        match v {
            Some(IntOrPercent::Int(n)) if n < 0 => {
                errs.push(FieldError::invalid(
                    path,
                    n,
                    "must be greater than or equal to 0",
                ));
            }
            Some(IntOrPercent::Percent(p)) if p < 0 => {
                let v = format!("{p}%");
                errs.push(FieldError::invalid(
                    path,
                    v,
                    "must be greater than or equal to 0",
                ));
            }
            // A surge above 100% is valid (Kubernetes bounds only maxUnavailable).
            Some(IntOrPercent::Percent(p)) if p > 100 && path.ends_with("maxUnavailable") => {
                errs.push(FieldError::invalid(
                    path,
                    format!("{p}%"),
                    "must not be greater than 100%",
                ));
            }
            _ => {}
        }
    }
    let zero = |v: Option<IntOrPercent>| {
        matches!(v, Some(IntOrPercent::Int(0) | IntOrPercent::Percent(0)))
    };
    if zero(ru.max_surge) && zero(ru.max_unavailable) {
        errs.push(FieldError::invalid(
            "spec.strategy.rollingUpdate.maxUnavailable",
            0,
            "may not be 0 when `maxSurge` is 0",
        ));
    }
}
