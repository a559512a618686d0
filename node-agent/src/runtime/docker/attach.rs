//! [`Runtime::exec_attach`](super::Runtime::exec_attach) on Docker: an exec instance started
//! attached (`bosun exec`), with its terminal resized and its exit code read.
use bollard::container::LogOutput;
use bollard::exec::{ResizeExecOptions, StartExecOptions, StartExecResults};
use bollard::models::ExecConfig;
use bollard::Docker;
use futures::{StreamExt, TryStreamExt};

use super::{map_error, Subject};
use crate::runtime::{AttachedExec, ExecChunk, ExecSpec, RuntimeError};

/// Starts `spec` in container `id`, attached.
pub(super) async fn attach(
    docker: &Docker,
    id: &str,
    spec: &ExecSpec,
) -> Result<AttachedExec, RuntimeError> {
    let err = |e| map_error(e, Subject::Container(id));
    let config = ExecConfig {
        cmd: Some(spec.command.clone()),
        attach_stdin: Some(spec.stdin),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        tty: Some(spec.tty),
        console_size: spec
            .size
            .filter(|_| spec.tty)
            .map(|(cols, rows)| vec![usize::from(rows), usize::from(cols)]),
        ..Default::default()
    };
    let created = docker.create_exec(id, config).await.map_err(err)?;
    let options = StartExecOptions {
        detach: false,
        tty: spec.tty,
        output_capacity: None,
    };
    match docker
        .start_exec(&created.id, Some(options))
        .await
        .map_err(err)?
    {
        StartExecResults::Attached { output, input } => {
            let owned = id.to_string();
            let output = output
                .map_ok(|o| match o {
                    LogOutput::StdErr { message } => ExecChunk {
                        stderr: true,
                        data: message,
                    },
                    other => ExecChunk {
                        stderr: false,
                        data: other.into_bytes(),
                    },
                })
                .map_err(move |e| map_error(e, Subject::Container(&owned)))
                .boxed();
            Ok(AttachedExec {
                id: created.id,
                output,
                input,
            })
        }
        StartExecResults::Detached => Err(RuntimeError::Container {
            name: id.to_string(),
            message: "the engine started the command detached".into(),
        }),
    }
}

pub(super) async fn resize(
    docker: &Docker,
    exec_id: &str,
    cols: u16,
    rows: u16,
) -> Result<(), RuntimeError> {
    let options = ResizeExecOptions {
        height: rows,
        width: cols,
    };
    docker
        .resize_exec(exec_id, options)
        .await
        .map_err(|e| map_error(e, Subject::Container(exec_id)))
}

pub(super) async fn exit_code(docker: &Docker, exec_id: &str) -> Result<Option<i64>, RuntimeError> {
    let inspect = docker
        .inspect_exec(exec_id)
        .await
        .map_err(|e| map_error(e, Subject::Container(exec_id)))?;
    Ok(match inspect.running {
        Some(true) => None,
        _ => inspect.exit_code,
    })
}
