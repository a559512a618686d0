//! Running one [`Step`] of a container on the engine: [`Reconciler::execute`] runs it as a
//! tracked task (at most one per container) and records how it ended; [`run_step`] does it:
//! pull (by policy, with credentials), create, start (and its postStart hook), stop (after its
//! preStop hook), remove.
use std::time::SystemTime;

use bosun_shared::event::{NORMAL, WARNING};
use tokio_util::task::TaskTracker;
use tracing::{debug, info, warn};

use super::seen::{Prepare, What};
use super::spec::{registry_auth, spec_for};
use super::{Key, Reconciler};
use crate::labels;
use crate::runtime::{ContainerSpec, ObservedContainer, RunState, Runtime, RuntimeError};
use crate::sandbox;
use crate::step::{Failure, Step};

/// What a step needs beyond the runtime spec: the container's postStart hook, the preStop
/// hook of the container to stop, pull policy and registry credentials.
pub(super) struct Hooks<'a> {
    pub post_start: Option<&'a bosun_shared::lifecycle::LifecycleHandler>,
    pub pre_stop: Option<&'a bosun_shared::lifecycle::LifecycleHandler>,
    pub pull_policy: Option<String>,
    pub auth: Option<bosun_shared::registry_auth::RegistryAuth>,
}

/// Executes one step, reporting what happened (type, reason, message) as kubelet's events
/// do; on failure, the Kubernetes-style reason and the error.
pub(super) async fn run_step<R: Runtime>(
    runtime: &R,
    step: &Step,
    spec: Option<&ContainerSpec>,
    container: &str,
    hooks: &Hooks<'_>,
    report: &(dyn Fn(&str, &str, String) + Send + Sync),
) -> Result<(), (&'static str, RuntimeError)> {
    let failed = |reason: &'static str, what: String| {
        move |e: RuntimeError| {
            report(WARNING, "Failed", format!("{what}: {e}"));
            (reason, e)
        }
    };
    match (step, spec) {
        (Step::Create { .. }, Some(spec)) => {
            let image = &spec.image;
            let present = runtime.image_present(image).await.map_err(failed(
                "ErrImagePull",
                format!("Failed to inspect image {image:?}"),
            ))?;
            let policy = hooks.pull_policy.as_deref().unwrap_or("IfNotPresent");
            if !present && policy == "Never" {
                let message =
                    format!("Container image {image:?} is not present with pull policy of Never");
                report(WARNING, "ErrImageNeverPull", message.clone());
                return Err(("ErrImageNeverPull", RuntimeError::Config(message)));
            }
            if !present || policy == "Always" {
                info!(image = %spec.image, policy, "pulling image");
                report(NORMAL, "Pulling", format!("Pulling image {image:?}"));
                runtime
                    .pull(image, hooks.auth.as_ref())
                    .await
                    .map_err(failed(
                        "ErrImagePull",
                        format!("Failed to pull image {image:?}"),
                    ))?;
                report(
                    NORMAL,
                    "Pulled",
                    format!("Successfully pulled image {image:?}"),
                );
            }
            let id = runtime
                .create(spec)
                .await
                .map_err(failed("CreateContainerError", "Error".into()))?;
            debug!(container = %spec.name, %id, "created container");
            report(NORMAL, "Created", format!("Created container {container}"));
            runtime
                .start(&id)
                .await
                .map_err(failed("RunContainerError", "Error".into()))?;
            report(NORMAL, "Started", format!("Started container {container}"));
            if let Some(h) = hooks.post_start {
                crate::hooks::post_start(runtime, &id, h, report)
                    .await
                    .map_err(|e| ("PostStartHookError", e))?;
            }
            Ok(())
        }
        (Step::Start { id }, _) => runtime
            .start(id)
            .await
            .map_err(failed("RunContainerError", "Error".into())),
        (Step::Stop { id, grace }, _) => crate::hooks::stop(runtime, id, *grace, hooks.pre_stop)
            .await
            .map_err(|e| ("KillContainerError", e)),
        (Step::Remove { id }, _) => runtime
            .remove(id)
            .await
            .map_err(|e| ("RemoveContainerError", e)),
        _ => Ok(()),
    }
}

