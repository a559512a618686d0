//! A command run attached in a container (`bosun exec`): the master's input messages are
//! written to its standard input (and terminal size changes applied), its output goes back
//! as `StreamData`, and its exit code ends the stream.
use std::sync::Arc;

use bosun_proto::v1::{agent_message, AgentMessage, ExecInputData, ExecRequest, StreamData};
use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::data;
use crate::labels;
use crate::runtime::{ExecSpec, RunState, Runtime};

pub async fn run<R: Runtime>(
    runtime: Arc<R>,
    node: String,
    r: ExecRequest,
    mut input: mpsc::Receiver<ExecInputData>,
    tx: mpsc::Sender<AgentMessage>,
    cancel: CancellationToken,
) {
    let id = r.request_id;
    let container = match running_container(&*runtime, &node, &r).await {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(data(id, vec![], true, e)).await;
            return;
        }
    };
    let spec = ExecSpec {
        command: r.command.clone(),
        tty: r.tty,
        stdin: r.stdin,
        size: r.size.map(|s| (clamp(s.cols), clamp(s.rows))),
    };
    let mut exec = match runtime.exec_attach(&container, &spec).await {
        Ok(e) => e,
        Err(e) => {
            let _ = tx.send(data(id, vec![], true, e.to_string())).await;
            return;
        }
    };
    let mut stdin_open = r.stdin;
    let mut output_open = true;
    while output_open {
        tokio::select! {
            _ = cancel.cancelled() => return,
            m = input.recv(), if stdin_open => match m {
                None => stdin_open = false,
                Some(m) => {
                    if let Some(size) = m.resize {
                        let _ = runtime.exec_resize(&exec.id, clamp(size.cols), clamp(size.rows)).await;
                    }
                    if !m.stdin.is_empty() && exec.input.write_all(&m.stdin).await.is_err() {
                        stdin_open = false;
                    }
                    if m.stdin_eof {
                        let _ = exec.input.shutdown().await;
                        stdin_open = false;
                    }
                }
            },
            chunk = exec.output.next() => match chunk {
                Some(Ok(c)) => {
                    let msg = AgentMessage {
                        msg: Some(agent_message::Msg::Stream(StreamData {
                            request_id: id,
                            data: c.data.to_vec(),
                            stderr: c.stderr,
                            ..Default::default()
                        })),
                    };
                    if tx.send(msg).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(data(id, vec![], true, e.to_string())).await;
                    return;
                }
                None => output_open = false,
            },
        }
    }
    let code = exit_code(&*runtime, &exec.id, &cancel).await;
    let _ = tx
        .send(AgentMessage {
            msg: Some(agent_message::Msg::Stream(StreamData {
                request_id: id,
                eof: true,
                exit_code: Some(code),
                ..Default::default()
            })),
        })
        .await;
}

fn clamp(v: u32) -> u16 {
    u16::try_from(v).unwrap_or(u16::MAX)
}

/// The exit code once the engine reports the command ended (its output closes a moment
/// before); 126 if it cannot tell.
async fn exit_code<R: Runtime>(runtime: &R, exec_id: &str, cancel: &CancellationToken) -> i32 {
    for _ in 0..200 {
        match runtime.exec_exit_code(exec_id).await {
            Ok(Some(code)) => return i32::try_from(code).unwrap_or(126),
            Ok(None) => {}
            Err(_) => return 126,
        }
        tokio::select! {
            _ = cancel.cancelled() => return 126,
            _ = tokio::time::sleep(std::time::Duration::from_millis(10)) => {}
        }
    }
    126
}

/// The id of the running container of the request, or what to tell the user.
async fn running_container<R: Runtime>(
    runtime: &R,
    node: &str,
    r: &ExecRequest,
) -> Result<String, String> {
    let mut selector = labels::node_selector(node);
    selector.insert(labels::POD_UID.into(), r.pod_uid.clone());
    selector.insert(labels::CONTAINER.into(), r.container.clone());
    let runs = runtime.list(&selector).await.map_err(|e| e.to_string())?;
    runs.into_iter()
        .max_by_key(|c| labels::attempt_of(&c.labels))
        .filter(|c| c.state == RunState::Running)
        .map(|c| c.id)
        .ok_or_else(|| {
            format!(
                "unable to upgrade connection: container not found (\"{}\")",
                r.container
            )
        })
}
