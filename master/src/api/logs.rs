//! `bosun logs`: find the pod's node, ask its agent, relay the chunks.
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bosun_proto::v1::{LogChunk, LogRequest, LogsRequest};
use bosun_shared::{Kind, Object};
use futures::Stream;
use tokio::sync::mpsc;
use tonic::Status;

use crate::dispatcher::Registry;
use crate::store::Store;

/// Chunks from the agent; dropping it (the client went away) cancels the request at the agent.
pub struct LogStream {
    rx: mpsc::Receiver<Result<LogChunk, Status>>,
    registry: Arc<Registry>,
    node: String,
    id: u64,
}

impl Stream for LogStream {
    type Item = Result<LogChunk, Status>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for LogStream {
    fn drop(&mut self) {
        self.registry.cancel_logs(&self.node, self.id);
    }
}

pub fn open(store: &Store, registry: &Arc<Registry>, r: LogsRequest) -> Result<LogStream, Status> {
    let ns = if r.namespace.is_empty() {
        "default"
    } else {
        &r.namespace
    };
    let pod = match store.get(Kind::Pod, ns, &r.pod).as_deref() {
        Some(Object::Pod(p)) => p.clone(),
        _ => return Err(Status::not_found(format!("pod {ns}/{} not found", r.pod))),
    };
    let node = pod.spec.node_name.clone().ok_or_else(|| {
        Status::failed_precondition(format!("pod {ns}/{} is not scheduled yet", r.pod))
    })?;
    let container = if r.container.is_empty() {
        pod.spec
            .containers
            .first()
            .map(|c| c.name.clone())
            .unwrap_or_default()
    } else if pod.spec.containers.iter().any(|c| c.name == r.container) {
        r.container.clone()
    } else {
        return Err(Status::not_found(format!(
            "container {} is not in pod {ns}/{}",
            r.container, r.pod
        )));
    };
    let (id, rx) = registry.request_logs(
        &node,
        LogRequest {
            request_id: 0,
            pod_uid: pod.metadata.uid.clone(),
            container,
            follow: r.follow,
            tail_lines: r.tail_lines,
        },
    )?;
    Ok(LogStream {
        rx,
        registry: registry.clone(),
        node,
        id,
    })
}