impl<R: Runtime> Reconciler<R> {
    /// Runs a step as a task unless one is already running for the container, whose attempts
    /// this pass observed are `observed`.
    pub(super) fn execute(
        &self,
        tasks: &TaskTracker,
        key: Key,
        step: Step,
        what: What<'_>,
        observed: &[&ObservedContainer],
    ) {
        if matches!(step, Step::Idle | Step::WaitUntil(_)) {
            return;
        }
        // A running container stops after its preStop hook, the one recorded on it.
        let pre_stop = match &step {
            Step::Stop { id, .. } => observed
                .iter()
                .find(|c| &c.id == id && c.state == RunState::Running)
                .and_then(|c| labels::pre_stop_of(&c.labels)),
            _ => None,
        };
        let listed_at = self.listed_at.load(std::sync::atomic::Ordering::Acquire);
        let stale = self
            .finished_at
            .lock()
            .expect("finished lock")
            .get(&key)
            .is_some_and(|at| *at > listed_at);
        if stale {
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
        let prepare = match (&step, &what) {
            (Step::Create { attempt }, What::Container(p, c, join)) => Some(Prepare::Container(
                Box::new(((*p).clone(), (*c).clone())),
                *attempt,
                join.map(str::to_string),
            )),
            (Step::Create { attempt }, What::Sandbox(p)) => {
                Some(Prepare::Sandbox(Box::new((*p).clone()), *attempt))
            }
            _ => None,
        };
        let about = match what {
            What::Container(p, c, _) => Some((p.clone(), c.name.to_string())),
            What::Sandbox(p) => Some((p.clone(), sandbox::CONTAINER.to_string())),
            What::Gone => None,
        };
        let events = self.events.clone();
        let runtime = self.runtime.clone();
        let inflight = self.inflight.clone();
        let (finished, finished_at) = (self.finished.clone(), self.finished_at.clone());
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
                    Some(Prepare::Container(pc, attempt, join)) => {
                        let (p, c) = &**pc;
                        let spec = spec_for(&volumes, &desired, &node, p, c, *attempt).await;
                        let mut spec = spec.map_err(|message| {
                            // The kubelet's CreateContainerConfigError: retried with back-off.
                            report(WARNING, "Failed", format!("Error: {message}"));
                            ("CreateContainerConfigError", RuntimeError::Config(message))
                        })?;
                        if let Some(id) = join {
                            sandbox::join(&mut spec, id);
                        }
                        Some(spec)
                    }
                    Some(Prepare::Sandbox(p, attempt)) => {
                        sandbox::ensure_image(&*runtime).await.map_err(|e| {
                            report(WARNING, "FailedCreatePodSandBox", e.to_string());
                            ("CreateContainerConfigError", e)
                        })?;
                        Some(sandbox::spec(&node, p, *attempt))
                    }
                    None => None,
                };
                let of = prepare.as_ref().and_then(Prepare::container);
                let hooks = Hooks {
                    pre_stop: pre_stop.as_ref(),
                    post_start: of.and_then(|(_, c)| c.lifecycle.as_ref()?.post_start.as_ref()),
                    pull_policy: of.and_then(|(_, c)| c.image_pull_policy.clone()),
                    auth: of.and_then(|(p, c)| registry_auth(p, &c.image, &desired.config)),
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
            // Recorded before the key leaves `inflight`, so no pass misses both.
            let at = finished.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1;
            finished_at.lock().expect("finished lock").insert(key.clone(), at);
            inflight.lock().expect("inflight lock").remove(&key);
            wake.notify_one();
        });
    }
}
