//! [`next_step`]: the agent's one decision, a pure function of desired and observed state.
//!
//! Called for every (pod, container) on every pass; level-triggered, so a missed event is
//! corrected on the next pass. One step at a time.
use std::time::{Duration, SystemTime};

use bosun_shared::pod::RestartPolicy;

use crate::runtime::{ObservedContainer, RunState};

/// First restart delay; doubled per restart up to [`BACKOFF_MAX`] (Kubernetes' values).
pub const BACKOFF_BASE: Duration = Duration::from_secs(10);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);
/// A container that ran this long before exiting restarts without accumulated back-off.
pub const BACKOFF_RESET: Duration = Duration::from_secs(600);

/// What the agent wants of one container.
#[derive(Debug, Clone, PartialEq)]
pub struct Desired {
    pub restart_policy: RestartPolicy,
    pub grace: Duration,
    /// The attempt the prober condemned, if any.
    pub killed: Option<ProbeKill>,
}

/// An attempt whose liveness or startup probe failed: it is stopped, then restarted like any
/// exited attempt, and also after a clean exit unless the policy is `Never` (as the kubelet
/// does).
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeKill {
    /// The engine's id of the attempt.
    pub id: String,
    /// The probe's grace period, else the pod's.
    pub grace: Duration,
}

/// A failure the agent recorded while creating or starting a container.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// Kubernetes-style reason: `ErrImagePull`, `CreateContainerError`, `RunContainerError`.
    pub reason: String,
    pub message: String,
    pub at: SystemTime,
    /// Consecutive failures.
    pub count: u32,
}

/// The next thing to do for one container.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Nothing to do now.
    Idle,
    /// Create attempt `attempt` (pulling the image first if missing).
    Create {
        attempt: u32,
    },
    Start {
        id: String,
    },
    Stop {
        id: String,
        grace: Duration,
    },
    Remove {
        id: String,
    },
    /// Back-off: nothing until then.
    WaitUntil(SystemTime),
}

/// Back-off before restart number `attempt` (1 for the first restart).
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u32
        .checked_shl(attempt.saturating_sub(1))
        .unwrap_or(u32::MAX);
    BACKOFF_BASE.saturating_mul(factor).min(BACKOFF_MAX)
}

/// Whether an exited container is restarted under `policy`; one a probe killed restarts
/// whatever its exit code, unless the policy is `Never`.
pub fn restarts(policy: RestartPolicy, exit_code: Option<i64>, killed_by_probe: bool) -> bool {
    match policy {
        RestartPolicy::Always => true,
        RestartPolicy::OnFailure => exit_code != Some(0) || killed_by_probe,
        RestartPolicy::Never => false,
    }
}

/// Decides the next step. `observed` are every attempt of this container on the engine
/// (highest attempt is the current one), `failure` the last recorded create/start failure.
pub fn next_step(
    desired: Option<&Desired>,
    observed: &[&ObservedContainer],
    failure: Option<&Failure>,
    now: SystemTime,
) -> Step {
    let mut sorted: Vec<&ObservedContainer> = observed.to_vec();
    sorted.sort_by_key(|c| crate::labels::attempt_of(&c.labels));
    let Some(desired) = desired else {
        // Not wanted anymore: stop what runs, then remove.
        return match sorted.iter().find(|c| is_running(c)) {
            Some(c) => Step::Stop {
                id: c.id.clone(),
                grace: crate::labels::grace_of(&c.labels),
            },
            None => sorted
                .first()
                .map_or(Step::Idle, |c| Step::Remove { id: c.id.clone() }),
        };
    };
    let Some(current) = sorted.pop() else {
        // Nothing exists yet: create, unless the last try failed within its back-off.
        return match failure {
            Some(f) => wait_or(f, now, Step::Create { attempt: 0 }),
            None => Step::Create { attempt: 0 },
        };
    };
    // The previous attempt is kept (stopped) for its last state and logs; older ones go.
    let previous = sorted.pop();
    if let Some(old) = sorted.first() {
        return if is_running(old) {
            Step::Stop {
                id: old.id.clone(),
                grace: desired.grace,
            }
        } else {
            Step::Remove { id: old.id.clone() }
        };
    }
    if let Some(prev) = previous.filter(|p| is_running(p)) {
        return Step::Stop {
            id: prev.id.clone(),
            grace: desired.grace,
        };
    }
    let attempt = crate::labels::attempt_of(&current.labels);
    let killed = desired.killed.as_ref().filter(|k| k.id == current.id);
    match current.state {
        RunState::Running | RunState::Paused | RunState::Restarting => match killed {
            Some(k) => Step::Stop {
                id: current.id.clone(),
                grace: k.grace,
            },
            None => Step::Idle,
        },
        RunState::Created => {
            let start = Step::Start {
                id: current.id.clone(),
            };
            match failure {
                Some(f) => wait_or(f, now, start),
                None => start,
            }
        }
        RunState::Exited | RunState::Dead => {
            if !restarts(desired.restart_policy, current.exit_code, killed.is_some()) {
                return Step::Idle;
            }
            let next = attempt + 1;
            let ran = match (current.started_at, current.finished_at) {
                (Some(s), Some(f)) => f.duration_since(s).unwrap_or_default(),
                _ => Duration::ZERO,
            };
            let delay = if ran >= BACKOFF_RESET {
                BACKOFF_BASE
            } else {
                backoff(next)
            };
            let since = current.finished_at.unwrap_or(now);
            let until = since + delay;
            if now >= until {
                Step::Create { attempt: next }
            } else {
                Step::WaitUntil(until)
            }
        }
    }
}

