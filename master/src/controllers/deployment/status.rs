//! A Deployment's status from its pods, with Kubernetes' `Available` and `Progressing`
//! conditions. Pure: the time is passed in.
//!
//! `Progressing` is `True` (`ReplicaSetUpdated`) while the rollout moves, `True`
//! (`NewReplicaSetAvailable`) once every pod is of the current template and ready, and turns
//! `False` (`ProgressDeadlineExceeded`) when nothing moved for `progressDeadlineSeconds`:
//! `bosun rollout status` then fails. Moving means a new template, or a change in the number
//! of pods, updated pods or ready pods.
use std::time::SystemTime;

use bosun_shared::deployment::{Deployment, DeploymentStatus};
pub use bosun_shared::deployment::{AVAILABLE, DEADLINE_EXCEEDED, PROGRESSING};
use bosun_shared::meta::{set_condition, Condition};
use bosun_shared::pod::Pod;
use bosun_shared::strategy::StrategyType;
use bosun_shared::time::{parse_rfc3339, to_rfc3339};
use bosun_shared::ToCompactString;

const COMPLETE: &str = "NewReplicaSetAvailable";
const UPDATED: &str = "ReplicaSetUpdated";

/// The status of `d` given its live pods, of which `is_new` tells the current template's.
pub fn status(
    d: &Deployment,
    pods: &[&Pod],
    is_new: impl Fn(&Pod) -> bool,
    now: SystemTime,
) -> DeploymentStatus {
    let prev = d.status.clone().unwrap_or_default();
    let want = d.replicas().max(0);
    let count = |f: &dyn Fn(&Pod) -> bool| pods.iter().filter(|p| f(p)).count() as i32;
    let replicas = pods.len() as i32;
    let updated = count(&|p| is_new(p));
    let ready = count(&|p| p.is_ready());
    let new_ready = count(&|p| is_new(p) && p.is_ready());
    // Recreate promises no availability during an update (Kubernetes' `MaxUnavailable`).
    let max_unavailable = match d.spec.strategy.kind() {
        StrategyType::RollingUpdate => d.spec.strategy.bounds(want).1,
        StrategyType::Recreate => 0,
    };
    let mut status = DeploymentStatus {
        observed_generation: d.metadata.generation,
        replicas,
        updated_replicas: updated,
        ready_replicas: ready,
        available_replicas: ready,
        unavailable_replicas: (want - ready).max(0),
        conditions: prev.conditions.clone(),
    };
    let stamp = to_rfc3339(now);
    let available = if ready >= want - max_unavailable {
        condition(
            AVAILABLE,
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        condition(
            AVAILABLE,
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    set_condition(&mut status.conditions, available, &stamp);

    let name = &d.metadata.name;
    // Progress as Kubernetes counts it: a new template, more updated pods, fewer old ones,
    // more ready ones. Losses are not progress (they must not reset the deadline).
    let moved = prev.observed_generation != d.metadata.generation
        || updated > prev.updated_replicas
        || replicas - updated < prev.replicas - prev.updated_replicas
        || ready > prev.ready_replicas;
    let complete = updated == want && replicas == want && new_ready == want;
    let before = d.condition(PROGRESSING);
    let was_complete = before.is_some_and(|c| c.reason.as_deref() == Some(COMPLETE));
    let progressing = if complete {
        let msg = format!("Deployment {name:?} has successfully progressed.");
        Some(progress("True", COMPLETE, msg, before, &stamp))
    } else if was_complete && replicas == updated && !moved {
        // A finished rollout that lost a ready pod, or is being scaled: no rollout to time.
        None
    } else if moved || before.is_none() || was_complete {
        let mut c = condition(
            PROGRESSING,
            "True",
            UPDATED,
            &format!("Deployment {name:?} is progressing."),
        );
        c.set_last_update_time(Some(stamp.clone()));
        Some(c)
    } else if before.is_some_and(|c| c.reason.as_deref() != Some(DEADLINE_EXCEEDED))
        && since_update(before, now).is_some_and(|idle| idle > d.progress_deadline())
    {
        let msg = format!("Deployment {name:?} has timed out progressing.");
        let mut c = condition(PROGRESSING, "False", DEADLINE_EXCEEDED, &msg);
        c.set_last_update_time(Some(stamp.clone()));
        Some(c)
    } else {
        None
    };
    if let Some(c) = progressing {
        set_condition(&mut status.conditions, c, &stamp);
    }
    status
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        ..Default::default()
    }
}

/// A `Progressing` condition that keeps its update time while its reason stays the same.
fn progress(
    status: &str,
    reason: &str,
    msg: String,
    before: Option<&Condition>,
    now: &str,
) -> Condition {
    let mut c = condition(PROGRESSING, status, reason, &msg);
    c.set_last_update_time(match before {
        Some(b) if b.reason.as_deref() == Some(reason) => b.last_update_time().map(Into::into),
        _ => Some(now.to_compact_string()),
    });
    c
}

/// How long ago the condition was last updated.
fn since_update(c: Option<&Condition>, now: SystemTime) -> Option<std::time::Duration> {
    let t = parse_rfc3339(c?.last_update_time()?)?;
    now.duration_since(t).ok()
}

#[cfg(test)]
mod tests;
