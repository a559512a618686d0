//! The reconciler: on every change and every second, compare the assigned pods with the
//! containers on the engine and take one [`Step`] per container; report pod statuses.
//!
//! Steps run as tracked tasks, at most one per container at a time, so a slow stop (grace
//! period) never holds up other pods.
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bosun_proto::v1::PodStatusReport;
use bosun_shared::pod::{Container, Pod};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use crate::board::StatusBoard;
use crate::desired::DesiredPods;
use crate::labels;
use crate::runtime::{ContainerSpec, ObservedContainer, PortBinding, Runtime, RuntimeError};
use crate::status::{pod_status, ContainerView};
use crate::step::{next_step, Desired, Failure, Step};

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
        Reconciler {
            node,
            host_ip,
            runtime,
            desired,
            board,
            inflight: Arc::default(),
            failures: Arc::default(),
            wake: Arc::new(Notify::new()),
        }
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
        let now = SystemTime::now();
        let failures = self.failures.lock().expect("failures lock").clone();
        for (uid, a) in &assigned {
            let desired = Desired {
                restart_policy: a.pod.restart_policy(),
                grace: Duration::from_secs(
                    a.pod
                        .spec
                        .termination_grace_period_seconds
                        .map_or(labels::DEFAULT_GRACE_SECONDS, |g| g.max(0) as u64),
                ),
            };
            let mut views_data = Vec::new();
            for c in &a.pod.spec.containers {
                let key = (uid.clone(), c.name.clone());
                let obs = by_key.remove(&key).unwrap_or_default();
                let failure = failures.get(&key);
                let step = next_step(Some(&desired), &obs, failure, now);
                self.execute(tasks, key.clone(), step.clone(), Some((&a.pod, c)));
                let mut attempts = obs.clone();
                attempts.sort_by_key(|o| labels::attempt_of(&o.labels));
                let current = attempts.pop();
                let previous = attempts.pop();
                views_data.push((c, current, previous, failure, step));
            }
            let views: Vec<ContainerView<'_>> = views_data
                .iter()
                .map(|(c, current, previous, failure, step)| ContainerView {
                    name: &c.name,
                    image: &c.image,
                    current: *current,
                    previous: *previous,
                    failure: *failure,
                    step,
                })
                .collect();
            let status = pod_status(&a.pod, &views, Some(&a.start_time), &self.host_ip);
            self.board.set(
                uid,
                PodStatusReport {
                    namespace: a.pod.metadata.namespace.clone(),
                    name: a.pod.metadata.name.clone(),
                    uid: uid.clone(),
                    // Plain data always serializes.
                    status: serde_json::to_vec(&status).expect("status serializes"),
                },
            );
        }
        // Containers of pods no longer assigned (or of containers no longer in the pod), once
        // the assignments are known.
        if !self.desired.known() {
            by_key.clear();
        }
        for (key, obs) in by_key {
            let step = next_step(None, &obs, None, now);
            self.execute(tasks, key, step, None);
        }
        self.board.retain(|uid| assigned.contains_key(uid));
        self.failures
            .lock()
            .expect("failures lock")
            .retain(|(uid, _), _| assigned.contains_key(uid));
        Ok(())
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
        let spec = match (&step, pod) {
            (Step::Create { attempt }, Some((p, c))) => {
                Some(container_spec(&self.node, p, c, *attempt))
            }
            _ => None,
        };
        let runtime = self.runtime.clone();
        let inflight = self.inflight.clone();
        let failures = self.failures.clone();
        let wake = self.wake.clone();
        tasks.spawn(async move {
            let result = run_step(&*runtime, &step, spec.as_ref()).await;
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

/// Executes one step; on failure, the Kubernetes-style reason and the error.
async fn run_step<R: Runtime>(
    runtime: &R,
    step: &Step,
    spec: Option<&ContainerSpec>,
) -> Result<(), (&'static str, RuntimeError)> {
    match (step, spec) {
        (Step::Create { .. }, Some(spec)) => {
            let present = runtime
                .image_present(&spec.image)
                .await
                .map_err(|e| ("ErrImagePull", e))?;
            if !present {
                info!(image = %spec.image, "pulling image");
                runtime
                    .pull(&spec.image)
                    .await
                    .map_err(|e| ("ErrImagePull", e))?;
            }
            let id = runtime
                .create(spec)
                .await
                .map_err(|e| ("CreateContainerError", e))?;
            debug!(container = %spec.name, %id, "created container");
            runtime
                .start(&id)
                .await
                .map_err(|e| ("RunContainerError", e))
        }
        (Step::Start { id }, _) => runtime
            .start(id)
            .await
            .map_err(|e| ("RunContainerError", e)),
        (Step::Stop { id, grace }, _) => runtime
            .stop(id, *grace)
            .await
            .map_err(|e| ("KillContainerError", e)),
        (Step::Remove { id }, _) => runtime
            .remove(id)
            .await
            .map_err(|e| ("RemoveContainerError", e)),
        _ => Ok(()),
    }
}

/// The runtime's view of one container of a pod.
pub fn container_spec(node: &str, pod: &Pod, c: &Container, attempt: u32) -> ContainerSpec {
    let limit = |name: &str| c.resources.limits.get(name);
    ContainerSpec {
        name: labels::container_name(pod, &c.name, attempt),
        image: c.image.clone(),
        command: c.command.clone(),
        args: c.args.clone(),
        env: c
            .env
            .iter()
            .map(|e| (e.name.clone(), e.value.clone()))
            .collect(),
        ports: c
            .ports
            .iter()
            .map(|p| PortBinding {
                container_port: p.container_port.clamp(0, 65535) as u16,
                host_port: p.host_port.map(|h| h.clamp(0, 65535) as u16),
                protocol: p.protocol_lower(),
                host_ip: p.host_ip.clone(),
            })
            .collect(),
        memory_limit_bytes: limit("memory").and_then(|q| q.value().ok()),
        cpu_limit_millis: limit("cpu").and_then(|q| q.millis().ok()),
        working_dir: c.working_dir.clone(),
        labels: labels::container_labels(node, pod, &c.name, attempt),
    }
}
