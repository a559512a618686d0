//! [`plan`]: the steps of one pod's containers, in the order a pod runs them. Its sandbox
//! first (a pod of several containers, see [`crate::sandbox`]), then its init containers one
//! after another, each to completion, then its containers together. Pure, like
//! [`next_step`], which decides each container's own step.
//!
//! A container belongs to the sandbox whose id its `bosun.sandbox` label holds. When the
//! pod's sandbox is re-created (it died, or was removed), what ran in the old one is stopped,
//! the init containers run again and the containers restart under the pod's restart policy,
//! as a kubelet does when it re-creates a pod sandbox.
use std::time::{Duration, SystemTime};

use bosun_shared::pod::RestartPolicy;

use crate::labels;
use crate::runtime::{ObservedContainer, RunState};
use crate::step::{next_step, restarts, Desired, Failure, ProbeKill, Step};

/// What the agent knows of one container (or of the sandbox) of a pod.
#[derive(Debug, Clone, Default)]
pub struct ContainerInput<'a> {
    /// Every attempt on the engine.
    pub attempts: Vec<&'a ObservedContainer>,
    /// The last failure to create or start it.
    pub failure: Option<&'a Failure>,
    /// The attempt a probe condemned.
    pub killed: Option<ProbeKill>,
}

impl ContainerInput<'_> {
    /// The highest attempt.
    fn current(&self) -> Option<&ObservedContainer> {
        self.attempts
            .iter()
            .copied()
            .max_by_key(|c| labels::attempt_of(&c.labels))
    }
}

/// One pod: its restart policy, grace period and containers.
#[derive(Debug, Clone)]
pub struct PodInput<'a> {
    pub restart_policy: RestartPolicy,
    pub grace: Duration,
    /// The sandbox's attempts, for a pod that has one (`None`: a pod of one container).
    pub sandbox: Option<ContainerInput<'a>>,
    pub init: Vec<ContainerInput<'a>>,
    pub containers: Vec<ContainerInput<'a>>,
}

/// What to do now for each part of a pod.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The sandbox's step (`Idle` without one).
    pub sandbox: Step,
    /// The running sandbox new containers join.
    pub sandbox_id: Option<String>,
    pub init: Vec<Step>,
    /// Which init containers have completed in the current sandbox.
    pub init_done: Vec<bool>,
    pub containers: Vec<Step>,
    /// Every init container completed (in the current sandbox).
    pub initialized: bool,
    /// An init container failed and will not be retried (restart policy `Never`).
    pub init_failed: bool,
}

/// Grace period of the sandbox: nothing in it needs time to stop.
const SANDBOX_GRACE: Duration = Duration::from_secs(1);

