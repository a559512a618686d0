//! Pod status as the agent observes it: phase, container states, restart counts, messages.
use std::time::SystemTime;

use bosun_shared::meta::Condition;
use bosun_shared::pod::{
    ContainerState, ContainerStatus, Pod, PodPhase, PodStatus, RestartPolicy, StateRunning,
    StateTerminated, StateWaiting, CONTAINERS_READY, INITIALIZED, POD_READY,
};
use bosun_shared::time::to_rfc3339;
use bosun_shared::{format_compact, CompactString, ToCompactString};

use crate::probe::ProbeView;
use crate::runtime::{ObservedContainer, RunState};
use crate::step::{restarts, Failure, Step};

/// What the agent knows of one container of a pod.
pub struct ContainerView<'a> {
    pub name: &'a str,
    pub image: &'a str,
    /// The current (highest) attempt, if any exists.
    pub current: Option<&'a ObservedContainer>,
    /// The attempt before it, kept stopped for its last state.
    pub previous: Option<&'a ObservedContainer>,
    pub failure: Option<&'a Failure>,
    /// The step last decided (for back-off reporting).
    pub step: &'a Step,
    /// What the probes of the current attempt found (`None`: it has no probes).
    pub probes: Option<&'a ProbeView>,
    /// What the probes of the previous attempt found (a liveness failure names why it ended).
    pub previous_probes: Option<&'a ProbeView>,
}

/// What the agent knows of a pod: its init containers, containers and sandbox, and where the
/// plan ([`crate::pod_plan`]) stands.
pub struct PodView<'a> {
    pub init: Vec<ContainerView<'a>>,
    pub containers: Vec<ContainerView<'a>>,
    /// The sandbox's current attempt (a pod of several containers): its address and
    /// published ports are the pod's.
    pub sandbox: Option<&'a ObservedContainer>,
    /// Every init container has completed.
    pub initialized: bool,
    /// Which init containers have completed in the pod's current sandbox.
    pub init_done: Vec<bool>,
    /// An init container failed for good.
    pub init_failed: bool,
}

fn ts(t: Option<SystemTime>) -> Option<CompactString> {
    t.map(to_rfc3339)
}

/// How an exited container ended; `probes` say whether a probe failure killed it.
fn terminated_state(c: &ObservedContainer, probes: Option<&ProbeView>) -> StateTerminated {
    let probe_failure = probes
        .and_then(|p| p.failed.as_ref())
        .map(|f| CompactString::from(f.message.as_str()));
    StateTerminated {
        exit_code: c.exit_code.unwrap_or(0) as i32,
        reason: Some(
            if c.oom_killed {
                "OOMKilled"
            } else if c.exit_code == Some(0) {
                "Completed"
            } else {
                "Error"
            }
            .to_compact_string(),
        ),
        message: c
            .error
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(CompactString::from)
            .or(probe_failure),
        started_at: ts(c.started_at),
        finished_at: ts(c.finished_at),
    }
}

