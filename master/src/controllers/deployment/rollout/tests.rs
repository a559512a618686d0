//! The rollout plan, step by step: bounds hold at every step and every rollout completes.
use bosun_shared::meta::Condition;
use bosun_shared::pod::{PodPhase, PodStatus};
use bosun_shared::strategy::{IntOrPercent, RollingUpdate};

use super::*;

/// A pod of template `hash`, created at `t`, scheduled and ready as asked.
fn pod(hash: &str, t: usize, ready: bool) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = format!("{hash}-{t}");
    p.metadata.creation_timestamp = Some(format!("2026-01-01T00:{:02}:{:02}Z", t / 60, t % 60));
    p.spec.node_name = Some("n1".into());
    let status = if ready { "True" } else { "False" };
    p.status = Some(PodStatus {
        phase: PodPhase::Running,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: status.into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    p
}

fn rolling(surge: i32, unavailable: i32) -> DeploymentStrategy {
    DeploymentStrategy {
        type_: None,
        rolling_update: Some(RollingUpdate {
            max_surge: Some(IntOrPercent::Int(surge)),
            max_unavailable: Some(IntOrPercent::Int(unavailable)),
        }),
    }
}

/// Runs a rollout from `replicas` ready old pods to new ones. Between reconciles, the new
/// pods created so far become ready (or never do, when `ready_new` is false). Returns the
/// pods at the end and asserts the bounds after every step.
fn simulate(replicas: usize, s: &DeploymentStrategy, ready_new: bool) -> Vec<Pod> {
    let (surge, unavailable) = s.bounds(replicas as i32);
    let mut clock = 0;
    let mut pods: Vec<Pod> = (0..replicas)
        .map(|_| {
            clock += 1;
            pod("old", clock, true)
        })
        .collect();
    for step in 0..50 {
        let (new, old): (Vec<&Pod>, Vec<&Pod>) = pods
            .iter()
            .partition(|p| p.metadata.name.starts_with("new"));
        let plan = plan(replicas as i32, s, &new, &old);
        if plan.create == 0 && plan.delete.is_empty() {
            return pods;
        }
        let gone: Vec<String> = plan
            .delete
            .iter()
            .map(|p| p.metadata.name.clone())
            .collect();
        let create = plan.create;
        pods.retain(|p| !gone.contains(&p.metadata.name));
        for _ in 0..create {
            clock += 1;
            pods.push(pod("new", clock, false));
        }
        let ready = pods.iter().filter(|p| p.is_ready()).count();
        if s.kind() == StrategyType::RollingUpdate {
            assert!(
                ready + unavailable as usize >= replicas,
                "step {step}: {ready} ready of {replicas} with maxUnavailable {unavailable}"
            );
            assert!(
                pods.len() <= replicas + surge as usize,
                "step {step}: {} pods with maxSurge {surge}",
                pods.len()
            );
        }
        if ready_new {
            for p in pods
                .iter_mut()
                .filter(|p| p.metadata.name.starts_with("new"))
            {
                *p = pod("new", p.metadata.name[4..].parse().unwrap(), true);
            }
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
        let end = simulate(replicas, &s, true);
        assert_eq!(end.len(), replicas, "{s:?}");
        assert!(
            end.iter()
                .all(|p| p.metadata.name.starts_with("new") && p.is_ready()),
            "{s:?}: {end:?}"
        );
    }
}

#[test]
fn new_pods_that_never_become_ready_leave_the_old_ones_serving() {
    let end = simulate(4, &rolling(1, 1), false);
    let old_ready = end
        .iter()
        .filter(|p| p.metadata.name.starts_with("old") && p.is_ready())
        .count();
    assert_eq!(
        old_ready, 3,
        "replicas - maxUnavailable old pods keep serving: {end:?}"
    );
    assert_eq!(end.len(), 5, "within replicas + maxSurge");
}

#[test]
fn recreate_deletes_every_old_pod_before_creating() {
    let s = DeploymentStrategy {
        type_: Some(StrategyType::Recreate),
        rolling_update: None,
    };
    let old: Vec<Pod> = (0..3).map(|t| pod("old", t, true)).collect();
    let old_refs: Vec<&Pod> = old.iter().collect();
    let p = plan(3, &s, &[], &old_refs);
    assert_eq!(p.create, 0);
    assert_eq!(p.delete.len(), 3);
    let p = plan(3, &s, &[], &[]);
    assert_eq!(p.create, 3);
}

#[test]
fn scaling_without_a_rollout_removes_the_least_useful_pods() {
    let a = pod("new", 1, true);
    let b = pod("new", 2, false);
    let mut c = pod("new", 3, true);
    c.spec.node_name = None;
    let p = plan(1, &DeploymentStrategy::default(), &[&a, &b, &c], &[]);
    let gone: Vec<&str> = p.delete.iter().map(|p| p.metadata.name.as_str()).collect();
    assert_eq!(
        gone,
        ["new-3", "new-2"],
        "unscheduled first, then not ready"
    );
    assert_eq!(
        plan(5, &DeploymentStrategy::default(), &[&a], &[]).create,
        4
    );
}
