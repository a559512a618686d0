//! [`Worker`]: the loop of one probe of one container attempt, with the kubelet's timing.
//!
//! - Liveness and readiness probes wait until the startup probe has succeeded.
//! - The first run is `initialDelaySeconds` after the container started, then one every
//!   `periodSeconds`; a run takes at most `timeoutSeconds` (a timeout is a failure).
//! - The reported result flips only after `successThreshold` consecutive successes or
//!   `failureThreshold` consecutive failures ([`Threshold`]).
//! - A startup probe stops once it succeeds; a liveness or startup probe stops once it fails
//!   (the attempt is killed, and a new attempt gets new workers).
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bosun_shared::probe::{Probe, ProbeKind};
use tokio::sync::{watch, Notify};
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::action::{self, Outcome, Target};
use super::{ProbeFailure, ProbeView};
use crate::runtime::Runtime;

/// One probe of one container attempt.
pub struct Worker<R: Runtime> {
    pub kind: ProbeKind,
    pub probe: Probe,
    pub target: Target,
    pub runtime: Arc<R>,
    /// The attempt's findings, shared with the other probes of the attempt and the prober.
    pub view: watch::Sender<ProbeView>,
    /// When the attempt started (the initial delay counts from then).
    pub started_at: Option<SystemTime>,
    /// Wakes the reconciler when a finding changes.
    pub wake: Arc<Notify>,
}

impl<R: Runtime> Worker<R> {
    /// Probes until the attempt is done with (`cancel`) or this probe has nothing more to say.
    pub async fn run(self, cancel: CancellationToken) {
        tokio::select! {
            _ = cancel.cancelled() => {}
            _ = self.probe_loop() => {}
        }
    }

    async fn probe_loop(&self) {
        if self.kind != ProbeKind::Startup {
            let mut view = self.view.subscribe();
            // Fails only when every sender is gone, and this worker holds one.
            if view.wait_for(|v| v.started).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(self.initial_delay_left()).await;
        let period =
            Duration::from_secs(u64::try_from(self.probe.period_seconds.max(1)).unwrap_or(1));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut threshold = Threshold::new(&self.probe);
        let mut last_failure = String::new();
        loop {
            ticks.tick().await;
            let ok = match action::run(&*self.runtime, &self.probe, &self.target).await {
                Outcome::Success => true,
                Outcome::Failure(message) => {
                    debug!(pod = %self.target.pod, container = %self.target.container, probe = %self.kind, %message, "probe failed");
                    last_failure = message;
                    false
                }
                Outcome::Unknown(message) => {
                    debug!(pod = %self.target.pod, container = %self.target.container, probe = %self.kind, %message, "probe could not run");
                    continue;
                }
            };
            let Some(result) = threshold.observe(ok) else {
                continue;
            };
            if !self.report(result, &last_failure) {
                return;
            }
        }
    }

    /// Records a result that passed its threshold; false when this probe is done.
    fn report(&self, ok: bool, failure: &str) -> bool {
        let (pod, container) = (&self.target.pod, &self.target.container);
        let changed = match (self.kind, ok) {
            (ProbeKind::Readiness, ready) => self.view.send_if_modified(|v| {
                // A failure counts when it begins, also before the first success.
                let began_failing = !ready && v.unready.is_none();
                let changed = v.ready != ready || began_failing;
                v.ready = ready;
                if began_failing {
                    v.unready = Some(format!("Readiness probe failed: {failure}"));
                    v.readiness_failures += 1;
                } else if ready {
                    v.unready = None;
                }
                changed
            }),
            (ProbeKind::Startup, true) => self.view.send_if_modified(|v| {
                let changed = !v.started;
                v.started = true;
                changed
            }),
            (ProbeKind::Liveness, true) => false,
            (ProbeKind::Liveness | ProbeKind::Startup, false) => {
                let failed = ProbeFailure {
                    message: format!("{} probe failed: {failure}", self.kind.title()),
                    grace: self
                        .probe
                        .termination_grace_period_seconds
                        .map(|g| Duration::from_secs(u64::try_from(g).unwrap_or(0))),
                };
                self.view.send_if_modified(|v| {
                    let changed = v.failed.is_none();
                    v.failed.get_or_insert(failed);
                    changed
                })
            }
        };
        if changed {
            match (self.kind, ok) {
                (ProbeKind::Readiness, _) => {
                    info!(%pod, %container, ready = ok, "readiness changed")
                }
                (_, true) => info!(%pod, %container, "startup probe succeeded"),
                (kind, false) => {
                    info!(%pod, %container, probe = %kind, message = %failure, "probe failed: the container will be killed")
                }
            }
            self.wake.notify_one();
        }
        match self.kind {
            ProbeKind::Readiness => true,
            ProbeKind::Liveness => ok,
            ProbeKind::Startup => false,
        }
    }

    /// What is left of `initialDelaySeconds`, counted from the container's start.
    fn initial_delay_left(&self) -> Duration {
        let delay =
            Duration::from_secs(u64::try_from(self.probe.initial_delay_seconds).unwrap_or(0));
        let since_start = self
            .started_at
            .and_then(|s| SystemTime::now().duration_since(s).ok())
            .unwrap_or_default();
        delay.saturating_sub(since_start)
    }
}

/// Consecutive results of a probe, and when they are enough to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Threshold {
    success: u32,
    failure: u32,
    last: Option<bool>,
    run: u32,
}

impl Threshold {
    pub fn new(probe: &Probe) -> Self {
        let at_least_one = |n: i32| u32::try_from(n.max(1)).unwrap_or(1);
        Threshold {
            success: at_least_one(probe.success_threshold),
            failure: at_least_one(probe.failure_threshold),
            last: None,
            run: 0,
        }
    }

    /// Counts one result; `Some(result)` once it has come often enough in a row to report
    /// (and on every further one while the run lasts).
    pub fn observe(&mut self, ok: bool) -> Option<bool> {
        if self.last == Some(ok) {
            self.run = self.run.saturating_add(1);
        } else {
            self.last = Some(ok);
            self.run = 1;
        }
        let needed = if ok { self.success } else { self.failure };
        (self.run >= needed).then_some(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_are_reported_after_their_threshold_in_a_row() {
        let probe = Probe {
            success_threshold: 2,
            failure_threshold: 3,
            ..Probe::default()
        };
        let mut t = Threshold::new(&probe);
        let seen: Vec<Option<bool>> = [
            false, false, true, false, false, false, false, true, true, true,
        ]
        .into_iter()
        .map(|ok| t.observe(ok))
        .collect();
        assert_eq!(
            seen,
            [
                None,
                None,
                None, // a success breaks the run of failures
                None,
                None,
                Some(false), // third failure in a row
                Some(false),
                None,
                Some(true), // second success in a row
                Some(true),
            ]
        );
    }

    #[test]
    fn thresholds_below_one_count_as_one() {
        let probe = Probe {
            success_threshold: 0,
            failure_threshold: -2,
            ..Probe::default()
        };
        let mut t = Threshold::new(&probe);
        assert_eq!(t.observe(false), Some(false));
        assert_eq!(t.observe(true), Some(true));
    }
}
