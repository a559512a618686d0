//! The rollout plan, step by step with ReplicaSet controllers acting between reconciles:
//! bounds hold at every step and every rollout completes.
use bosun_shared::strategy::{IntOrPercent, RollingUpdate};

use super::*;

fn rolling(surge: i32, unavailable: i32) -> DeploymentStrategy {
    DeploymentStrategy {
        type_: None,
        rolling_update: Some(RollingUpdate {
            max_surge: Some(IntOrPercent::Int(surge)),
            max_unavailable: Some(IntOrPercent::Int(unavailable)),
        }),
    }
}

/// A ReplicaSet in the simulation: its replica count and its pods' readiness.
#[derive(Debug, Clone)]
struct Rs {
    spec: usize,
    pods: Vec<bool>,
}

impl Rs {
    fn group(&self) -> Group {
        Group {
            spec: self.spec,
            pods: self.pods.len(),
            ready: self.pods.iter().filter(|r| **r).count(),
        }
    }

    /// What the ReplicaSet controller does: unready pods go first; new pods start unready.
    fn settle(&mut self) {
        while self.pods.len() > self.spec {
            let i = self.pods.iter().position(|r| !r).unwrap_or(0);
            self.pods.remove(i);
        }
        while self.pods.len() < self.spec {
            self.pods.push(false);
        }
    }
}

/// Rolls `replicas` ready old pods over to a new ReplicaSet whose pods become ready after
/// each step (or never, when `ready_new` is false). Asserts the bounds after every step and
/// returns (new, old) at the end.
fn simulate(replicas: usize, s: &DeploymentStrategy, ready_new: bool) -> (Rs, Rs) {
    let (surge, unavailable) = s.bounds(replicas as i32);
    let mut old = Rs {
        spec: replicas,
        pods: vec![true; replicas],
    };
    let mut new = Rs {
        spec: 0,
        pods: vec![],
    };
    for step in 0..50 {
        let scale = plan(replicas as i32, s, new.group(), &[old.group()]);
        if scale.new == new.spec && scale.old == [old.spec] && new.pods.len() == new.spec {
            return (new, old);
        }
        new.spec = scale.new;
        old.spec = scale.old[0];
        old.settle();
        new.settle();
        let ready = new.group().ready + old.group().ready;
        let total = new.pods.len() + old.pods.len();
        if s.kind() == StrategyType::RollingUpdate {
            assert!(
                ready + unavailable as usize >= replicas,
                "step {step}: {ready} ready of {replicas} with maxUnavailable {unavailable}"
            );
            assert!(
                total <= replicas + surge as usize,
                "step {step}: {total} pods with maxSurge {surge}"
            );
        }
        if ready_new {
            new.pods.iter_mut().for_each(|r| *r = true);
        }
    }
    panic!("the rollout did not settle in 50 steps");
}

#[test]
fn rolling_updates_respect_both_bounds_and_complete() {
    let strategies = [
        (4, DeploymentStrategy::default()),
        (4, rolling(1, 0)),
        (4, rolling(0, 1)),
        (4, rolling(2, 2)),
        (10, rolling(3, 2)),
        (1, DeploymentStrategy::default()),
    ];
    for (replicas, s) in strategies {
        let (new, old) = simulate(replicas, &s, true);
        assert_eq!((new.spec, new.group().ready), (replicas, replicas), "{s:?}");
        assert_eq!((old.spec, old.pods.len()), (0, 0), "{s:?}");
    }
}

#[test]
fn new_pods_that_never_become_ready_leave_the_old_ones_serving() {
    let (new, old) = simulate(4, &rolling(1, 1), false);
    assert_eq!(
        old.group().ready,
        3,
        "replicas - maxUnavailable old pods keep serving"
    );
    assert_eq!(
        new.pods.len() + old.pods.len(),
        5,
        "within replicas + maxSurge"
    );
}

#[test]
fn recreate_empties_the_old_replicasets_before_growing_the_new_one() {
    let s = DeploymentStrategy {
        type_: Some(StrategyType::Recreate),
        rolling_update: None,
    };
    let old = Group {
        spec: 3,
        pods: 3,
        ready: 3,
    };
    let none = Group::default();
    assert_eq!(
        plan(3, &s, none, &[old]),
        Scale {
            new: 0,
            old: vec![0]
        }
    );
    let draining = Group {
        spec: 0,
        pods: 1,
        ready: 0,
    };
    assert_eq!(
        plan(3, &s, none, &[draining]).new,
        0,
        "waits for the last old pod"
    );
    assert_eq!(plan(3, &s, none, &[Group::default()]).new, 3);
}

#[test]
fn without_old_replicasets_the_new_one_is_scaled_directly() {
    let s = DeploymentStrategy::default();
    let g = Group {
        spec: 2,
        pods: 2,
        ready: 2,
    };
    assert_eq!(plan(5, &s, g, &[]).new, 5);
    assert_eq!(plan(1, &s, g, &[]).new, 1);
}