fn wait_or(f: &Failure, now: SystemTime, step: Step) -> Step {
    let until = f.at + backoff(f.count);
    if now >= until {
        step
    } else {
        Step::WaitUntil(until)
    }
}

fn is_running(c: &ObservedContainer) -> bool {
    matches!(
        c.state,
        RunState::Running | RunState::Paused | RunState::Restarting
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
    }

    fn c(
        id: &str,
        attempt: u32,
        state: RunState,
        exit: Option<i64>,
        started: u64,
        finished: Option<u64>,
    ) -> ObservedContainer {
        ObservedContainer {
            id: id.into(),
            name: id.into(),
            image: "img".into(),
            labels: BTreeMap::from([(crate::labels::ATTEMPT.to_string(), attempt.to_string())])
                .into(),
            state,
            exit_code: exit,
            started_at: Some(t(started)),
            finished_at: finished.map(t),
            error: None,
            oom_killed: false,
            ip: None,
            published: vec![],
        }
    }

    fn want(policy: RestartPolicy) -> Desired {
        Desired {
            restart_policy: policy,
            grace: Duration::from_secs(5),
            killed: None,
        }
    }

    fn killed(policy: RestartPolicy, id: &str) -> Desired {
        Desired {
            killed: Some(ProbeKill {
                id: id.into(),
                grace: Duration::from_secs(2),
            }),
            ..want(policy)
        }
    }

    #[test]
    fn decides_like_a_kubelet() {
        use RestartPolicy::*;
        use RunState::*;
        let failure = Failure {
            reason: "ErrImagePull".into(),
            message: "no".into(),
            at: t(100),
            count: 2, // back-off 20 s
        };
        // (name, desired, observed, failure, now, expected step)
        type Case = (
            &'static str,
            Option<Desired>,
            Vec<ObservedContainer>,
            Option<Failure>,
            u64,
            Step,
        );
        let cases: Vec<Case> = vec![
            (
                "nothing yet: create",
                Some(want(Always)),
                vec![],
                None,
                0,
                Step::Create { attempt: 0 },
            ),
            (
                "created: start",
                Some(want(Always)),
                vec![c("a", 0, Created, None, 0, None)],
                None,
                0,
                Step::Start { id: "a".into() },
            ),
            (
                "running: idle",
                Some(want(Always)),
                vec![c("a", 0, Running, None, 0, None)],
                None,
                50,
                Step::Idle,
            ),
            (
                "exited, Always, back-off passed: next attempt",
                Some(want(Always)),
                vec![c("a", 0, Exited, Some(0), 0, Some(10))],
                None,
                20,
                Step::Create { attempt: 1 },
            ),
            (
                "exited, Always, in back-off: wait",
                Some(want(Always)),
                vec![c("a", 2, Exited, Some(1), 0, Some(10))],
                None,
                11,
                Step::WaitUntil(t(50)),
            ),
            (
                "exited 0, OnFailure: done",
                Some(want(OnFailure)),
                vec![c("a", 0, Exited, Some(0), 0, Some(10))],
                None,
                20,
                Step::Idle,
            ),
            (
                "exited 1, OnFailure: back-off before the restart",
                Some(want(OnFailure)),
                vec![c("a", 0, Exited, Some(1), 0, Some(10))],
                None,
                15,
                Step::WaitUntil(t(20)),
            ),
            (
                "exited 1, Never: done",
                Some(want(Never)),
                vec![c("a", 0, Exited, Some(1), 0, Some(10))],
                None,
                20,
                Step::Idle,
            ),
            (
                "previous attempt is kept",
                Some(want(Always)),
                vec![
                    c("a", 0, Exited, Some(1), 0, Some(10)),
                    c("b", 1, Running, None, 12, None),
                ],
                None,
                20,
                Step::Idle,
            ),
            (
                "older attempts are removed",
                Some(want(Always)),
                vec![
                    c("a", 0, Exited, Some(1), 0, Some(10)),
                    c("b", 1, Exited, Some(1), 12, Some(13)),
                    c("c", 2, Running, None, 15, None),
                ],
                None,
                20,
                Step::Remove { id: "a".into() },
            ),
            (
                "a running previous attempt is stopped",
                Some(want(Always)),
                vec![
                    c("b", 1, Running, None, 12, None),
                    c("c", 2, Running, None, 15, None),
                ],
                None,
                20,
                Step::Stop {
                    id: "b".into(),
                    grace: Duration::from_secs(5),
                },
            ),
            (
                "pull failed recently: wait",
                Some(want(Always)),
                vec![],
                Some(failure.clone()),
                101,
                Step::WaitUntil(t(120)),
            ),
            (
                "pull failed long ago: retry",
                Some(want(Always)),
                vec![],
                Some(failure.clone()),
                121,
                Step::Create { attempt: 0 },
            ),
            (
                "start failed recently: wait",
                Some(want(Always)),
                vec![c("a", 0, Created, None, 0, None)],
                Some(failure),
                101,
                Step::WaitUntil(t(120)),
            ),
            (
                "unwanted and running: stop",
                None,
                vec![c("a", 0, Running, None, 0, None)],
                None,
                0,
                Step::Stop {
                    id: "a".into(),
                    grace: Duration::from_secs(30),
                },
            ),
            (
                "unwanted and stopped: remove",
                None,
                vec![c("a", 0, Exited, Some(0), 0, Some(1))],
                None,
                5,
                Step::Remove { id: "a".into() },
            ),
            ("unwanted and gone: idle", None, vec![], None, 0, Step::Idle),
            (
                "killed by a probe and running: stop with the probe's grace",
                Some(killed(Always, "a")),
                vec![c("a", 0, Running, None, 0, None)],
                None,
                5,
                Step::Stop {
                    id: "a".into(),
                    grace: Duration::from_secs(2),
                },
            ),
            (
                "a probe condemned another attempt: idle",
                Some(killed(Always, "old")),
                vec![c("a", 1, Running, None, 0, None)],
                None,
                5,
                Step::Idle,
            ),
            (
                "killed by a probe, exited: restart after the back-off",
                Some(killed(Always, "a")),
                vec![c("a", 0, Exited, Some(137), 0, Some(10))],
                None,
                15,
                Step::WaitUntil(t(20)),
            ),
            (
                "killed by a probe, exited 0, OnFailure: restart all the same",
                Some(killed(OnFailure, "a")),
                vec![c("a", 0, Exited, Some(0), 0, Some(10))],
                None,
                20,
                Step::Create { attempt: 1 },
            ),
            (
                "killed by a probe, Never: done",
                Some(killed(Never, "a")),
                vec![c("a", 0, Exited, Some(137), 0, Some(10))],
                None,
                20,
                Step::Idle,
            ),
        ];
        for (name, desired, observed, failure, now, expected) in cases {
            let refs: Vec<&ObservedContainer> = observed.iter().collect();
            let got = next_step(desired.as_ref(), &refs, failure.as_ref(), t(now));
            assert_eq!(got, expected, "{name}");
        }
    }

    #[test]
    fn long_runs_reset_back_off() {
        let exited = c("a", 6, RunState::Exited, Some(1), 0, Some(700));
        // After 10 minutes of running, the next restart waits only the base 10 s.
        let got = next_step(Some(&want(RestartPolicy::Always)), &[&exited], None, t(710));
        assert_eq!(got, Step::Create { attempt: 7 });
    }

    #[test]
    fn back_off_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(10));
        assert_eq!(backoff(2), Duration::from_secs(20));
        assert_eq!(backoff(4), Duration::from_secs(80));
        assert_eq!(backoff(6), BACKOFF_MAX);
        assert_eq!(backoff(30), BACKOFF_MAX);
        assert_eq!(backoff(200), BACKOFF_MAX);
    }
}
