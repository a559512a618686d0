//! The rollout decision of one reconcile, as a pure function: which pods to create and which
//! to delete so that the Deployment moves towards `replicas` pods of its current template
//! within its strategy's bounds.
//!
//! This follows Kubernetes' rolling update (`deployment/rolling.go`), with pods grouped by
//! template hash standing in for ReplicaSets:
//! - new pods are added while the total stays within `replicas + maxSurge`;
//! - old pods go while the ready pods stay at least `replicas - maxUnavailable`; old pods that
//!   are not ready go first, as they serve nobody;
//! - `Recreate` deletes every old pod before it creates a new one.
//!
//! Readiness is the pods' `Ready` condition (their readiness probes), so a rollout whose new
//! pods never become ready stops there with the old pods still serving.
use bosun_shared::pod::Pod;
use bosun_shared::strategy::{DeploymentStrategy, StrategyType};

/// What one reconcile does.
#[derive(Debug, Default, PartialEq)]
pub struct Plan<'a> {
    /// New pods of the current template to create.
    pub create: usize,
    /// Pods to delete.
    pub delete: Vec<&'a Pod>,
}

/// Plans a reconcile of `replicas` pods; `new` are the live pods of the current template,
/// `old` those of earlier templates (finished pods were already set aside).
pub fn plan<'a>(
    replicas: i32,
    strategy: &DeploymentStrategy,
    new: &[&'a Pod],
    old: &[&'a Pod],
) -> Plan<'a> {
    let want = replicas.max(0) as usize;
    let mut plan = Plan::default();
    if strategy.kind() == StrategyType::Recreate {
        if !old.is_empty() {
            plan.delete = old.to_vec();
            return plan;
        }
        scale_new(&mut plan, want, new);
        return plan;
    }
    let (surge, unavailable) = strategy.bounds(replicas);
    let (surge, unavailable) = (surge as usize, unavailable as usize);
    // The new pods first: extras go, missing ones come within the surge bound.
    let kept_new = scale_new_within(&mut plan, want, new, old.len(), surge);
    // Then old pods, as far as availability allows.
    let new_ready = new.iter().filter(|p| p.is_ready()).count().min(kept_new);
    let new_unavailable = kept_new - new_ready;
    let min_available = want.saturating_sub(unavailable);
    let all = kept_new + old.len();
    let mut budget = all
        .saturating_sub(min_available)
        .saturating_sub(new_unavailable);
    let (ready_old, unready_old): (Vec<&Pod>, Vec<&Pod>) =
        old.iter().copied().partition(|p| p.is_ready());
    for p in least_useful_first(unready_old) {
        if budget == 0 {
            break;
        }
        plan.delete.push(p);
        budget -= 1;
    }
    let available = new_ready + ready_old.len();
    let mut may_remove = available.saturating_sub(min_available).min(budget);
    for p in oldest_first(ready_old) {
        if may_remove == 0 {
            break;
        }
        plan.delete.push(p);
        may_remove -= 1;
    }
    plan
}

/// Brings the new pods to `want` with no other bound (no old pods left, or `Recreate`).
fn scale_new<'a>(plan: &mut Plan<'a>, want: usize, new: &[&'a Pod]) {
    scale_new_within(plan, want, new, 0, usize::MAX);
}

/// Deletes new pods beyond `want`, or creates missing ones while the total (with `old` old
/// pods) stays within `want + surge`. Returns the number of new pods once the plan is done
/// (kept and created).
fn scale_new_within<'a>(
    plan: &mut Plan<'a>,
    want: usize,
    new: &[&'a Pod],
    old: usize,
    surge: usize,
) -> usize {
    if new.len() > want {
        let extra = new.len() - want;
        plan.delete
            .extend(least_useful_first(new.to_vec()).into_iter().take(extra));
        return want;
    }
    let max_total = want.saturating_add(surge);
    let total = new.len() + old;
    plan.create = max_total.saturating_sub(total).min(want - new.len());
    new.len() + plan.create
}

/// Unscheduled, then not ready, then the newest: the order in which pods are least missed.
fn least_useful_first(mut pods: Vec<&Pod>) -> Vec<&Pod> {
    pods.sort_by_key(|p| {
        (
            p.spec.node_name.is_some(),
            p.is_ready(),
            std::cmp::Reverse(p.metadata.creation_timestamp.clone()),
        )
    });
    pods
}

/// The oldest first (Kubernetes scales the oldest ReplicaSet down first).
fn oldest_first(mut pods: Vec<&Pod>) -> Vec<&Pod> {
    pods.sort_by_key(|p| p.metadata.creation_timestamp.clone());
    pods
}

#[cfg(test)]
mod tests;
