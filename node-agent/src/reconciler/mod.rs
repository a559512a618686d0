//! The reconciler: on every change and every second, compare the assigned pods with the
//! containers on the engine and take one [`Step`] per container; report pod statuses.
//!
//! Steps run as tracked tasks, at most one per container at a time, so a slow stop (grace
//! period) never holds up other pods.
//!
//! - `run`: one step on the engine (pull by policy, create, start and postStart, stop after
//!   preStop, remove).
//! - `spec`: a container's runtime spec, its environment and volumes resolved.
mod run;
mod spec;

use run::{run_step, Hooks};
pub use spec::container_spec;
use spec::{registry_auth, spec_for};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bosun_proto::v1::PodStatusReport;
use bosun_shared::pod::{Container, Pod};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::warn;

use crate::board::StatusBoard;
use crate::desired::{Assigned, DesiredPods};
use crate::events::EventLog;
use crate::labels;
use crate::probe::{ProbeView, Prober};
use crate::runtime::{ObservedContainer, RunState, Runtime, RuntimeError};
use crate::status::{pod_status, ContainerView};
use crate::step::{next_step, Desired, Failure, ProbeKill, Step};
use bosun_shared::event::{NORMAL, WARNING};

/// Passes happen at least this often (the engine is observed by polling).
pub const RESYNC: Duration = Duration::from_secs(1);

/// (pod uid, container name)
type Key = (String, String);

pub struct Reconciler<R: Runtime> {
    pub node: String,
    pub host_ip: String,
    pub runtime: Arc<R>,
    pub desired: Arc<DesiredPods>,
    pub board: Arc<StatusBoard>,
    inflight: Arc<Mutex<HashSet<Key>>>,
    failures: Arc<Mutex<HashMap<Key, Failure>>>,
    /// Runs the containers' probes; its findings feed statuses and steps.
    prober: Prober<R>,
    /// What happened to the pods, for the master.
    events: Arc<EventLog>,
    /// The pods' volumes on this node.
    volumes: Arc<crate::volumes::PodVolumes<R>>,
    /// [`crate::assigned_config::AssignedConfig::version`] the volumes were refreshed at.
    config_seen: std::sync::atomic::AtomicU64,
    /// The config version and container count claim volumes were last checked at: they
    /// need another look only when a claim or a container came or went.
    claims_checked: Mutex<(u64, usize)>,
    wake: Arc<Notify>,
}

impl<R: Runtime> Reconciler<R> {
    pub fn new(
        node: String,
        host_ip: String,
        runtime: Arc<R>,
        desired: Arc<DesiredPods>,
        board: Arc<StatusBoard>,
    ) -> Self {
        let wake = Arc::new(Notify::new());
        let volumes = Arc::new(crate::volumes::PodVolumes::new(
            desired.data_dir(),
            &node,
            runtime.clone(),
        ));
        Reconciler {
            volumes,
            config_seen: Default::default(),
            claims_checked: Mutex::new((u64::MAX, 0)),
            node,
            host_ip,
            prober: Prober::new(runtime.clone(), wake.clone()),
            runtime,
            desired,
            board,
            inflight: Arc::default(),
            failures: Arc::default(),
            events: Arc::default(),
            wake,
        }
    }

    /// The events this reconciler reports, for the session to send.
    pub fn events(&self) -> Arc<EventLog> {
        self.events.clone()
    }

