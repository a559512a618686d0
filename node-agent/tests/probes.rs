//! Probes run by the reconciler's prober against the in-memory runtime, whose execs the tests
//! script: readiness makes the pod Ready or not, a failed liveness or startup probe restarts the
//! container, the startup probe holds the others back, thresholds count.
use bosun_agent::runtime::fake::FakeExec;
use bosun_shared::meta::find_condition;
use bosun_shared::pod::{ContainerStatus, Pod, PodPhase, PodStatus, RestartPolicy};
use bosun_shared::probe::{ExecAction, Probe};

mod fixture;
use fixture::{pod, Fixture};

/// An exec probe of `command`, run every second.
fn exec(command: &str, failure_threshold: i32) -> Probe {
    Probe {
        exec: Some(ExecAction {
            command: vec![command.to_string()],
        }),
        period_seconds: 1,
        failure_threshold,
        ..Probe::default()
    }
}

fn pass(f: &Fixture, command: &str) {
    f.runtime.script_exec(
        &[command],
        FakeExec::Exit {
            code: 0,
            output: String::new(),
        },
    );
}

fn fail(f: &Fixture, command: &str, output: &str) {
    f.runtime.script_exec(
        &[command],
        FakeExec::Exit {
            code: 1,
            output: output.to_string(),
        },
    );
}

fn container(s: &PodStatus) -> &ContainerStatus {
    &s.container_statuses[0]
}

/// The status of the pod's `condition` (`True`/`False`), if reported.
fn condition(s: &PodStatus, condition: &str) -> Option<String> {
    find_condition(&s.conditions, condition).map(|c| c.status.to_string())
}

fn pod_ready(f: &Fixture, uid: &str) -> Option<bool> {
    let s = f.status(uid)?;
    let ready = condition(&s, "Ready")?;
    assert_eq!(
        Some(&ready),
        condition(&s, "ContainersReady").as_ref(),
        "Ready and ContainersReady agree: {s:?}"
    );
    Some(ready == "True")
}

fn with_probes(uid: &str, edit: impl FnOnce(&mut bosun_shared::pod::Container)) -> Pod {
    let mut p = pod(uid, "img:1", RestartPolicy::Always);
    edit(&mut p.spec.containers[0]);
    p
}

#[tokio::test]
async fn readiness_flips_the_pod_ready_and_the_status_is_sent_again() {
    let f = Fixture::new();
    fail(&f, "ready", "");
    let p = with_probes("u1", |c| {
        c.readiness_probe = Some(Box::new(exec("ready", 1)))
    });
    f.desired.apply(true, vec![p], &[]).unwrap();
    f.settle("a failed readiness run", |f| {
        f.runtime.exec_count(&["ready"]) >= 1 && f.status("u1").is_some()
    })
    .await;
    let s = f.status("u1").unwrap();
    assert_eq!(s.phase, PodPhase::Running);
    assert!(!container(&s).ready, "{s:?}");
    assert_eq!(container(&s).started, Some(true), "no startup probe");
    assert_eq!(pod_ready(&f, "u1"), Some(false));
    let events = next_unhealthy(&f).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert!(
        events[0].starts_with("Readiness probe failed:"),
        "{events:?}"
    );
    let ready = find_condition(&s.conditions, "Ready").unwrap();
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(
        ready.message.as_deref(),
        Some("containers with unready status: [main]")
    );

    let (_, sent) = f.board.since(0);
    pass(&f, "ready");
    f.settle("pod Ready", |f| pod_ready(f, "u1") == Some(true))
        .await;
    assert!(container(&f.status("u1").unwrap()).ready);
    let (changed, _) = f.board.since(sent);
    assert!(
        changed.iter().any(|r| r.uid == "u1"),
        "the new status is queued for the master"
    );

    fail(&f, "ready", "");
    f.settle("pod not Ready again", |f| pod_ready(f, "u1") == Some(false))
        .await;
    assert_eq!(f.running().len(), 1, "readiness never restarts");
    assert_eq!(container(&f.status("u1").unwrap()).restart_count, 0);
    let again = next_unhealthy(&f).await;
    assert_eq!(
        again.len(),
        1,
        "one event each time it starts failing: {again:?}"
    );
}

/// Waits for `Unhealthy` events and returns their messages.
async fn next_unhealthy(f: &Fixture) -> Vec<String> {
    let got = std::sync::Mutex::new(Vec::new());
    f.settle("an Unhealthy event", |f| {
        let mut got = got.lock().unwrap();
        got.extend(unhealthy(f));
        !got.is_empty()
    })
    .await;
    got.into_inner().unwrap()
}

/// Messages of the `Unhealthy` events queued since the last call.
fn unhealthy(f: &Fixture) -> Vec<String> {
    f.reconciler
        .events()
        .drain()
        .into_iter()
        .filter(|e| e.reason == "Unhealthy")
        .map(|e| e.message)
        .collect()
}