/// Decides the next step of every part of the pod.
pub fn plan(pod: &PodInput<'_>, now: SystemTime) -> Plan {
    let sandbox_current = pod.sandbox.as_ref().and_then(ContainerInput::current);
    // What containers join: the sandbox's current attempt, and whether it runs.
    let home = match (&pod.sandbox, sandbox_current) {
        (None, _) => Home::Own,
        (Some(_), Some(s)) => Home::Sandbox(&s.id, s.state),
        (Some(_), None) => Home::Missing,
    };
    let runnable = home.runnable();

    // Init containers, in order: the first that has not completed is the one that runs.
    let init_policy = match pod.restart_policy {
        RestartPolicy::Never => RestartPolicy::Never,
        // `Always` would restart a completed init container: they restart on failure only.
        _ => RestartPolicy::OnFailure,
    };
    let desired = Desired {
        restart_policy: init_policy,
        grace: pod.grace,
        killed: None,
    };
    // A container of the pod has run in this sandbox: the pod is initialized, even if the
    // completed init containers were removed since (`docker container prune`), as the
    // kubelet decides.
    let containers_ran = pod.sandbox.is_some()
        && pod
            .containers
            .iter()
            .any(|c| c.attempts.iter().any(|a| home.holds(a)));
    // Under `Never`, a pod whose sandbox is gone after something ran in it has failed: it
    // does not get another sandbox (nor rerun its init containers).
    let anything_ran = pod
        .init
        .iter()
        .chain(&pod.containers)
        .any(|c| !c.attempts.is_empty());
    let sandbox_lost = match home {
        Home::Sandbox(_, state) => !is_live_state(state),
        Home::Missing => true,
        Home::Own => false,
    };
    let lost = pod.restart_policy == RestartPolicy::Never && sandbox_lost && anything_ran;
    let mut init = Vec::with_capacity(pod.init.len());
    let mut init_done = Vec::with_capacity(pod.init.len());
    let mut initialized = true;
    let mut init_failed = false;
    for c in &pod.init {
        let current = c.current();
        let belongs = current.is_some_and(|cur| home.holds(cur));
        let completed = |cur: &ObservedContainer| {
            matches!(cur.state, RunState::Exited | RunState::Dead) && cur.exit_code == Some(0)
        };
        let done = containers_ran || current.is_some_and(|cur| belongs && completed(cur));
        init_done.push(done && initialized);
        if !initialized {
            // Waits for the ones before it; only a leftover of an old sandbox is stopped.
            init.push(leftover(current, home));
            continue;
        }
        // Older attempts go first, as for any container.
        let tidy = next_step(Some(&desired), &c.attempts, c.failure, now);
        if done {
            init.push(match tidy {
                Step::Stop { .. } | Step::Remove { .. } => tidy,
                _ => Step::Idle,
            });
            continue;
        }
        initialized = false;
        let step = match current {
            Some(cur) if !home.shelters(cur) => leftover(Some(cur), home),
            // Completed in an old sandbox: it runs again in this one.
            Some(cur) if !belongs && completed(cur) => match tidy {
                Step::Stop { .. } | Step::Remove { .. } => tidy,
                _ => Step::Create {
                    attempt: labels::attempt_of(&cur.labels) + 1,
                },
            },
            _ => {
                let ended =
                    current.filter(|c| matches!(c.state, RunState::Exited | RunState::Dead));
                if let Some(cur) = ended {
                    init_failed |= !restarts(init_policy, cur.exit_code, false);
                }
                tidy
            }
        };
        init.push(gate(step, runnable && !lost));
    }
    init_failed |= lost && !initialized;

    // Containers: together, once the pod is initialized.
    let mut containers = Vec::with_capacity(pod.containers.len());
    let mut finished = init_failed;
    let mut all_done = true;
    for c in &pod.containers {
        let current = c.current();
        if !initialized {
            containers.push(leftover(current, home));
            all_done = false;
            continue;
        }
        let step = match current {
            Some(cur) if !home.shelters(cur) => leftover(Some(cur), home),
            _ => {
                let desired = Desired {
                    restart_policy: pod.restart_policy,
                    grace: pod.grace,
                    killed: c.killed.clone(),
                };
                next_step(Some(&desired), &c.attempts, c.failure, now)
            }
        };
        let done = current.is_some_and(|cur| {
            let killed = c.killed.as_ref().is_some_and(|k| k.id == cur.id);
            matches!(cur.state, RunState::Exited | RunState::Dead)
                && !restarts(pod.restart_policy, cur.exit_code, killed)
        });
        all_done &= done;
        containers.push(gate(step, runnable && !lost));
    }
    finished |= lost || (initialized && all_done && !pod.containers.is_empty());

    let sandbox = match &pod.sandbox {
        None => Step::Idle,
        // A finished pod's sandbox is stopped, and kept: it is what the completed init
        // containers belong to, so they do not run again.
        Some(_) if finished => match sandbox_current {
            Some(s) if is_live(s) && s.state != RunState::Created => Step::Stop {
                id: s.id.clone(),
                grace: SANDBOX_GRACE,
            },
            _ => Step::Idle,
        },
        Some(s) => {
            let desired = Desired {
                restart_policy: RestartPolicy::Always,
                grace: SANDBOX_GRACE,
                killed: None,
            };
            next_step(Some(&desired), &s.attempts, s.failure, now)
        }
    };
    Plan {
        sandbox,
        sandbox_id: match home {
            Home::Sandbox(id, RunState::Running) => Some(id.to_string()),
            _ => None,
        },
        init,
        init_done,
        containers,
        initialized,
        init_failed,
    }
}

/// Where a pod's containers run.
#[derive(Debug, Clone, Copy)]
enum Home<'a> {
    /// In their own namespaces: a pod of one container.
    Own,
    /// In the sandbox with this id, in this state.
    Sandbox(&'a str, RunState),
    /// The pod needs a sandbox and has none yet.
    Missing,
}

impl Home<'_> {
    /// Whether a container can be created or started now.
    fn runnable(self) -> bool {
        matches!(self, Home::Own | Home::Sandbox(_, RunState::Running))
    }

    /// Whether `c` ran in this home (a container of its pod's current sandbox).
    fn holds(self, c: &ObservedContainer) -> bool {
        match self {
            Home::Own => true,
            Home::Sandbox(id, _) => c.labels.get(labels::SANDBOX).map(String::as_str) == Some(id),
            Home::Missing => false,
        }
    }

    /// Whether `c` may go on as it is: it is not live, or lives in this home while the
    /// sandbox does. A live container of a dead or old sandbox has no network: it is stopped.
    fn shelters(self, c: &ObservedContainer) -> bool {
        let sandbox_dead = matches!(self, Home::Sandbox(_, s) if !is_live_state(s));
        !is_live(c) || (self.holds(c) && !sandbox_dead)
    }
}

/// Created, running, paused or restarting: holds the namespaces it joined.
fn is_live(c: &ObservedContainer) -> bool {
    is_live_state(c.state)
}

fn is_live_state(s: RunState) -> bool {
    !matches!(s, RunState::Exited | RunState::Dead)
}

/// What to do with a container that must wait: if it lives where it may not (see
/// [`Home::shelters`]), stop it, or remove it if it never started; otherwise nothing.
fn leftover(current: Option<&ObservedContainer>, home: Home<'_>) -> Step {
    match current {
        Some(c) if home.shelters(c) => Step::Idle,
        Some(c) if c.state == RunState::Created => Step::Remove { id: c.id.clone() },
        Some(c) => Step::Stop {
            id: c.id.clone(),
            grace: labels::grace_of(&c.labels),
        },
        None => Step::Idle,
    }
}

/// `step`, unless it creates or starts a container while there is nowhere to run it.
fn gate(step: Step, runnable: bool) -> Step {
    match step {
        Step::Create { .. } | Step::Start { .. } if !runnable => Step::Idle,
        step => step,
    }
}

#[cfg(test)]
mod tests;
