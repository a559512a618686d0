//! Lifecycle hooks on the node: `postStart` right after a container starts (a failure kills
//! the container, which then restarts under the pod's policy, as the kubelet does), and
//! `preStop` before the stop signal, inside the grace period: the grace left after the hook
//! is what the container gets between SIGTERM and SIGKILL.
use std::time::{Duration, Instant};

use bosun_shared::lifecycle::LifecycleHandler;

use crate::runtime::{Runtime, RuntimeError};

/// How long a postStart hook may run.
const POST_START_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs `handler` in container `id`, at most `limit`; `Err` says why it failed.
async fn run<R: Runtime>(
    runtime: &R,
    id: &str,
    handler: &LifecycleHandler,
    limit: Duration,
) -> Result<(), String> {
    if let Some(s) = &handler.sleep {
        tokio::time::sleep(Duration::from_secs(s.seconds.max(0) as u64).min(limit)).await;
        return Ok(());
    }
    let Some(exec) = &handler.exec else {
        return Ok(());
    };
    match runtime.exec(id, &exec.command, limit).await {
        Ok(out) if out.exit_code == 0 => Ok(()),
        Ok(out) => Err(format!(
            "command {:?} exited with {}: {}",
            exec.command,
            out.exit_code,
            out.output.trim()
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// After a start: the postStart hook; on failure the container is stopped at once.
pub async fn post_start<R: Runtime>(
    runtime: &R,
    id: &str,
    handler: &LifecycleHandler,
    report: &(dyn Fn(&str, &str, String) + Send + Sync),
) -> Result<(), RuntimeError> {
    if let Err(message) = run(runtime, id, handler, POST_START_TIMEOUT).await {
        report(
            bosun_shared::event::WARNING,
            "FailedPostStartHook",
            format!("PostStartHook failed: {message}"),
        );
        runtime.stop(id, Duration::ZERO).await?;
        return Err(RuntimeError::Container {
            name: id.to_string(),
            message: format!("postStart hook failed: {message}"),
        });
    }
    Ok(())
}

/// Stops container `id` within `grace`, running its preStop hook `pre_stop` first (recorded on
/// the container at creation; the caller found it on the running container it observed).
pub async fn stop<R: Runtime>(
    runtime: &R,
    id: &str,
    grace: Duration,
    pre_stop: Option<&bosun_shared::lifecycle::LifecycleHandler>,
) -> Result<(), RuntimeError> {
    let started = Instant::now();
    if let Some(h) = pre_stop {
        if let Err(message) = run(runtime, id, h, grace).await {
            tracing::warn!(container = %id, error = %message, "preStop hook failed");
        }
    }
    runtime
        .stop(id, grace.saturating_sub(started.elapsed()))
        .await
}
