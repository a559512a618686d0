use std::collections::BTreeMap;

use super::*;

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

/// Attempt `attempt` of a container, in sandbox `sandbox` (empty: none).
fn c(
    id: &str,
    attempt: u32,
    sandbox: &str,
    state: RunState,
    exit: Option<i64>,
) -> ObservedContainer {
    let mut labels = BTreeMap::from([(labels::ATTEMPT.to_string(), attempt.to_string())]);
    if !sandbox.is_empty() {
        labels.insert(labels::SANDBOX.into(), sandbox.into());
    }
    let done = matches!(state, RunState::Exited | RunState::Dead);
    ObservedContainer {
        id: id.into(),
        name: id.into(),
        image: "img".into(),
        labels: labels.into(),
        state,
        exit_code: exit,
        started_at: Some(t(0)),
        finished_at: done.then(|| t(10)),
        error: None,
        oom_killed: false,
        ip: None,
        published: vec![],
    }
}

fn input(attempts: &[&ObservedContainer]) -> ContainerInput<'static> {
    // Leaked so the fixtures can be built inline; tests only.
    let attempts: Vec<&'static ObservedContainer> = attempts
        .iter()
        .map(|c| &*Box::leak(Box::new((*c).clone())))
        .collect();
    ContainerInput {
        attempts,
        ..Default::default()
    }
}

fn pod(
    policy: RestartPolicy,
    sandbox: Option<&[&ObservedContainer]>,
    init: &[&[&ObservedContainer]],
    containers: &[&[&ObservedContainer]],
) -> PodInput<'static> {
    PodInput {
        restart_policy: policy,
        grace: Duration::from_secs(30),
        sandbox: sandbox.map(input),
        init: init.iter().map(|a| input(a)).collect(),
        containers: containers.iter().map(|a| input(a)).collect(),
    }
}

use RunState::*;

fn running_sandbox() -> ObservedContainer {
    c("s0", 0, "", Running, None)
}

#[test]
fn a_pod_of_one_container_has_no_sandbox() {
    let p = pod(RestartPolicy::Always, None, &[], &[&[]]);
    let got = plan(&p, t(20));
    assert_eq!(got.sandbox, Step::Idle);
    assert_eq!(got.containers, [Step::Create { attempt: 0 }]);
    assert!(got.initialized && !got.init_failed);
    assert_eq!(got.sandbox_id, None);
}

#[test]
fn the_sandbox_comes_first_then_the_containers_together() {
    let p = pod(RestartPolicy::Always, Some(&[]), &[], &[&[], &[]]);
    let got = plan(&p, t(20));
    assert_eq!(got.sandbox, Step::Create { attempt: 0 });
    assert_eq!(got.containers, [Step::Idle, Step::Idle]);

    let s = running_sandbox();
    let p = pod(RestartPolicy::Always, Some(&[&s]), &[], &[&[], &[]]);
    let got = plan(&p, t(20));
    assert_eq!(got.sandbox, Step::Idle);
    assert_eq!(got.sandbox_id.as_deref(), Some("s0"));
    assert_eq!(
        got.containers,
        [Step::Create { attempt: 0 }, Step::Create { attempt: 0 }]
    );
}

#[test]
fn init_containers_run_one_after_another() {
    let s = running_sandbox();
    let p = pod(RestartPolicy::Always, Some(&[&s]), &[&[], &[]], &[&[]]);
    let got = plan(&p, t(20));
    assert_eq!(got.init, [Step::Create { attempt: 0 }, Step::Idle]);
    assert_eq!(got.containers, [Step::Idle]);
    assert!(!got.initialized);

    let running = c("i0", 0, "s0", Running, None);
    let p = pod(
        RestartPolicy::Always,
        Some(&[&s]),
        &[&[&running], &[]],
        &[&[]],
    );
    let got = plan(&p, t(20));
    assert_eq!(got.init, [Step::Idle, Step::Idle], "the first still runs");

    let done = c("i0", 0, "s0", Exited, Some(0));
    let p = pod(RestartPolicy::Always, Some(&[&s]), &[&[&done], &[]], &[&[]]);
    let got = plan(&p, t(20));
    assert_eq!(got.init, [Step::Idle, Step::Create { attempt: 0 }]);
    assert_eq!(got.containers, [Step::Idle]);

    let done1 = c("i1", 0, "s0", Exited, Some(0));
    let p = pod(
        RestartPolicy::Always,
        Some(&[&s]),
        &[&[&done], &[&done1]],
        &[&[]],
    );
    let got = plan(&p, t(20));
    assert!(got.initialized);
    assert_eq!(got.containers, [Step::Create { attempt: 0 }]);
}

