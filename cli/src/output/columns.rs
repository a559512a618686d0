//! The values of `get` columns that kubectl computes rather than copies: a pod's STATUS and
//! RESTARTS, a node's STATUS and ROLES, a Job's STATUS, COMPLETIONS and DURATION, a selector
//! as text.
use std::time::SystemTime;

use bosun_shared::job::Job;
use bosun_shared::meta::find_condition;
use bosun_shared::node::Node;
use bosun_shared::pod::{Pod, PodPhase};
use bosun_shared::selector::LabelSelector;
use bosun_shared::time::{age, format_duration, parse_rfc3339};

/// Node label prefix that gives a node a role: `node-role.kubernetes.io/control-plane`.
const NODE_ROLE_PREFIX: &str = "node-role.kubernetes.io/";
/// Older label whose value is a node's role.
const NODE_ROLE_LABEL: &str = "kubernetes.io/role";
/// `status.reason` of a pod whose node stopped reporting.
const NODE_LOST_REASON: &str = "NodeLost";

/// `Running`, as a pod's phase is spelled.
pub(crate) fn phase_str(phase: PodPhase) -> &'static str {
    match phase {
        PodPhase::Pending => "Pending",
        PodPhase::Running => "Running",
        PodPhase::Succeeded => "Succeeded",
        PodPhase::Failed => "Failed",
        PodPhase::Unknown => "Unknown",
    }
}

/// A pod's STATUS column, computed as kubectl's `printPod` does: the pod's reason or phase,
/// overridden by a container's waiting reason (`ContainerCreating`, `CrashLoopBackOff`,
/// `ErrImagePull`) or terminated reason (`Completed`, `Error`, `OOMKilled`, else
/// `ExitCode:<n>`), the first container's winning; `Terminating` once deletion of a pod that
/// has not finished was requested.
pub(crate) fn pod_status(pod: &Pod) -> String {
    let status = pod.status.as_ref();
    let pod_reason = status.and_then(|s| non_empty(s.reason.as_deref()));
    let mut reason = pod_reason.unwrap_or(phase_str(pod.phase())).to_string();
    let mut has_running = false;
    let initializing = init_reason(pod);
    if let Some(init) = &initializing {
        reason = init.clone();
    }
    // Last to first, so the first container with something to say has the last word.
    for c in status
        .iter()
        .filter(|_| initializing.is_none())
        .flat_map(|s| s.container_statuses.iter().rev())
    {
        let state = &c.state;
        if let Some(waiting) = state
            .waiting
            .as_ref()
            .and_then(|w| non_empty(w.reason.as_deref()))
        {
            reason = waiting.to_string();
        } else if let Some(t) = &state.terminated {
            reason = match non_empty(t.reason.as_deref()) {
                Some(r) => r.to_string(),
                None => format!("ExitCode:{}", t.exit_code),
            };
        } else if c.ready && state.running.is_some() {
            has_running = true;
        }
    }
    // A finished container next to running ones does not make the pod Completed.
    if reason == "Completed" && has_running {
        let ready = status
            .and_then(|s| find_condition(&s.conditions, "Ready"))
            .is_some_and(|c| c.status == "True");
        reason = if ready { "Running" } else { "NotReady" }.to_string();
    }
    if pod.metadata.deletion_timestamp.is_some() {
        if pod_reason == Some(NODE_LOST_REASON) {
            reason = "Unknown".to_string();
        } else if !pod.phase().is_terminal() {
            reason = "Terminating".to_string();
        }
    }
    reason
}

/// A pod's READY column: ready containers / containers.
pub(crate) fn pod_ready(pod: &Pod) -> String {
    let (ready, total) = pod.ready_count();
    format!("{ready}/{total}")
}

/// While init containers have not all completed, what kubectl shows of them: `Init:1/2`,
/// `Init:Error`, `Init:CrashLoopBackOff`.
fn init_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let initialized = find_condition(&status.conditions, bosun_shared::pod::INITIALIZED);
    if initialized.is_some_and(|c| c.status == "True") {
        return None;
    }
    let statuses = &status.init_container_statuses;
    let total = pod.spec.init_containers.len();
    for (i, c) in statuses.iter().enumerate() {
        let state = &c.state;
        let waiting = state
            .waiting
            .as_ref()
            .and_then(|w| non_empty(w.reason.as_deref()));
        return Some(match (&state.terminated, waiting) {
            (Some(t), _) if t.exit_code == 0 => continue,
            (Some(t), _) => match non_empty(t.reason.as_deref()) {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", t.exit_code),
            },
            (None, Some(w)) if w != "PodInitializing" => format!("Init:{w}"),
            _ => format!("Init:{i}/{total}"),
        });
    }
    None
}

