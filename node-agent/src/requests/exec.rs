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
    let exec = match runtime.exec_attach(&container, &spec).await {
        Ok(e) => e,
        Err(e) => {
            let _ = tx.send(data(id, vec![], true, e.to_string())).await;
            return;
        }
    };
    // Input is written by a task of its own: a command that does not read its input (or
    // whose output nobody drains yet) must not stop this loop from draining its output or
    // from noticing a cancel. It ends with this function (aborted on drop).
    let (exec_id, mut output, mut stdin) = (exec.id, exec.output, exec.input);
    let (to_stdin, mut stdin_rx) = mpsc::channel::<Option<Vec<u8>>>(STDIN_QUEUE);
    let writer = AbortOnDrop(tokio::spawn(async move {
        while let Some(chunk) = stdin_rx.recv().await {
            let written = match chunk {
                Some(bytes) => stdin.write_all(&bytes).await,
                None => stdin.shutdown().await,
            };
            if written.is_err() {
                return;
            }
        }
    }));
    let mut stdin_open = r.stdin;
    let mut output_open = true;
    while output_open {
        tokio::select! {
            _ = cancel.cancelled() => return,
            // Taken only while the writer has room: input then waits in the session's queue.
            m = input.recv(), if stdin_open && to_stdin.capacity() > 0 => match m {
                None => stdin_open = false,
                Some(m) => {
                    if let Some(size) = m.resize {
                        let _ = runtime.exec_resize(&exec_id, clamp(size.cols), clamp(size.rows)).await;
                    }
                    if !m.stdin.is_empty() && to_stdin.try_send(Some(m.stdin)).is_err() {
                        stdin_open = false;
                    }
                    if m.stdin_eof {
                        let _ = to_stdin.try_send(None);
                        stdin_open = false;
                    }
                }
            },
            chunk = output.next() => match chunk {
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
    drop(writer);
    let code = exit_code(&*runtime, &exec_id, &cancel).await;
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

/// Input chunks queued for the command's stdin.
const STDIN_QUEUE: usize = 64;

/// Aborts the task when dropped, however the exec ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