#[test]
fn a_failed_init_container_follows_the_restart_policy() {
    let s = running_sandbox();
    let failed = c("i0", 0, "s0", Exited, Some(1));
    // Always and OnFailure: retried after the back-off (10 s after it ended at 10).
    for policy in [RestartPolicy::Always, RestartPolicy::OnFailure] {
        let p = pod(policy, Some(&[&s]), &[&[&failed]], &[&[]]);
        let got = plan(&p, t(15));
        assert_eq!(got.init, [Step::WaitUntil(t(20))], "{policy:?}");
        let got = plan(&p, t(21));
        assert_eq!(got.init, [Step::Create { attempt: 1 }], "{policy:?}");
        assert!(!got.init_failed);
    }
    // Never: the pod has failed; its sandbox is stopped, its containers never start.
    let p = pod(RestartPolicy::Never, Some(&[&s]), &[&[&failed]], &[&[]]);
    let got = plan(&p, t(21));
    assert_eq!(got.init, [Step::Idle]);
    assert_eq!(got.containers, [Step::Idle]);
    assert!(got.init_failed && !got.initialized);
    assert!(matches!(got.sandbox, Step::Stop { ref id, .. } if id == "s0"));
}

#[test]
fn a_new_sandbox_runs_the_init_containers_again_and_restarts_the_containers() {
    // The sandbox died: what runs in it is stopped, and a new one is made after a back-off.
    let dead = c("s0", 0, "", Exited, Some(137));
    let init = c("i0", 0, "s0", Exited, Some(0));
    let app = c("a0", 0, "s0", Running, None);
    let p = pod(
        RestartPolicy::Always,
        Some(&[&dead]),
        &[&[&init]],
        &[&[&app]],
    );
    let got = plan(&p, t(30));
    assert_eq!(got.sandbox, Step::Create { attempt: 1 });
    assert!(matches!(got.containers[0], Step::Stop { ref id, .. } if id == "a0"));
    assert_eq!(got.init, [Step::Idle], "completed in this sandbox");

    // The new sandbox runs: the init container runs again, the stopped container waits.
    let new = c("s1", 1, "", Running, None);
    let stopped = c("a0", 0, "s0", Exited, Some(137));
    let p = pod(
        RestartPolicy::Always,
        Some(&[&dead, &new]),
        &[&[&init]],
        &[&[&stopped]],
    );
    let got = plan(&p, t(30));
    assert_eq!(got.init, [Step::Create { attempt: 1 }]);
    assert_eq!(got.containers, [Step::Idle]);
    assert_eq!(got.sandbox_id.as_deref(), Some("s1"));

    // Initialized again: the container restarts (its back-off has passed) in the new one.
    let init1 = c("i1", 1, "s1", Exited, Some(0));
    let p = pod(
        RestartPolicy::Always,
        Some(&[&dead, &new]),
        &[&[&init, &init1]],
        &[&[&stopped]],
    );
    let got = plan(&p, t(30));
    assert!(got.initialized);
    assert_eq!(got.containers, [Step::Create { attempt: 1 }]);

    // A container created in the old sandbox but never started is removed.
    let created = c("a1", 1, "s0", Created, None);
    let p = pod(
        RestartPolicy::Always,
        Some(&[&new]),
        &[],
        &[&[&created], &[]],
    );
    let got = plan(&p, t(30));
    assert_eq!(got.containers[0], Step::Remove { id: "a1".into() });
}