/// A pod's RESTARTS column: `0`, or `3 (45s ago)` when the last restart's time is known.
pub(crate) fn pod_restarts(pod: &Pod, now: SystemTime) -> String {
    let restarts = pod.restarts();
    let last = pod
        .status
        .iter()
        .flat_map(|s| &s.container_statuses)
        .filter_map(|c| {
            c.last_state
                .as_ref()?
                .terminated
                .as_ref()?
                .finished_at
                .as_deref()
        })
        .filter_map(|t| Some((bosun_shared::time::parse_rfc3339(t)?, t)))
        .max_by_key(|(parsed, _)| *parsed);
    match last {
        Some((_, at)) if restarts != 0 => format!("{restarts} ({} ago)", age(Some(at), now)),
        _ => restarts.to_string(),
    }
}

/// A node's STATUS column: `Ready`, `NotReady` or `Unknown` (no Ready condition), then
/// `,SchedulingDisabled` when cordoned.
pub(crate) fn node_status(node: &Node) -> String {
    let ready = node
        .status
        .as_ref()
        .and_then(|s| find_condition(&s.conditions, "Ready"));
    let mut status = match ready {
        Some(c) if c.status == "True" => "Ready",
        Some(_) => "NotReady",
        None => "Unknown",
    }
    .to_string();
    if node.spec.unschedulable {
        status.push_str(",SchedulingDisabled");
    }
    status
}

/// A node's ROLES column: the roles its labels give it, sorted, or `<none>`.
pub(crate) fn node_roles(node: &Node) -> String {
    let labels = &node.metadata.labels;
    let mut roles: Vec<&str> = labels
        .keys()
        .filter_map(|k| k.strip_prefix(NODE_ROLE_PREFIX))
        .chain(labels.get(NODE_ROLE_LABEL).map(|r| r.as_str()))
        .filter(|r| !r.is_empty())
        .collect();
    roles.sort_unstable();
    roles.dedup();
    if roles.is_empty() {
        "<none>".to_string()
    } else {
        roles.join(",")
    }
}

