//! The reconciler against the in-memory runtime: create, restart with back-off, adopt, remove.
use std::sync::Arc;
use std::time::Duration;

use bosun_agent::desired::DesiredPods;
use bosun_agent::reconciler::Reconciler;
use bosun_shared::pod::{PodPhase, RestartPolicy};

mod fixture;
use fixture::{pod, Fixture};

#[tokio::test]
async fn runs_restarts_and_removes_a_pod() {
    let f = Fixture::new();
    f.desired
        .apply(true, vec![pod("u1", "img:1", RestartPolicy::Always)], &[])
        .unwrap();
    f.settle("container running", |f| f.running().len() == 1)
        .await;
    f.settle("status Running", |f| {
        f.status("u1").is_some_and(|s| s.phase == PodPhase::Running)
    })
    .await;
    let first = f.running()[0].clone();

    // A crash: the next attempt starts after the 10 s back-off.
    f.runtime.exit(&first, 137).unwrap();
    f.settle("restart", |f| {
        f.running().len() == 1 && f.running()[0] != first
    })
    .await;
    // The previous attempt stays (stopped) for its last state; only two exist.
    f.settle("two attempts kept", |f| f.runtime.containers().len() == 2)
        .await;
    f.settle("restart count 1 and last state", |f| {
        f.status("u1").is_some_and(|s| {
            let c = &s.container_statuses[0];
            c.restart_count == 1
                && c.last_state
                    .as_ref()
                    .and_then(|l| l.terminated.as_ref())
                    .is_some_and(|t| t.exit_code == 137)
        })
    })
    .await;

    // Unassigned: stopped and removed.
    f.desired.apply(true, vec![], &[]).unwrap();
    f.settle("container removed", |f| f.runtime.containers().is_empty())
        .await;
}

#[tokio::test]
async fn a_new_reconciler_adopts_running_containers() {
    let f = Fixture::new();
    f.desired
        .apply(true, vec![pod("u1", "img:1", RestartPolicy::Always)], &[])
        .unwrap();
    f.settle("container running", |f| f.running().len() == 1)
        .await;
    let before = f.running();
    // A second reconciler over the same engine and assignments (an agent restart).
    let again = Reconciler::new(
        "n1".into(),
        "10.0.0.1".into(),
        f.runtime.clone(),
        f.desired.clone(),
        f.board.clone(),
    );
    for _ in 0..5 {
        again.pass(&f.tasks).await.unwrap();
    }
    assert_eq!(f.running(), before, "no duplicate, same container");
    assert_eq!(f.runtime.containers().len(), 1);
}

#[tokio::test]
async fn missing_image_is_reported_and_never_fulfilled_policy_never_finishes() {
    let f = Fixture::new();
    f.desired
        .apply(
            true,
            vec![
                pod("u1", "nope:1", RestartPolicy::Always),
                pod("u2", "img:1", RestartPolicy::Never),
            ],
            &[],
        )
        .unwrap();
    f.settle("ErrImagePull reported", |f| {
        f.status("u1").is_some_and(|s| {
            s.container_statuses[0]
                .state
                .waiting
                .as_ref()
                .and_then(|w| w.reason.as_deref())
                == Some("ErrImagePull")
        })
    })
    .await;
    let s = f.status("u1").unwrap();
    assert_eq!(s.phase, PodPhase::Pending);
    assert!(
        s.message.unwrap().contains("nope:1"),
        "message names the image"
    );

    f.settle("u2 running", |f| f.running().len() == 1).await;
    let id = f.running()[0].clone();
    f.runtime.exit(&id, 3).unwrap();
    f.settle("u2 failed", |f| {
        f.status("u2").is_some_and(|s| s.phase == PodPhase::Failed)
    })
    .await;
    let s = f.status("u2").unwrap();
    assert_eq!(
        s.container_statuses[0]
            .state
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        3
    );
    // Never restarted.
    for _ in 0..3 {
        f.reconciler.pass(&f.tasks).await.unwrap();
    }
    assert_eq!(f.runtime.containers().len(), 1);
}

#[tokio::test]
async fn lost_assignments_remove_nothing_until_a_master_sends_them() {
    let f = Fixture::new();
    f.desired
        .apply(true, vec![pod("u1", "img:1", RestartPolicy::Always)], &[])
        .unwrap();
    f.settle("container running", |f| f.running().len() == 1)
        .await;
    // The agent restarts with its assignments file gone (a wiped data directory).
    let empty = tempfile::tempdir().unwrap();
    let desired = Arc::new(DesiredPods::load(empty.path()));
    let again = Reconciler::new(
        "n1".into(),
        "10.0.0.1".into(),
        f.runtime.clone(),
        desired.clone(),
        f.board.clone(),
    );
    for _ in 0..5 {
        again.pass(&f.tasks).await.unwrap();
    }
    assert_eq!(
        f.running().len(),
        1,
        "nothing is removed while the assignments are unknown"
    );
    // A master's full assignment without the pod: now it goes.
    desired.apply(true, vec![], &[]).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !f.runtime.containers().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "container removed after the full assignment"
        );
        again.pass(&f.tasks).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