/// A container's status; `policy` says whether an exited one restarts.
fn container_status(v: &ContainerView<'_>, policy: RestartPolicy) -> ContainerStatus {
    let mut s = ContainerStatus {
        name: v.name.to_compact_string(),
        image: v.image.to_compact_string(),
        started: Some(false),
        ..Default::default()
    };
    let Some(c) = v.current else {
        s.state = match v.failure {
            Some(f) => waiting(&f.reason, Some(f.message.clone())),
            None => waiting("ContainerCreating", None),
        };
        return s;
    };
    s.container_id = Some(format_compact!("docker://{}", c.id));
    s.published_ports = c.published.iter().map(published_port).collect();
    s.restart_count = crate::labels::attempt_of(&c.labels) as i32;
    let terminated = || terminated_state(c, v.probes);
    s.last_state = v
        .previous
        .filter(|p| matches!(p.state, RunState::Exited | RunState::Dead))
        .map(|p| {
            Box::new(ContainerState {
                terminated: Some(Box::new(terminated_state(p, v.previous_probes))),
                ..Default::default()
            })
        });
    s.state = match c.state {
        RunState::Running | RunState::Paused | RunState::Restarting => {
            // Without probes a running container has started and is ready.
            let started = c.state == RunState::Running && v.probes.is_none_or(|p| p.started);
            s.started = Some(started);
            s.ready = started && v.probes.is_none_or(|p| p.ready && p.failed.is_none());
            ContainerState {
                running: Some(StateRunning {
                    started_at: ts(c.started_at),
                }),
                ..Default::default()
            }
        }
        RunState::Created => match v.failure {
            Some(f) => waiting(&f.reason, Some(f.message.clone())),
            None => waiting("ContainerCreating", None),
        },
        RunState::Exited | RunState::Dead => {
            let killed = v.probes.is_some_and(|p| p.failed.is_some());
            if restarts(policy, c.exit_code, killed) {
                s.last_state = Some(Box::new(ContainerState {
                    terminated: Some(Box::new(terminated())),
                    ..Default::default()
                }));
                // Stable text (no countdown), so an unchanged state is not re-reported.
                let msg = match v.step {
                    Step::WaitUntil(_) => format!(
                        "back-off {}s restarting failed container {}",
                        crate::step::backoff(s.restart_count as u32 + 1).as_secs(),
                        v.name
                    ),
                    _ => format!("restarting container {}", v.name),
                };
                waiting("CrashLoopBackOff", Some(msg))
            } else {
                ContainerState {
                    terminated: Some(Box::new(terminated())),
                    ..Default::default()
                }
            }
        }
    };
    s
}

/// The status of `pod` from the views of its parts. `start_time` is when the agent took the
/// pod.
pub fn pod_status(
    pod: &Pod,
    view: &PodView<'_>,
    start_time: Option<&str>,
    host_ip: &str,
) -> PodStatus {
    let policy = pod.restart_policy();
    let waiting_for_init = |mut s: ContainerStatus, v: &ContainerView<'_>| {
        if v.current.is_none() && v.failure.is_none() {
            s.state = waiting("PodInitializing", None);
        }
        s
    };
    let mut statuses: Vec<ContainerStatus> = view
        .containers
        .iter()
        .map(|v| {
            let s = container_status(v, policy);
            if view.initialized {
                s
            } else {
                waiting_for_init(s, v)
            }
        })
        .collect();
    // Init containers restart on failure only (never, under `Never`); one that completed in
    // the current sandbox counts as ready.
    let init_policy = match policy {
        RestartPolicy::Never => RestartPolicy::Never,
        _ => RestartPolicy::OnFailure,
    };
    let init_statuses: Vec<ContainerStatus> = view
        .init
        .iter()
        .zip(view.init_done.iter().chain(std::iter::repeat(&false)))
        .map(|(v, done)| {
            let mut s = waiting_for_init(container_status(v, init_policy), v);
            s.ready = *done;
            s
        })
        .collect();
    if let Some(sandbox) = view.sandbox {
        for s in &mut statuses {
            s.published_ports = sandbox_ports(pod, &s.name, sandbox);
        }
    }
    let any_running = statuses.iter().any(|s| s.state.running.is_some());
    let all_terminated =
        !statuses.is_empty() && statuses.iter().all(|s| s.state.terminated.is_some());
    let ever_started = view
        .containers
        .iter()
        .any(|v| v.current.is_some_and(|c| c.started_at.is_some()));
    let phase = if view.init_failed {
        PodPhase::Failed
    } else if !view.initialized {
        PodPhase::Pending
    } else if all_terminated {
        if statuses.iter().all(|s| {
            s.state
                .terminated
                .as_ref()
                .is_some_and(|t| t.exit_code == 0)
        }) {
            PodPhase::Succeeded
        } else {
            PodPhase::Failed
        }
    } else if any_running || ever_started {
        PodPhase::Running
    } else {
        PodPhase::Pending
    };
    let problem = init_statuses
        .iter()
        .chain(&statuses)
        .find_map(|s| s.state.waiting.as_ref())
        .filter(|w| w.message.is_some());
    let mut conditions = vec![initialized_condition(&init_statuses)];
    conditions.extend(readiness_conditions(phase, &statuses));
    let pod_ip = match view.sandbox {
        Some(sandbox) => sandbox.ip.as_deref(),
        None => view
            .containers
            .iter()
            .find_map(|v| v.current.and_then(|c| c.ip.as_deref())),
    };
    PodStatus {
        phase,
        conditions,
        message: problem.and_then(|w| w.message.clone()),
        reason: problem.and_then(|w| w.reason.clone()),
        host_ip: Some(host_ip.to_compact_string()),
        pod_ip: pod_ip.map(CompactString::from),
        start_time: start_time.map(CompactString::from),
        container_statuses: statuses,
        init_container_statuses: init_statuses,
    }
}