/// A selector as kubectl prints it: `app=web,tier in (a,b),!legacy`, or `<none>` when empty.
pub(crate) fn selector_string(selector: &LabelSelector) -> String {
    let mut terms: Vec<(&str, String)> = selector
        .match_labels
        .iter()
        .map(|(k, v)| (k.as_str(), format!("{k}={v}")))
        .collect();
    for r in &selector.match_expressions {
        let values = r.values.join(",");
        let term = match r.operator.as_str() {
            "In" => format!("{} in ({values})", r.key),
            "NotIn" => format!("{} notin ({values})", r.key),
            "Exists" => r.key.clone(),
            "DoesNotExist" => format!("!{}", r.key),
            op => format!("{} {op} ({values})", r.key),
        };
        terms.push((r.key.as_str(), term));
    }
    if terms.is_empty() {
        return "<none>".to_string();
    }
    // Kubernetes sorts requirements by key; the sort is stable for repeated keys.
    terms.sort_by_key(|(key, _)| *key);
    terms
        .into_iter()
        .map(|(_, t)| t)
        .collect::<Vec<_>>()
        .join(",")
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// A Job's STATUS: `Complete`, `Failed`, `Suspended` or `Running`.
pub(crate) fn job_status(job: &Job) -> String {
    if let Some(c) = job.finished() {
        return c.type_.to_string();
    }
    if job.spec.suspend == Some(true) {
        return "Suspended".into();
    }
    "Running".into()
}

/// A Job's COMPLETIONS: `2/6`; for a work queue `0/1`, or `0/1 of 3` with parallel workers
/// (kubectl's forms).
pub(crate) fn job_completions(job: &Job) -> String {
    let done = job.status.as_ref().map_or(0, |s| s.succeeded);
    match (job.work_queue(), job.parallelism()) {
        (true, p) if p > 1 => format!("{done}/1 of {p}"),
        _ => format!("{done}/{}", job.completions()),
    }
}

/// A Job's DURATION: from its start to its completion (or to now while it runs).
pub(crate) fn job_duration(job: &Job, now: SystemTime) -> String {
    let s = job.status.clone().unwrap_or_default();
    let Some(start) = s.start_time.as_deref().and_then(parse_rfc3339) else {
        return "<none>".into();
    };
    let end = s
        .completion_time
        .as_deref()
        .and_then(parse_rfc3339)
        .unwrap_or(now);
    format_duration(end.duration_since(start).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixtures::{self, ago, now, waiting};
    use bosun_shared::meta::Condition;
    use bosun_shared::pod::{ContainerState, ContainerStatus, StateRunning, StateTerminated};
    use bosun_shared::selector::SelectorRequirement;

    #[test]
    fn job_completions_as_kubectl_prints_them() {
        let mut j = Job::default();
        j.spec.completions = Some(6);
        j.status = Some(bosun_shared::job::JobStatus {
            succeeded: 2,
            ..Default::default()
        });
        assert_eq!(job_completions(&j), "2/6");
        j.spec.completions = None;
        assert_eq!(job_completions(&j), "2/1", "a work queue of one");
        j.spec.parallelism = Some(3);
        assert_eq!(job_completions(&j), "2/1 of 3");
    }

    fn terminated(reason: Option<&str>, exit_code: i32) -> ContainerState {
        ContainerState {
            terminated: Some(Box::new(StateTerminated {
                exit_code,
                reason: reason.map(Into::into),
                ..Default::default()
            })),
            ..Default::default()
        }
    }

    fn running() -> ContainerState {
        ContainerState {
            running: Some(StateRunning::default()),
            ..Default::default()
        }
    }

    fn container(name: &str, ready: bool, state: ContainerState) -> ContainerStatus {
        ContainerStatus {
            name: name.into(),
            ready,
            state,
            ..Default::default()
        }
    }

    /// A pending pod with two init containers, and these statuses of them.
    fn initializing(init: Vec<ContainerStatus>) -> Pod {
        let mut pod = with(PodPhase::Pending, vec![]);
        pod.spec.init_containers = pod.spec.containers.clone();
        pod.status.as_mut().unwrap().init_container_statuses = init;
        pod
    }

    fn with(phase: PodPhase, containers: Vec<ContainerStatus>) -> Pod {
        let mut pod = fixtures::pod("web-1", &["a", "b"]);
        let status = pod.status.get_or_insert_with(Default::default);
        status.phase = phase;
        status.container_statuses = containers;
        pod
    }

    #[test]
    fn pod_status_is_computed_like_kubectl() {
        use PodPhase::*;
        let unscheduled = {
            let mut p = with(Pending, vec![]);
            p.spec.node_name = None;
            p.status.as_mut().unwrap().conditions.push(Condition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("Unschedulable".into()),
                message: Some("0/1 nodes available: 1 insufficient memory".into()),
                ..Default::default()
            });
            p
        };
        let evicted = {
            let mut p = with(Failed, vec![]);
            p.status.as_mut().unwrap().reason = Some("Evicted".into());
            p
        };
        let deleting = {
            let mut p = with(Running, vec![container("a", true, running())]);
            p.metadata.deletion_timestamp = Some(ago(1).into());
            p
        };
        let deleting_done = {
            let mut p = with(
                Failed,
                vec![container("a", false, terminated(Some("Error"), 1))],
            );
            p.metadata.deletion_timestamp = Some(ago(1).into());
            p
        };
        let lost = {
            let mut p = deleting.clone();
            p.status.as_mut().unwrap().reason = Some("NodeLost".into());
            p
        };
        let sidecar_done = |ready: &str| {
            let mut p = with(
                Running,
                vec![
                    container("a", false, terminated(Some("Completed"), 0)),
                    container("b", true, running()),
                ],
            );
            p.status.as_mut().unwrap().conditions.push(Condition {
                type_: "Ready".into(),
                status: ready.into(),
                ..Default::default()
            });
            p
        };
        let cases: Vec<(&str, Pod, &str)> = vec![
            ("no status yet", fixtures::pod("p", &["a"]), "Pending"),
            ("unschedulable", unscheduled, "Pending"),
            (
                "running",
                with(Running, vec![container("a", true, running())]),
                "Running",
            ),
            (
                "creating",
                with(
                    Pending,
                    vec![container("a", false, waiting("ContainerCreating"))],
                ),
                "ContainerCreating",
            ),
            (
                "crash loop",
                with(
                    Running,
                    vec![container("a", false, waiting("CrashLoopBackOff"))],
                ),
                "CrashLoopBackOff",
            ),
            (
                "waiting beats running",
                with(
                    Running,
                    vec![
                        container("a", true, running()),
                        container("b", false, waiting("ErrImagePull")),
                    ],
                ),
                "ErrImagePull",
            ),
            (
                "first container wins",
                with(
                    Pending,
                    vec![
                        container("a", false, waiting("ImagePullBackOff")),
                        container("b", false, terminated(Some("Error"), 1)),
                    ],
                ),
                "ImagePullBackOff",
            ),
            (
                "waiting without reason keeps the phase",
                with(
                    Pending,
                    vec![container("a", false, ContainerState::default())],
                ),
                "Pending",
            ),
            (
                "completed",
                with(
                    Succeeded,
                    vec![container("a", false, terminated(Some("Completed"), 0))],
                ),
                "Completed",
            ),
            (
                "error",
                with(
                    Failed,
                    vec![container("a", false, terminated(Some("Error"), 1))],
                ),
                "Error",
            ),
            (
                "oom",
                with(
                    Running,
                    vec![container("a", false, terminated(Some("OOMKilled"), 137))],
                ),
                "OOMKilled",
            ),
            (
                "terminated without reason",
                with(Failed, vec![container("a", false, terminated(None, 2))]),
                "ExitCode:2",
            ),
            ("completed sidecar, ready", sidecar_done("True"), "Running"),
            (
                "completed sidecar, not ready",
                sidecar_done("False"),
                "NotReady",
            ),
            ("pod reason", evicted, "Evicted"),
            (
                "second init container running",
                initializing(vec![
                    container("i1", true, terminated(Some("Completed"), 0)),
                    container("i2", false, running()),
                ]),
                "Init:1/2",
            ),
            (
                "init container not started",
                initializing(vec![
                    container("i1", false, waiting("PodInitializing")),
                    container("i2", false, waiting("PodInitializing")),
                ]),
                "Init:0/2",
            ),
            (
                "init container failed",
                initializing(vec![container("i1", false, terminated(Some("Error"), 1))]),
                "Init:Error",
            ),
            (
                "init container in back-off",
                initializing(vec![container("i1", false, waiting("CrashLoopBackOff"))]),
                "Init:CrashLoopBackOff",
            ),
            (
                "initialized: the containers speak",
                {
                    let mut p = initializing(vec![container(
                        "i1",
                        true,
                        terminated(Some("Completed"), 0),
                    )]);
                    let s = p.status.as_mut().unwrap();
                    s.container_statuses = vec![container("a", false, waiting("PodInitializing"))];
                    p
                },
                "PodInitializing",
            ),
            ("deleting", deleting, "Terminating"),
            ("deleting a finished pod", deleting_done, "Error"),
            ("node lost", lost, "Unknown"),
        ];
        for (name, pod, want) in cases {
            assert_eq!(pod_status(&pod), want, "{name}");
        }
    }

    #[test]
    fn restarts_show_when_the_last_one_was() {
        let mut pod = with(PodPhase::Running, vec![container("a", true, running())]);
        assert_eq!(pod_restarts(&pod, now()), "0");
        let c = &mut pod.status.as_mut().unwrap().container_statuses[0];
        c.restart_count = 3;
        assert_eq!(pod_restarts(&pod, now()), "3");
        let c = &mut pod.status.as_mut().unwrap().container_statuses[0];
        c.last_state = Some(Box::new(ContainerState {
            terminated: Some(Box::new(StateTerminated {
                exit_code: 1,
                finished_at: Some(ago(45).into()),
                ..Default::default()
            })),
            ..Default::default()
        }));
        assert_eq!(pod_restarts(&pod, now()), "3 (45s ago)");
    }

    #[test]
    fn node_status_and_roles() {
        let mut node = fixtures::node("n1");
        assert_eq!(node_status(&node), "Ready");
        assert_eq!(node_roles(&node), "<none>");
        node.spec.unschedulable = true;
        assert_eq!(node_status(&node), "Ready,SchedulingDisabled");
        node.status.as_mut().unwrap().conditions[0].status = "Unknown".into();
        assert_eq!(node_status(&node), "NotReady,SchedulingDisabled");
        node.status = None;
        node.spec.unschedulable = false;
        assert_eq!(node_status(&node), "Unknown");

        let labels = &mut node.metadata.labels;
        labels.insert(
            "node-role.kubernetes.io/worker".into(),
            String::new().into(),
        );
        labels.insert(
            "node-role.kubernetes.io/control-plane".into(),
            String::new().into(),
        );
        labels.insert("kubernetes.io/role".into(), "worker".into());
        assert_eq!(node_roles(&node), "control-plane,worker");
    }

    #[test]
    fn selectors_read_like_kubectl() {
        let mut sel = LabelSelector::default();
        assert_eq!(selector_string(&sel), "<none>");
        sel.match_labels.insert("tier".into(), "front".into());
        sel.match_labels.insert("app".into(), "web".into());
        assert_eq!(selector_string(&sel), "app=web,tier=front");
        let req = |key: &str, op: &str, values: &[&str]| SelectorRequirement {
            key: key.into(),
            operator: op.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        sel.match_expressions = vec![
            req("env", "In", &["a", "b"]),
            req("zone", "NotIn", &["x"]),
            req("canary", "Exists", &[]),
            req("legacy", "DoesNotExist", &[]),
        ];
        assert_eq!(
            selector_string(&sel),
            "app=web,canary,env in (a,b),!legacy,tier=front,zone notin (x)"
        );
    }
}