    /// The prober, whose workers follow the containers this reconciler sees running.
    pub fn prober(&self) -> &Prober<R> {
        &self.prober
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let tasks = TaskTracker::new();
        loop {
            if let Err(e) = self.pass(&tasks).await {
                warn!(error = %e, "reconcile pass failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.desired.changed.notified() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(RESYNC) => {}
            }
        }
        // Containers keep running: shutting the agent down never stops them.
        self.prober.shutdown().await;
        tasks.close();
        tasks.wait().await;
    }

    /// One pass over every assigned pod and every owned container.
    pub async fn pass(&self, tasks: &TaskTracker) -> Result<(), RuntimeError> {
        let observed = self
            .runtime
            .list(&labels::node_selector(&self.node))
            .await?;
        let assigned = self.desired.snapshot();
        let mut by_key: BTreeMap<Key, Vec<&ObservedContainer>> = BTreeMap::new();
        for c in &observed {
            let (Some(uid), Some(name)) = (
                c.labels.get(labels::POD_UID),
                c.labels.get(labels::CONTAINER),
            ) else {
                continue;
            };
            by_key
                .entry((uid.clone(), name.clone()))
                .or_default()
                .push(c);
        }
        // Pods with containers on the engine: what the master waits for before it removes a
        // terminating pod.
        let mut holding: HashSet<String> = by_key.keys().map(|(uid, _)| uid.clone()).collect();
        let now = SystemTime::now();
        let failures = self.failures.lock().expect("failures lock").clone();
        let mut probed = ProbedIds::default();
        for (uid, a) in &assigned {
            let grace = Duration::from_secs(
                a.pod
                    .spec
                    .termination_grace_period_seconds
                    .map_or(labels::DEFAULT_GRACE_SECONDS, |g| g.max(0) as u64),
            );
            let mut seen = Vec::new();
            for c in &a.pod.spec.containers {
                let key = (uid.clone(), c.name.clone());
                let obs = by_key.remove(&key).unwrap_or_default();
                let failure = failures.get(&key);
                let mut attempts = obs.clone();
                attempts.sort_by_key(|o| labels::attempt_of(&o.labels));
                let (current, previous) = (attempts.pop(), attempts.pop());
                let (probes, previous_probes) =
                    self.probe(&a.pod, c, current, previous, &mut probed);
                let desired = Desired {
                    restart_policy: a.pod.restart_policy(),
                    grace,
                    killed: kill_order(current, probes.as_ref(), grace),
                };
                let step = next_step(Some(&desired), &obs, failure, now);
                self.note(&a.pod, c, current, probes.as_ref(), &step);
                self.execute(tasks, key.clone(), step.clone(), Some((&a.pod, c)));
                seen.push(Seen {
                    container: c,
                    current,
                    previous,
                    failure,
                    step,
                    probes,
                    previous_probes,
                });
            }
            self.report(uid, a, &seen);
        }
        self.prober.retain(&probed.probing, &probed.remembered);
        // Containers of pods no longer assigned (or of containers no longer in the pod), once
        // the assignments are known.
        if !self.desired.known() {
            by_key.clear();
        }
        let removing: HashSet<String> = by_key.keys().map(|(uid, _)| uid.clone()).collect();
        for (key, obs) in by_key {
            let mut step = next_step(None, &obs, None, now);
            // A grace period chosen at deletion (`--grace-period`) replaces the pod's own.
            if let (Step::Stop { grace, .. }, Some(chosen)) =
                (&mut step, self.desired.removal_grace(&key.0))
            {
                *grace = chosen;
            }
            self.execute(tasks, key, step, None);
        }
        // Kept while the pod's containers exist, while it is still assigned (the removal may
        // have landed after this pass read the assignments) and while a step of it runs (a
        // create in flight makes a container later).
        let inflight: HashSet<String> = self
            .inflight
            .lock()
            .expect("inflight lock")
            .iter()
            .map(|(uid, _)| uid.clone())
            .collect();
        self.desired.retain_removal_grace(|uid| {
            removing.contains(uid) || assigned.contains_key(uid) || inflight.contains(uid)
        });
        holding.extend(inflight);
        // ConfigMap and Secret volumes follow their objects; a gone pod's volumes go with it.
        let version = self.desired.config.version();
        if self
            .config_seen
            .swap(version, std::sync::atomic::Ordering::AcqRel)
            != version
        {
            for a in assigned.values() {
                self.volumes.refresh(&a.pod, &self.desired.config);
            }
        }
        if self.desired.known() {
            self.volumes
                .cleanup(|uid| assigned.contains_key(uid) || holding.contains(uid));
            let now = (version, observed.len());
            let changed = std::mem::replace(
                &mut *self.claims_checked.lock().expect("claims check lock"),
                now,
            ) != now;
            if changed {
                self.volumes
                    .collect_claims(&self.desired.config, &observed)
                    .await;
            }
        }
        self.board.set_holding(holding);
        self.board.retain(|uid| assigned.contains_key(uid));
        self.failures
            .lock()
            .expect("failures lock")
            .retain(|(uid, _), _| assigned.contains_key(uid));
        Ok(())
    }

    /// Keeps the probes of a container's running attempt going; what the probes of its current
    /// and previous attempts found.
    fn probe(
        &self,
        pod: &Pod,
        c: &Container,
        current: Option<&ObservedContainer>,
        previous: Option<&ObservedContainer>,
        probed: &mut ProbedIds,
    ) -> (Option<ProbeView>, Option<ProbeView>) {
        if let Some(cur) = current.filter(|o| o.state == RunState::Running) {
            self.prober.sync(pod, c, cur);
            probed.probing.insert(cur.id.clone());
        }
        let ids = current.iter().chain(previous.iter()).map(|o| o.id.clone());
        probed.remembered.extend(ids);
        (
            current.and_then(|o| self.prober.view(&o.id)),
            previous.and_then(|o| self.prober.view(&o.id)),
        )
    }

    /// Reports, once per attempt, a container that crashed and waits to restart, and one a
    /// failed liveness or startup probe is killing; and each time a readiness probe starts
    /// failing.
    fn note(
        &self,
        pod: &Pod,
        c: &Container,
        current: Option<&ObservedContainer>,
        probes: Option<&ProbeView>,
        step: &Step,
    ) {
        let Some(cur) = current else { return };
        if let Some(failed) = probes.and_then(|p| p.failed.as_ref()) {
            if self.events.once(&cur.id, "Unhealthy") {
                self.events
                    .push(pod, &c.name, WARNING, "Unhealthy", failed.message.clone());
                let probe = failed.message.split(' ').next().unwrap_or("liveness");
                let message = format!(
                    "Container {} failed {} probe, will be restarted",
                    c.name,
                    probe.to_ascii_lowercase()
                );
                self.events.push(pod, &c.name, NORMAL, "Killing", message);
            }
        }
        if let Some((n, message)) =
            probes.and_then(|p| Some((p.readiness_failures, p.unready.as_ref()?)))
        {
            if self
                .events
                .once(&format!("{}/readiness/{n}", cur.id), "Unhealthy")
            {
                self.events
                    .push(pod, &c.name, WARNING, "Unhealthy", message.clone());
            }
        }
        let crashed = cur.state == RunState::Exited && cur.exit_code != Some(0);
        if crashed && matches!(step, Step::WaitUntil(_)) && self.events.once(&cur.id, "BackOff") {
            let code = cur.exit_code.map_or("unknown".into(), |c| c.to_string());
            let message = format!(
                "Back-off restarting failed container {} in pod {} (exit code {code})",
                c.name, pod.metadata.name
            );
            self.events.push(pod, &c.name, WARNING, "BackOff", message);
        }
    }

    /// Puts the status of pod `uid` on the board (which sends it when it changed).
    fn report(&self, uid: &str, a: &Assigned, seen: &[Seen<'_>]) {
        let views: Vec<ContainerView<'_>> = seen
            .iter()
            .map(|s| ContainerView {
                name: &s.container.name,
                image: &s.container.image,
                current: s.current,
                previous: s.previous,
                failure: s.failure,
                step: &s.step,
                probes: s.probes.as_ref(),
                previous_probes: s.previous_probes.as_ref(),
            })
            .collect();
        let status = pod_status(&a.pod, &views, Some(&a.start_time), &self.host_ip);
        self.board.set(
            uid,
            PodStatusReport {
                namespace: a.pod.metadata.namespace.clone(),
                name: a.pod.metadata.name.clone(),
                uid: uid.to_string(),
                // Plain data always serializes.
                status: serde_json::to_vec(&status).expect("status serializes"),
            },
        );
    }

    /// Runs a step as a task unless one is already running for the container.
    fn execute(&self, tasks: &TaskTracker, key: Key, step: Step, pod: Option<(&Pod, &Container)>) {
        if matches!(step, Step::Idle | Step::WaitUntil(_)) {
            return;
        }
        if !self
            .inflight
            .lock()
            .expect("inflight lock")
            .insert(key.clone())
        {
            return;
        }
        // A container to create has its environment and volumes resolved first, in the task.
        let prepare = match (&step, pod) {
            (Step::Create { attempt }, Some((p, c))) => Some((p.clone(), c.clone(), *attempt)),
            _ => None,
        };
        let about = pod.map(|(p, c)| (p.clone(), c.name.clone()));
        let events = self.events.clone();
        let runtime = self.runtime.clone();
        let inflight = self.inflight.clone();
        let failures = self.failures.clone();
        let wake = self.wake.clone();
        let (volumes, desired, node) = (
            self.volumes.clone(),
            self.desired.clone(),
            self.node.clone(),
        );
        tasks.spawn(async move {
            let report = |type_: &str, reason: &str, message: String| {
                if let Some((pod, container)) = &about {
                    events.push(pod, container, type_, reason, message);
                }
            };
            let container = about.as_ref().map_or("", |(_, c)| c.as_str());
            let result = async {
                let spec = match &prepare {
                    Some((p, c, attempt)) => {
                        let spec = spec_for(&volumes, &desired, &node, p, c, *attempt).await;
                        Some(spec.map_err(|message| {
                            // The kubelet's CreateContainerConfigError: retried with back-off.
                            report(WARNING, "Failed", format!("Error: {message}"));
                            ("CreateContainerConfigError", RuntimeError::Config(message))
                        })?)
                    }
                    None => None,
                };
                let post_start = prepare
                    .as_ref()
                    .and_then(|(_, c, _)| c.lifecycle.as_ref()?.post_start.clone());
                let hooks = Hooks {
                    node: &node,
                    post_start: post_start.as_ref(),
                    pull_policy: prepare.as_ref().and_then(|(_, c, _)| c.image_pull_policy.clone()),
                    auth: prepare
                        .as_ref()
                        .and_then(|(p, c, _)| registry_auth(p, &c.image, &desired.config)),
                };
                run_step(&*runtime, &step, spec.as_ref(), container, &hooks, &report).await
            }
            .await;
            {
                let mut f = failures.lock().expect("failures lock");
                match result {
                    Ok(()) => {
                        f.remove(&key);
                    }
                    Err((reason, e)) => {
                        warn!(pod_uid = %key.0, container = %key.1, ?step, error = %e, "step failed");
                        let count = f.get(&key).map_or(0, |f| f.count) + 1;
                        f.insert(
                            key.clone(),
                            Failure {
                                reason: reason.to_string(),
                                message: e.to_string(),
                                at: SystemTime::now(),
                                count,
                            },
                        );
                    }
                }
            }
            inflight.lock().expect("inflight lock").remove(&key);
            wake.notify_one();
        });
    }
}

/// What one pass found of one container of an assigned pod.
struct Seen<'a> {
    container: &'a Container,
    /// The highest attempt on the engine, and the one before it.
    current: Option<&'a ObservedContainer>,
    previous: Option<&'a ObservedContainer>,
    failure: Option<&'a Failure>,
    step: Step,
    probes: Option<ProbeView>,
    previous_probes: Option<ProbeView>,
}

/// Attempts a pass saw, for [`Prober::retain`].
#[derive(Default)]
struct ProbedIds {
    /// Running current attempts: their probes go on.
    probing: HashSet<String>,
    /// Current and previous attempts: what their probes found is kept.
    remembered: HashSet<String>,
}

/// The kill a failed liveness or startup probe asks for: the current attempt, with the probe's
/// grace period or else the pod's.
fn kill_order(
    current: Option<&ObservedContainer>,
    probes: Option<&ProbeView>,
    pod_grace: Duration,
) -> Option<ProbeKill> {
    let failed = probes?.failed.as_ref()?;
    Some(ProbeKill {
        id: current?.id.clone(),
        grace: failed.grace.unwrap_or(pod_grace),
    })
}
