//! `bosun exec`: runs a command in a container through the agent of its node, relaying the
//! client's input to it and its output back.
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bosun_proto::v1::{
    exec_input, master_message, ExecInput, ExecInputData, ExecOutput, ExecRequest,
};
use futures::{Stream, StreamExt};
use tokio::task::JoinHandle;
use tonic::Status;

use super::target::Target;
use crate::dispatcher::registry::{Answers, StreamItem};
use crate::dispatcher::Registry;
use crate::store::Store;

/// The command's output; dropping it (the client went away) stops the command's input relay
/// and cancels the exec at the agent.
pub struct ExecStream {
    answers: Answers,
    input: JoinHandle<()>,
}

impl Stream for ExecStream {
    type Item = Result<ExecOutput, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            return match Pin::new(&mut self.answers).poll_next(cx) {
                Poll::Ready(Some(item)) => match output(item) {
                    Some(o) => Poll::Ready(Some(o)),
                    None => continue,
                },
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
    }
}

impl Drop for ExecStream {
    fn drop(&mut self) {
        self.input.abort();
    }
}

fn output(item: StreamItem) -> Option<Result<ExecOutput, Status>> {
    let d = match item {
        Ok(d) => d,
        Err(e) => return Some(Err(e)),
    };
    if d.data.is_empty() && d.exit_code.is_none() {
        return None;
    }
    let (stdout, stderr) = if d.stderr {
        (Vec::new(), d.data)
    } else {
        (d.data, Vec::new())
    };
    Some(Ok(ExecOutput {
        stdout,
        stderr,
        exit_code: d.exit_code,
    }))
}

/// Starts the exec the first message of `input` asks for, on this master (the leader, which
/// holds the agents' sessions).
pub async fn start<S>(
    store: &Store,
    registry: &Arc<Registry>,
    mut input: S,
) -> Result<ExecStream, Status>
where
    S: Stream<Item = ExecInput> + Send + Unpin + 'static,
{
    let start = match input.next().await.and_then(|m| m.msg) {
        Some(exec_input::Msg::Start(s)) => s,
        _ => {
            return Err(Status::invalid_argument(
                "exec: the first message must start the command",
            ))
        }
    };
    if start.command.is_empty() {
        return Err(Status::invalid_argument(
            "exec: you must specify at least one command for the container",
        ));
    }
    let t = Target::find(store, &start.namespace, &start.pod, &start.container)?;
    let answers = Answers::open(registry, &t.node, |id| {
        master_message::Msg::ExecRequest(ExecRequest {
            request_id: id,
            pod_uid: t.pod.metadata.uid.to_string(),
            container: t.container.clone(),
            command: start.command.clone(),
            tty: start.tty,
            stdin: start.stdin,
            size: start.size,
        })
    })?;
    let (registry, node, id) = (registry.clone(), t.node.clone(), answers.id());
    let input = tokio::spawn(async move {
        while let Some(m) = input.next().await {
            let mut data = ExecInputData {
                request_id: id,
                ..Default::default()
            };
            match m.msg {
                Some(exec_input::Msg::Stdin(b)) => data.stdin = b,
                Some(exec_input::Msg::StdinEof(_)) => data.stdin_eof = true,
                Some(exec_input::Msg::Resize(s)) => data.resize = Some(s),
                Some(exec_input::Msg::Start(_)) | None => continue,
            }
            if registry
                .send(&node, master_message::Msg::ExecInput(data))
                .await
                .is_err()
            {
                return;
            }
        }
    });
    Ok(ExecStream { answers, input })
}
