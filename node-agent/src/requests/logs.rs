//! A container's logs, streamed to the master: the current run, or with `previous` the run
//! before its last restart (the agent keeps that container, as the kubelet does).
use std::sync::Arc;

use bosun_proto::v1::{AgentMessage, LogRequest};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::data;
use crate::labels;
use crate::runtime::{LogOptions, ObservedContainer, Runtime};

pub async fn stream<R: Runtime>(
    runtime: Arc<R>,
    node: String,
    r: LogRequest,
    tx: mpsc::Sender<AgentMessage>,
    cancel: CancellationToken,
) {
    let id = r.request_id;
    let fail = |error: String| data(id, vec![], true, error);
    let container = match find(&*runtime, &node, &r).await {
        Ok(c) => c,
        Err(e) => {
            let _ = tx.send(fail(e)).await;
            return;
        }
    };
    let since = (r.since_seconds > 0).then(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        now - r.since_seconds
    });
    let options = LogOptions {
        // A previous run has ended: nothing to follow.
        follow: r.follow && !r.previous,
        tail: (r.tail_lines >= 0).then_some(r.tail_lines as u64),
        since,
        timestamps: r.timestamps,
    };
    let mut stream = match runtime.logs(&container.id, &options).await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(fail(e.to_string())).await;
            return;
        }
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            chunk = stream.next() => match chunk {
                Some(Ok(bytes)) => {
                    if tx.send(data(id, bytes.to_vec(), false, String::new())).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(fail(e.to_string())).await;
                    return;
                }
                None => {
                    let _ = tx.send(data(id, vec![], true, String::new())).await;
                    return;
                }
            },
        }
    }
}

/// The container of the request's run, or what to tell the user.
async fn find<R: Runtime>(
    runtime: &R,
    node: &str,
    r: &LogRequest,
) -> Result<ObservedContainer, String> {
    let mut selector = labels::node_selector(node);
    selector.insert(labels::POD_UID.into(), r.pod_uid.clone());
    selector.insert(labels::CONTAINER.into(), r.container.clone());
    let mut runs = runtime.list(&selector).await.map_err(|e| e.to_string())?;
    runs.sort_by_key(|c| labels::attempt_of(&c.labels));
    let current = runs.pop();
    if r.previous {
        return runs.pop().ok_or_else(|| {
            format!(
                "previous terminated container \"{}\" not found (it has not restarted)",
                r.container
            )
        });
    }
    current.ok_or_else(|| {
        format!(
            "container \"{}\" has not been created on node {node} yet",
            r.container
        )
    })
}
