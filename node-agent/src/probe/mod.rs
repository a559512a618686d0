//! The prober: runs the liveness, readiness and startup probes of every running container, as
//! the kubelet does, and keeps what they found for the reconciler.
//!
//! - [`Prober`]: one set of workers per container attempt (Docker container id), started when
//!   the reconciler sees the attempt running, cancelled when it stops, is replaced or its pod
//!   goes; what they found, per attempt.
//! - [`worker`]: one probe's loop: initial delay, period, thresholds, startup gating.
//! - [`action`]: one run of a probe's handler, with its timeout: [`exec`], [`http`], [`tcp`].
//!
//! Probes only observe: a failed liveness or startup probe marks the attempt
//! ([`ProbeView::failed`]) and the reconciler's pure `next_step` stops it; the restart that
//! follows is the ordinary one, with its back-off.
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_shared::pod::{Container, Pod};
use bosun_shared::probe::{Probe, ProbeKind};
use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::debug;

use crate::runtime::{ObservedContainer, Runtime};

pub mod action;
pub mod exec;
pub mod http;
pub mod tcp;
pub mod worker;

use action::Target;
use worker::Worker;

/// What the probes of one container attempt have found so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeView {
    /// The startup probe succeeded (true from the start without one).
    pub started: bool,
    /// The readiness probe passes (true from the start without one). The container is ready
    /// when it runs, has started, passes and has not failed.
    pub ready: bool,
    /// The liveness or startup probe failed past its threshold: the attempt is to be killed.
    pub failed: Option<ProbeFailure>,
    /// While the readiness probe fails past its threshold: `Readiness probe failed: …`.
    pub unready: Option<String>,
    /// How many times the readiness probe has started failing in this attempt: each is
    /// reported once as an `Unhealthy` event.
    pub readiness_failures: u32,
}

/// A failed liveness or startup probe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// `Liveness probe failed: HTTP probe failed with statuscode: 500`.
    pub message: String,
    /// The probe's `terminationGracePeriodSeconds`, which overrides the pod's for the kill.
    pub grace: Option<Duration>,
}

/// The probes of one attempt: their spec (to notice a change), their findings, their workers.
struct Probed {
    spec: Vec<(ProbeKind, Probe)>,
    view: watch::Sender<ProbeView>,
    cancel: CancellationToken,
}

/// Runs probes; see the module docs. Owned by the reconciler.
pub struct Prober<R: Runtime> {
    runtime: Arc<R>,
    /// Wakes the reconciler when a finding changes, so the status goes out at once.
    wake: Arc<Notify>,
    /// By container id.
    probed: Mutex<HashMap<String, Probed>>,
    tasks: TaskTracker,
    shutdown: CancellationToken,
}

impl<R: Runtime> Prober<R> {
    pub fn new(runtime: Arc<R>, wake: Arc<Notify>) -> Self {
        Prober {
            runtime,
            wake,
            probed: Mutex::default(),
            tasks: TaskTracker::new(),
            shutdown: CancellationToken::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Probed>> {
        // Only map operations happen under the lock.
        self.probed.lock().expect("prober lock")
    }

    /// Makes sure the probes of `container` run against `observed`, a running attempt of it,
    /// reached at `pod_ip` (its own address, or its pod sandbox's): starts them for a new
    /// attempt, restarts them when the container's probes changed.
    pub fn sync(
        &self,
        pod: &Pod,
        container: &Container,
        observed: &ObservedContainer,
        pod_ip: Option<String>,
    ) {
        let spec: Vec<(ProbeKind, Probe)> = ProbeKind::ALL
            .into_iter()
            .filter_map(|kind| kind.of(container).map(|p| (kind, p.clone())))
            .collect();
        let mut probed = self.lock();
        if let Some(existing) = probed.get(&observed.id) {
            // Cancelled workers (the attempt was seen paused, say) start again.
            if existing.spec == spec && !existing.cancel.is_cancelled() {
                return;
            }
            existing.cancel.cancel();
            probed.remove(&observed.id);
        }
        if spec.is_empty() {
            return;
        }
        let has = |kind| spec.iter().any(|(k, _)| *k == kind);
        let (view, _) = watch::channel(ProbeView {
            started: !has(ProbeKind::Startup),
            ready: !has(ProbeKind::Readiness),
            failed: None,
            unready: None,
            readiness_failures: 0,
        });
        let cancel = self.shutdown.child_token();
        let target = Target {
            pod: pod.key(),
            container: container.name.to_string(),
            container_id: observed.id.clone(),
            pod_ip,
            ports: container.ports.clone(),
        };
        debug!(pod = %target.pod, container = %target.container, id = %observed.id, "starting probes");
        for (kind, probe) in &spec {
            let worker = Worker {
                kind: *kind,
                probe: probe.clone(),
                target: target.clone(),
                runtime: self.runtime.clone(),
                view: view.clone(),
                started_at: observed.started_at,
                wake: self.wake.clone(),
            };
            self.tasks.spawn(worker.run(cancel.clone()));
        }
        probed.insert(observed.id.clone(), Probed { spec, view, cancel });
    }

    /// What the probes of attempt `id` found; `None` when it has no probes (or never ran).
    pub fn view(&self, id: &str) -> Option<ProbeView> {
        self.lock().get(id).map(|p| p.view.borrow().clone())
    }

    /// Stops the probes of every attempt not in `probing` (the running current attempts), and
    /// forgets attempts in neither set (`remembered`: attempts whose last state is shown).
    pub fn retain(&self, probing: &HashSet<String>, remembered: &HashSet<String>) {
        self.lock().retain(|id, p| {
            if !probing.contains(id) {
                p.cancel.cancel();
            }
            probing.contains(id) || remembered.contains(id)
        });
    }

    /// Probe workers still running (one per probe of each probed attempt).
    pub fn workers(&self) -> usize {
        self.tasks.len()
    }

    /// Stops every probe and waits for the workers to end.
    pub async fn shutdown(&self) {
        self.shutdown.cancel();
        self.tasks.close();
        self.tasks.wait().await;
    }
}