#[tokio::test]
async fn a_failed_liveness_probe_restarts_the_container_after_its_threshold() {
    let f = Fixture::new();
    fail(&f, "alive", "unhealthy: disk full\n");
    let p = with_probes("u1", |c| {
        c.liveness_probe = Some(Box::new(exec("alive", 3)))
    });
    f.desired.apply(true, vec![p], &[]).unwrap();
    f.settle("container running", |f| f.running().len() == 1)
        .await;
    let first = f.running()[0].clone();
    // Without a readiness probe, a running container is ready while liveness fails.
    f.settle("pod Ready", |f| pod_ready(f, "u1") == Some(true))
        .await;

    f.settle("the container killed", |f| f.running().is_empty())
        .await;
    assert_eq!(
        f.runtime.exec_count(&["alive"]),
        3,
        "killed on the third failure in a row, and probed no more"
    );
    pass(&f, "alive");
    f.settle("a new attempt running, restart count 1", |f| {
        f.running().len() == 1
            && f.running()[0] != first
            && f.status("u1")
                .is_some_and(|s| container(&s).restart_count == 1)
    })
    .await;
    let s = f.status("u1").unwrap();
    let last = container(&s)
        .last_state
        .as_ref()
        .and_then(|l| l.terminated.as_ref())
        .expect("the killed attempt's last state");
    assert_eq!(last.reason.as_deref(), Some("Error"));
    assert_eq!(
        last.exit_code,
        bosun_agent::runtime::fake::STOPPED_EXIT_CODE as i32
    );
    assert_eq!(
        last.message.as_deref(),
        Some("Liveness probe failed: unhealthy: disk full")
    );
    // The new attempt is probed by new workers and passes.
    let before = f.runtime.exec_count(&["alive"]);
    f.settle("the new attempt probed", |f| {
        f.runtime.exec_count(&["alive"]) > before
    })
    .await;
    assert_eq!(f.running().len(), 1);
}

#[tokio::test]
async fn the_startup_probe_holds_back_liveness_and_readiness() {
    let f = Fixture::new();
    fail(&f, "started", "");
    fail(&f, "alive", "");
    pass(&f, "ready");
    let p = with_probes("u1", |c| {
        c.startup_probe = Some(Box::new(exec("started", 30)));
        c.liveness_probe = Some(Box::new(exec("alive", 1)));
        c.readiness_probe = Some(Box::new(exec("ready", 1)));
    });
    f.desired.apply(true, vec![p], &[]).unwrap();
    f.settle("three startup runs", |f| {
        f.runtime.exec_count(&["started"]) >= 3
    })
    .await;
    f.reconciler.pass(&f.tasks).await.unwrap();
    assert_eq!(f.runtime.exec_count(&["alive"]), 0, "liveness waits");
    assert_eq!(f.runtime.exec_count(&["ready"]), 0, "readiness waits");
    let s = f.status("u1").unwrap();
    assert_eq!(container(&s).started, Some(false));
    assert!(!container(&s).ready);
    assert_eq!(pod_ready(&f, "u1"), Some(false));
    assert_eq!(f.running().len(), 1, "startup failures below the threshold");

    pass(&f, "alive");
    pass(&f, "started");
    f.settle("started and Ready", |f| {
        f.status("u1")
            .is_some_and(|s| container(&s).started == Some(true) && container(&s).ready)
    })
    .await;
    assert_eq!(pod_ready(&f, "u1"), Some(true));
    f.settle("liveness runs once started", |f| {
        f.runtime.exec_count(&["alive"]) >= 1
    })
    .await;
}

#[tokio::test]
async fn a_startup_probe_that_times_out_kills_and_probes_stop_with_their_attempt() {
    let f = Fixture::new();
    f.runtime.script_exec(&["started"], FakeExec::Hang);
    let p = with_probes("u1", |c| {
        c.startup_probe = Some(Box::new(exec("started", 1)));
        c.readiness_probe = Some(Box::new(exec("ready", 1)));
    });
    f.desired.apply(true, vec![p], &[]).unwrap();
    f.settle("container running, two probes", |f| {
        f.running().len() == 1 && f.reconciler.prober().workers() == 2
    })
    .await;
    f.settle("the container killed", |f| f.running().is_empty())
        .await;
    f.settle("waiting to restart with the reason", |f| {
        f.status("u1").is_some_and(|s| {
            container(&s)
                .last_state
                .as_ref()
                .and_then(|l| l.terminated.as_ref())
                .and_then(|t| t.message.clone())
                .as_deref()
                == Some("Startup probe failed: command [\"started\"] timed out after 1s")
        })
    })
    .await;
    f.settle("the killed attempt's probes ended", |f| {
        f.reconciler.prober().workers() == 0
    })
    .await;

    // A new attempt gets new probes; removing the pod stops them.
    f.runtime.script_exec(
        &["started"],
        FakeExec::Exit {
            code: 0,
            output: String::new(),
        },
    );
    f.settle("restarted, started and ready", |f| {
        f.status("u1").is_some_and(|s| {
            container(&s).restart_count == 1 && container(&s).started == Some(true)
        }) && pod_ready(f, "u1") == Some(true)
    })
    .await;
    assert_eq!(f.reconciler.prober().workers(), 1, "readiness goes on");
    f.desired.apply(true, vec![], &[]).unwrap();
    f.settle("container removed, no probe left", |f| {
        f.runtime.containers().is_empty() && f.reconciler.prober().workers() == 0
    })
    .await;
}
