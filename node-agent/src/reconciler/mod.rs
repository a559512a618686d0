//! The reconciler: on every change and every second, compare the assigned pods with the
//! containers on the engine and take one [`Step`] per container; report pod statuses.
//!
//! Steps run as tracked tasks, at most one per container at a time, so a slow stop (grace
//! period) never holds up other pods.
//!
//! - `run`: one step on the engine (pull by policy, create, start and postStart, stop after
//!   preStop, remove).
//! - `spec`: a container's runtime spec, its environment and volumes resolved.
//! - `seen`: what a pass records of a pod's parts, and what a step is about.
mod run;
mod seen;
mod spec;

use seen::{container_view, current_and_previous, kill_order, ProbedIds, SandboxSeen, Seen, What};
pub use spec::container_spec;
pub(crate) use spec::{hostname, port_binding};
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
use crate::pod_plan::{self, ContainerInput, PodInput};
use crate::probe::{ProbeView, Prober};
use crate::runtime::{ObservedContainer, RunState, Runtime, RuntimeError};
use crate::sandbox;
use crate::status::{pod_status, PodView};
use crate::step::{next_step, Failure, Step};
use bosun_shared::event::{NORMAL, WARNING};

/// Passes happen at least this often (the engine is observed by polling).
pub const RESYNC: Duration = Duration::from_secs(1);
/// Passes start at most this often: what finishes or changes meanwhile is taken by the next
/// pass together. A pass looks at every pod of the node, and each finished step wakes the
/// reconciler: a node given 100 pods at once made 100 passes over 100 pods (at 1,000 hollow
/// nodes that starved the process, sessions included, until every node was lost).
pub const MIN_PASS_INTERVAL: Duration = Duration::from_millis(100);

/// (pod uid, container name)
type Key = (String, String);

