//! Running one [`Step`] of a container on the engine: pull (by policy, with credentials),
//! create, start (and its postStart hook), stop (after its preStop hook), remove.
use bosun_shared::event::{NORMAL, WARNING};
use tracing::{debug, info};

use crate::runtime::{ContainerSpec, Runtime, RuntimeError};
use crate::step::Step;

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