#[test]
fn a_finished_pod_stops_its_sandbox_and_keeps_it() {
    let s = running_sandbox();
    let init = c("i0", 0, "s0", Exited, Some(0));
    let main = c("m0", 0, "s0", Exited, Some(0));
    let p = pod(
        RestartPolicy::OnFailure,
        Some(&[&s]),
        &[&[&init]],
        &[&[&main]],
    );
    let got = plan(&p, t(30));
    assert!(matches!(got.sandbox, Step::Stop { ref id, .. } if id == "s0"));
    assert_eq!(got.containers, [Step::Idle]);

    // Stopped, it stays: the init container completed in it, so nothing runs again.
    let stopped = c("s0", 0, "", Exited, Some(0));
    let p = pod(
        RestartPolicy::OnFailure,
        Some(&[&stopped]),
        &[&[&init]],
        &[&[&main]],
    );
    let got = plan(&p, t(30));
    assert_eq!(got.sandbox, Step::Idle);
    assert_eq!(got.init, [Step::Idle]);
    assert_eq!(got.containers, [Step::Idle]);
    assert!(got.initialized);

    // One container still to restart: the pod is not finished.
    let failed = c("m0", 0, "s0", Exited, Some(1));
    let p = pod(
        RestartPolicy::OnFailure,
        Some(&[&s]),
        &[],
        &[&[&main], &[&failed]],
    );
    assert_eq!(plan(&p, t(30)).sandbox, Step::Idle);
}

#[test]
fn a_pod_whose_containers_ran_stays_initialized_when_init_containers_are_pruned() {
    // `docker container prune` removed the completed init container.
    let s = running_sandbox();
    let app = c("a0", 0, "s0", Running, None);
    let p = pod(RestartPolicy::Always, Some(&[&s]), &[&[]], &[&[&app]]);
    let got = plan(&p, t(30));
    assert!(got.initialized);
    assert_eq!(got.init, [Step::Idle]);
    assert_eq!(got.init_done, [true]);
    assert_eq!(got.containers, [Step::Idle]);
}

#[test]
fn old_attempts_of_an_init_container_are_removed() {
    let s = running_sandbox();
    let a0 = c("i0", 0, "s0", Exited, Some(1));
    let a1 = c("i1", 1, "s0", Exited, Some(1));
    let a2 = c("i2", 2, "s0", Exited, Some(0));
    let p = pod(
        RestartPolicy::Always,
        Some(&[&s]),
        &[&[&a0, &a1, &a2]],
        &[&[]],
    );
    let got = plan(&p, t(30));
    assert_eq!(got.init, [Step::Remove { id: "i0".into() }]);
    assert!(got.initialized, "the last attempt completed");
    assert_eq!(got.containers, [Step::Create { attempt: 0 }]);
}

#[test]
fn under_never_a_lost_sandbox_fails_the_pod() {
    // The sandbox was removed (`docker rm -f`) while the init container ran.
    let init = c("i0", 0, "s0", Exited, Some(137));
    let p = pod(RestartPolicy::Never, Some(&[]), &[&[&init]], &[&[]]);
    let got = plan(&p, t(30));
    assert_eq!(got.sandbox, Step::Idle, "no new sandbox");
    assert!(got.init_failed);
    assert_eq!(got.containers, [Step::Idle]);

    // It died while the container ran: the container is stopped, nothing is made again.
    let dead = c("s0", 0, "", Exited, Some(137));
    let done = c("i0", 0, "s0", Exited, Some(0));
    let app = c("a0", 0, "s0", Running, None);
    let p = pod(
        RestartPolicy::Never,
        Some(&[&dead]),
        &[&[&done]],
        &[&[&app]],
    );
    let got = plan(&p, t(30));
    assert_eq!(got.sandbox, Step::Idle);
    assert!(matches!(got.containers[0], Step::Stop { ref id, .. } if id == "a0"));
    assert!(
        !got.init_failed,
        "it had initialized; the container's exit decides"
    );
}
