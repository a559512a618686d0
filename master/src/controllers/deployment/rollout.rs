//! The rollout decision of one reconcile, as a pure function: the replica counts of the
//! Deployment's ReplicaSets that move it towards `replicas` pods of its current template
//! within its strategy's bounds. This is Kubernetes' `deployment/rolling.go`:
//! - the new ReplicaSet grows while the total stays within `replicas + maxSurge`;
//! - old ReplicaSets shrink while the available pods stay at least
//!   `replicas - maxUnavailable`, first by their unavailable pods (they serve nobody), then
//!   the oldest first;
//! - `Recreate` shrinks every old ReplicaSet to zero, and grows the new one only once their
//!   pods are gone.
//!
//! A ReplicaSet's available pods are its ready pods, at most its replica count (its
//! controller removes unready pods first), counted from the pods themselves, not from a
//! status that may lag. Readiness is the pods' `Ready` condition (their readiness probes), so
//! a rollout whose new pods never become ready stops with the old pods still serving.
use bosun_shared::strategy::{DeploymentStrategy, StrategyType};

/// What the plan needs to know of one ReplicaSet.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Group {
    /// Its replica count.
    pub spec: usize,
    /// Its live pods, terminating ones included (`Recreate` waits until they are gone).
    pub pods: usize,
    /// Its ready pods, terminating ones excluded.
    pub ready: usize,
}

impl Group {
    /// Ready pods that stay once the ReplicaSet is at `spec`.
    fn available(&self, spec: usize) -> usize {
        self.ready.min(spec)
    }
}

/// The replica counts a reconcile sets: the new ReplicaSet's and each old one's (same order).
#[derive(Debug, PartialEq)]
pub struct Scale {
    pub new: usize,
    pub old: Vec<usize>,
}

/// Plans `replicas` pods; `old` is ordered oldest first.
pub fn plan(replicas: i32, strategy: &DeploymentStrategy, new: Group, old: &[Group]) -> Scale {
    let want = replicas.max(0) as usize;
    if strategy.kind() == StrategyType::Recreate {
        let old_left = old.iter().any(|g| g.spec > 0 || g.pods > 0);
        return Scale {
            new: if old_left { new.spec.min(want) } else { want },
            old: vec![0; old.len()],
        };
    }
    let (surge, unavailable) = strategy.bounds(replicas);
    let (surge, unavailable) = (surge as usize, unavailable as usize);
    let mut old_spec: Vec<usize> = old.iter().map(|g| g.spec).collect();
    // The new ReplicaSet first: down to `want`, or up within the surge bound.
    let new_spec = if new.spec >= want {
        want
    } else {
        let total = new.spec + old_spec.iter().sum::<usize>();
        let up = (want + surge).saturating_sub(total).min(want - new.spec);
        new.spec + up
    };
    // Then the old ones, as far as availability allows.
    let min_available = want.saturating_sub(unavailable);
    let new_unavailable = new_spec - new.available(new_spec);
    let all = new_spec + old_spec.iter().sum::<usize>();
    let mut budget = all
        .saturating_sub(min_available)
        .saturating_sub(new_unavailable);
    for (spec, g) in old_spec.iter_mut().zip(old) {
        let cut = (*spec - g.available(*spec)).min(budget);
        *spec -= cut;
        budget -= cut;
    }
    let available = new.available(new_spec)
        + old_spec
            .iter()
            .zip(old)
            .map(|(spec, g)| g.available(*spec))
            .sum::<usize>();
    let mut may_remove = available.saturating_sub(min_available).min(budget);
    for spec in old_spec.iter_mut() {
        let cut = (*spec).min(may_remove);
        *spec -= cut;
        may_remove -= cut;
    }
    Scale {
        new: new_spec,
        old: old_spec,
    }
}

#[cfg(test)]
mod tests;
