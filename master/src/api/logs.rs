//! `bosun logs`: find the pod's node, ask its agent, relay the chunks.
use std::sync::Arc;

use bosun_proto::v1::{master_message, LogChunk, LogRequest, LogsRequest};
use futures::{Stream, StreamExt};
use tonic::Status;

use super::target::Target;
use crate::dispatcher::registry::Answers;
use crate::dispatcher::Registry;
use crate::store::Store;

/// The chunks of the agent; dropping the stream cancels the request at the agent.
pub fn open(
    store: &Store,
    registry: &Arc<Registry>,
    r: LogsRequest,
) -> Result<impl Stream<Item = Result<LogChunk, Status>>, Status> {
    let t = Target::find(store, &r.namespace, &r.pod, &r.container)?;
    let answers = Answers::open(registry, &t.node, |id| {
        master_message::Msg::LogRequest(LogRequest {
            request_id: id,
            pod_uid: t.pod.metadata.uid.to_string(),
            container: t.container.clone(),
            follow: r.follow,
            tail_lines: r.tail_lines,
            previous: r.previous,
            since_seconds: r.since_seconds,
            timestamps: r.timestamps,
        })
    })?;
    Ok(answers.filter_map(|item| async move {
        match item {
            Ok(d) if d.data.is_empty() => None,
            Ok(d) => Some(Ok(LogChunk { data: d.data })),
            Err(e) => Some(Err(e)),
        }
    }))
}