/// A waiting state.
fn waiting(reason: &str, message: Option<String>) -> ContainerState {
    ContainerState {
        waiting: Some(Box::new(StateWaiting {
            reason: Some(reason.to_compact_string()),
            message: message.map(CompactString::from),
        })),
        ..Default::default()
    }
}

/// The ports the sandbox publishes for container `name`: those its spec declares.
fn sandbox_ports(
    pod: &Pod,
    name: &str,
    sandbox: &ObservedContainer,
) -> Vec<bosun_shared::pod::ContainerPort> {
    let Some(c) = pod.spec.all_containers().find(|c| c.name == name) else {
        return Vec::new();
    };
    sandbox
        .published
        .iter()
        .filter(|p| {
            c.ports.iter().any(|d| {
                i32::from(p.container_port) == d.container_port
                    && p.protocol.eq_ignore_ascii_case(&d.protocol_lower())
            })
        })
        .map(published_port)
        .collect()
}

/// A port the engine published, as the status shows it.
fn published_port(p: &crate::runtime::PortBinding) -> bosun_shared::pod::ContainerPort {
    bosun_shared::pod::ContainerPort {
        container_port: i32::from(p.container_port),
        host_port: p.host_port.map(i32::from),
        protocol: Some(p.protocol.to_ascii_uppercase()),
        host_ip: p.host_ip.clone(),
        name: None,
    }
}

/// `Initialized`: true once every init container has completed (at once without any);
/// otherwise false, naming the others as Kubernetes does.
fn initialized_condition(init: &[ContainerStatus]) -> Condition {
    let incomplete: Vec<&str> = init
        .iter()
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    let done = incomplete.is_empty();
    Condition {
        type_: INITIALIZED.to_compact_string(),
        status: if done { "True" } else { "False" }.to_compact_string(),
        reason: (!done).then(|| "ContainersNotInitialized".into()),
        message: (!done).then(|| {
            format_compact!(
                "containers with incomplete status: [{}]",
                incomplete.join(" ")
            )
        }),
        ..Default::default()
    }
}

/// `Ready` and `ContainersReady`: true when the pod runs and every container is ready (runs,
/// has started and passes its readiness probe); otherwise false, naming the unready containers
/// as Kubernetes does (`containers with unready status: [web]`).
fn readiness_conditions(phase: PodPhase, statuses: &[ContainerStatus]) -> Vec<Condition> {
    let unready: Vec<&str> = statuses
        .iter()
        .filter(|s| !s.ready)
        .map(|s| s.name.as_str())
        .collect();
    let ready = phase == PodPhase::Running && unready.is_empty() && !statuses.is_empty();
    let (reason, message) = match phase {
        _ if ready => (None, None),
        PodPhase::Succeeded => (Some("PodCompleted"), None),
        _ => (
            Some("ContainersNotReady"),
            Some(format_compact!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        ),
    };
    [POD_READY, CONTAINERS_READY]
        .into_iter()
        .map(|type_| Condition {
            type_: type_.to_compact_string(),
            status: if ready { "True" } else { "False" }.to_compact_string(),
            reason: reason.map(CompactString::from),
            message: message.clone(),
            ..Default::default()
        })
        .collect()
}
