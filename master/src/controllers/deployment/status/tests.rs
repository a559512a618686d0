//! Progress and availability conditions over time.
use std::time::{Duration, SystemTime};

use bosun_shared::meta::Condition;
use bosun_shared::pod::{PodPhase, PodStatus};

use super::*;

fn pod(new: bool, ready: bool) -> Pod {
    let mut p = Pod::default();
    p.metadata.name = if new { "new".into() } else { "old".into() };
    p.status = Some(PodStatus {
        phase: PodPhase::Running,
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: if ready { "True" } else { "False" }.into(),
            ..Default::default()
        }],
        ..Default::default()
    });
    p
}

fn deployment(replicas: i32, deadline: i32) -> Deployment {
    let mut d = Deployment::default();
    d.metadata.name = "web".into();
    d.metadata.generation = 2;
    d.spec.replicas = Some(replicas);
    d.spec.progress_deadline_seconds = Some(deadline);
    d
}

fn reason(s: &DeploymentStatus, type_: &str) -> (String, String) {
    let c = bosun_shared::meta::find_condition(&s.conditions, type_).expect("condition");
    (
        c.status.to_string(),
        c.reason.clone().unwrap_or_default().to_string(),
    )
}

#[test]
fn a_rollout_that_stops_moving_exceeds_its_deadline_and_recovers_when_it_moves() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mut d = deployment(2, 5);
    let (old, stuck) = (pod(false, true), pod(true, false));
    let pods = [&old, &old, &stuck];
    let is_new = |p: &Pod| p.metadata.name == "new";
    let s = status(&d, &pods, is_new, t0);
    assert_eq!(reason(&s, PROGRESSING), ("True".into(), UPDATED.into()));
    assert_eq!(
        reason(&s, AVAILABLE).0,
        "True",
        "2 ready of 2 with maxUnavailable 0"
    );
    d.status = Some(s);
    // Nothing moves for less than the deadline: still progressing.
    let s = status(&d, &pods, is_new, t0 + Duration::from_secs(4));
    assert_eq!(reason(&s, PROGRESSING).1, UPDATED);
    // Past it: failed.
    let s = status(&d, &pods, is_new, t0 + Duration::from_secs(6));
    assert_eq!(
        reason(&s, PROGRESSING),
        ("False".into(), DEADLINE_EXCEEDED.into())
    );
    d.status = Some(s);
    // The new pod becomes ready: moving again.
    let ready = pod(true, true);
    let s = status(
        &d,
        &[&old, &old, &ready],
        is_new,
        t0 + Duration::from_secs(7),
    );
    assert_eq!(reason(&s, PROGRESSING), ("True".into(), UPDATED.into()));
    d.status = Some(s);
    // Every pod new and ready: complete.
    let s = status(&d, &[&ready, &ready], is_new, t0 + Duration::from_secs(8));
    assert_eq!(reason(&s, PROGRESSING), ("True".into(), COMPLETE.into()));
    assert_eq!(
        (s.replicas, s.updated_replicas, s.ready_replicas),
        (2, 2, 2)
    );
}

#[test]
fn a_finished_rollout_that_loses_a_ready_pod_is_not_timed() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let mut d = deployment(2, 5);
    let is_new = |p: &Pod| p.metadata.name == "new";
    let (ready, unready) = (pod(true, true), pod(true, false));
    d.status = Some(status(&d, &[&ready, &ready], is_new, t0));
    let s = status(
        &d,
        &[&ready, &unready],
        is_new,
        t0 + Duration::from_secs(60),
    );
    assert_eq!(reason(&s, PROGRESSING), ("True".into(), COMPLETE.into()));
    // 25% of 2 rounds down to 0 unavailable: one ready pod of two is not enough.
    assert_eq!(reason(&s, AVAILABLE).0, "False");
}

#[test]
fn recreate_allows_no_unavailable_pod() {
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
    let is_new = |p: &Pod| p.metadata.name == "new";
    let (ready, unready) = (pod(true, true), pod(true, false));
    let pods = [&ready, &ready, &ready, &unready];
    let rolling = deployment(4, 600);
    assert_eq!(
        reason(&status(&rolling, &pods, is_new, t0), AVAILABLE).0,
        "True"
    );
    let mut recreate = deployment(4, 600);
    recreate.spec.strategy.type_ = Some(bosun_shared::strategy::StrategyType::Recreate);
    assert_eq!(
        reason(&status(&recreate, &pods, is_new, t0), AVAILABLE).0,
        "False"
    );
}
