//! [`Runtime::exec`](super::Runtime::exec) on Docker: create an exec instance, attach to its
//! output until it ends, then read its exit code.
use std::time::Duration;

use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::Docker;
use futures::StreamExt;

use super::{map_error, Subject};
use crate::runtime::{ExecOutput, RuntimeError, EXEC_OUTPUT_LIMIT};

/// How often the exit code is asked for when the engine still reports the command running
/// after its output closed (a short race in the engine).
const EXIT_POLL: Duration = Duration::from_millis(10);

/// Runs `command` in container `id`, at most `timeout`.
pub(super) async fn exec(
    docker: &Docker,
    id: &str,
    command: &[String],
    timeout: Duration,
) -> Result<ExecOutput, RuntimeError> {
    match tokio::time::timeout(timeout, run(docker, id, command)).await {
        Ok(result) => result,
        Err(_) => Err(RuntimeError::ExecTimeout {
            name: id.to_string(),
            command: command.to_vec(),
            after: timeout,
        }),
    }
}

async fn run(docker: &Docker, id: &str, command: &[String]) -> Result<ExecOutput, RuntimeError> {
    let err = |e| map_error(e, Subject::Container(id));
    let config = ExecConfig {
        cmd: Some(command.to_vec()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let created = docker.create_exec(id, config).await.map_err(err)?;
    let options = StartExecOptions {
        detach: false,
        tty: false,
        output_capacity: None,
    };
    let mut output = Vec::new();
    if let StartExecResults::Attached {
        output: mut stream, ..
    } = docker
        .start_exec(&created.id, Some(options))
        .await
        .map_err(err)?
    {
        // Read to the end (the command's exit), keeping only the start.
        while let Some(chunk) = stream.next().await {
            let bytes = chunk.map_err(err)?.into_bytes();
            let room = EXEC_OUTPUT_LIMIT.saturating_sub(output.len());
            output.extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }
    loop {
        let inspect = docker.inspect_exec(&created.id).await.map_err(err)?;
        match (inspect.running, inspect.exit_code) {
            (Some(false) | None, Some(exit_code)) => {
                return Ok(ExecOutput {
                    exit_code,
                    output: String::from_utf8_lossy(&output).into_owned(),
                })
            }
            // The caller's timeout bounds this wait.
            _ => tokio::time::sleep(EXIT_POLL).await,
        }
    }
}