pub struct Reconciler<R: Runtime> {
    pub node: String,
    pub host_ip: String,
    pub runtime: Arc<R>,
    pub desired: Arc<DesiredPods>,
    pub board: Arc<StatusBoard>,
    inflight: Arc<Mutex<HashSet<Key>>>,
    /// Counts finished steps; a pass notes the count before it lists the engine.
    finished: Arc<std::sync::atomic::AtomicU64>,
    /// The count when each container's last step finished: a step that finished after the
    /// pass listed the engine is not in what it saw, so the pass decides nothing for that
    /// container (creating it twice would be refused: the name is taken).
    finished_at: Arc<Mutex<HashMap<Key, u64>>>,
    /// [`Reconciler::finished`] when the current pass listed the engine.
    listed_at: std::sync::atomic::AtomicU64,
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
            finished: Arc::default(),
            finished_at: Arc::default(),
            listed_at: Default::default(),
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
            let started = tokio::time::Instant::now();
            if let Err(e) = self.pass(&tasks).await {
                warn!(error = %e, "reconcile pass failed");
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = self.desired.changed.notified() => {}
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(RESYNC) => {}
            }
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep_until(started + MIN_PASS_INTERVAL) => {}
            }
        }
        // Containers keep running: shutting the agent down never stops them.
        self.prober.shutdown().await;
        tasks.close();
        tasks.wait().await;
    }

    /// One pass over every assigned pod and every owned container.
    pub async fn pass(&self, tasks: &TaskTracker) -> Result<(), RuntimeError> {
        use std::sync::atomic::Ordering;
        let listed_at = self.finished.load(Ordering::Acquire);
        self.listed_at.store(listed_at, Ordering::Release);
        self.finished_at
            .lock()
            .expect("finished lock")
            .retain(|_, at| *at > listed_at);
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
            if !self.desired.is_saved(uid) {
                // Not on disk yet: nothing of it runs before it is (the saver wakes us).
                by_key.retain(|(u, _), _| u != uid);
                continue;
            }
            let pod = &a.pod;
            let grace = Duration::from_secs(
                pod.spec
                    .termination_grace_period_seconds
                    .map_or(labels::DEFAULT_GRACE_SECONDS, |g| g.max(0) as u64),
            );
            let mut take = |name: &str| {
                let key = (uid.clone(), name.to_string());
                let attempts = by_key.remove(&key).unwrap_or_default();
                let failure = failures.get(&key);
                ContainerInput {
                    attempts,
                    failure,
                    killed: None,
                }
            };
            let sandbox = pod.spec.sandboxed().then(|| take(sandbox::CONTAINER));
            let init: Vec<ContainerInput<'_>> = pod
                .spec
                .init_containers
                .iter()
                .map(|c| take(&c.name))
                .collect();
            let mut containers: Vec<ContainerInput<'_>> =
                pod.spec.containers.iter().map(|c| take(&c.name)).collect();
            // Probes watch the containers' running attempts; what they found decides kills.
            let sandbox_now = sandbox
                .as_ref()
                .and_then(|s| current_and_previous(&s.attempts).0);
            let mut probes = Vec::with_capacity(containers.len());
            for (c, input) in pod.spec.containers.iter().zip(&mut containers) {
                let (current, previous) = current_and_previous(&input.attempts);
                let found = self.probe(pod, c, current, previous, sandbox_now, &mut probed);
                input.killed = kill_order(current, found.0.as_ref(), grace);
                probes.push(found);
            }
            let input = PodInput {
                restart_policy: pod.restart_policy(),
                grace,
                sandbox,
                init,
                containers,
            };
            let plan = pod_plan::plan(&input, now);
            if input.sandbox.is_some() {
                let key = (uid.clone(), sandbox::CONTAINER.to_string());
                let attempts = input.sandbox.as_ref().map_or(&[][..], |s| &s.attempts[..]);
                self.execute(
                    tasks,
                    key,
                    plan.sandbox.clone(),
                    What::Sandbox(pod),
                    attempts,
                );
            }
            let join = plan.sandbox_id.as_deref();
            let mut seen = Vec::new();
            let init = pod
                .spec
                .init_containers
                .iter()
                .zip(&input.init)
                .zip(&plan.init);
            for ((c, i), step) in init {
                let current = current_and_previous(&i.attempts).0;
                self.note(pod, c, current, None, step);
                let key = (uid.clone(), c.name.to_string());
                self.execute(
                    tasks,
                    key,
                    step.clone(),
                    What::Container(pod, c, join),
                    &i.attempts,
                );
                seen.push(Seen::new(c, i, step.clone(), (None, None)));
            }
            let apps = pod.spec.containers.iter().zip(&input.containers);
            for (((c, i), step), found) in apps.zip(&plan.containers).zip(probes) {
                let current = current_and_previous(&i.attempts).0;
                self.note(pod, c, current, found.0.as_ref(), step);
                let key = (uid.clone(), c.name.to_string());
                self.execute(
                    tasks,
                    key,
                    step.clone(),
                    What::Container(pod, c, join),
                    &i.attempts,
                );
                seen.push(Seen::new(c, i, step.clone(), found));
            }
            let sandbox = input.sandbox.as_ref().map(|s| SandboxSeen {
                current: current_and_previous(&s.attempts).0,
                failure: s.failure,
            });
            self.report(uid, a, &seen, sandbox, &plan);
        }
        self.prober.retain(&probed.probing, &probed.remembered);
        // Containers of pods no longer assigned (or of containers no longer in the pod), once
        // the assignments are known.
        if !self.desired.known() {
            by_key.clear();
        }
        let removing: HashSet<String> = by_key.keys().map(|(uid, _)| uid.clone()).collect();
        // A pod's sandbox is stopped last, so its containers keep their network while they
        // stop (a preStop hook may need it).
        let sheltering: HashSet<String> = by_key
            .iter()
            .filter(|((_, name), obs)| {
                let live = |c: &&ObservedContainer| {
                    !matches!(
                        c.state,
                        RunState::Created | RunState::Exited | RunState::Dead
                    )
                };
                name != sandbox::CONTAINER && obs.iter().any(live)
            })
            .map(|((uid, _), _)| uid.clone())
            .collect();
        for (key, obs) in by_key {
            if key.1 == sandbox::CONTAINER && sheltering.contains(&key.0) {
                continue;
            }
            let mut step = next_step(None, &obs, None, now);
            // A grace period chosen at deletion (`--grace-period`) replaces the pod's own.
            if let (Step::Stop { grace, .. }, Some(chosen)) =
                (&mut step, self.desired.removal_grace(&key.0))
            {
                *grace = chosen;
            }
            self.execute(tasks, key, step, What::Gone, &obs);
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
        sandbox: Option<&ObservedContainer>,
        probed: &mut ProbedIds,
    ) -> (Option<ProbeView>, Option<ProbeView>) {
        if let Some(cur) = current.filter(|o| o.state == RunState::Running) {
            // A container of a sandbox has no address of its own: the pod's is the sandbox's.
            let ip = match sandbox {
                Some(s) => s.ip.clone(),
                None => cur.ip.clone(),
            };
            self.prober.sync(pod, c, cur, ip);
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
    fn report(
        &self,
        uid: &str,
        a: &Assigned,
        seen: &[Seen<'_>],
        sandbox: Option<SandboxSeen<'_>>,
        plan: &pod_plan::Plan,
    ) {
        let init_count = a.pod.spec.init_containers.len();
        let sandbox_failure = sandbox.as_ref().and_then(|b| b.failure);
        let view = |s| container_view(s, sandbox_failure);
        let pod = PodView {
            init: seen[..init_count].iter().map(view).collect(),
            containers: seen[init_count..].iter().map(view).collect(),
            sandbox: sandbox.and_then(|s| s.current),
            initialized: plan.initialized,
            init_done: plan.init_done.clone(),
            init_failed: plan.init_failed,
        };
        let status = pod_status(&a.pod, &pod, Some(&a.start_time), &self.host_ip);
        self.board.set(
            uid,
            PodStatusReport {
                namespace: a.pod.metadata.namespace.to_string(),
                name: a.pod.metadata.name.to_string(),
                uid: uid.to_string(),
                // Plain data always serializes.
                status: serde_json::to_vec(&status).expect("status serializes"),
            },
        );
    }
}
