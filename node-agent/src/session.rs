//! The agent's side of the `Session` stream: connect (with back-off), say Hello, take
//! assignments, send heartbeats and status changes, serve log requests.
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::dispatcher_client::DispatcherClient;
use bosun_proto::v1::{
    agent_message, master_message, AgentMessage, Heartbeat, Hello, LogData, LogRequest,
    PodStatusBatch,
};
use bosun_shared::pod::Pod;
use bosun_shared::Object;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{info, warn};

use crate::board::StatusBoard;
use crate::desired::DesiredPods;
use crate::labels;
use crate::runtime::Runtime;

/// Messages queued towards the master.
pub const OUTBOUND_BUFFER: usize = 256;
/// Reconnect back-off bounds.
const RECONNECT_MIN: Duration = Duration::from_millis(200);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

pub struct SessionClient<R: Runtime> {
    pub node: String,
    /// `http://host:port` of a master.
    pub master: String,
    pub runtime: Arc<R>,
    pub desired: Arc<DesiredPods>,
    pub board: Arc<StatusBoard>,
    /// JSON of the Node object to register.
    pub node_object: Vec<u8>,
}

fn out(m: agent_message::Msg) -> AgentMessage {
    AgentMessage { msg: Some(m) }
}

impl<R: Runtime> SessionClient<R> {
    /// Keeps a session open until `shutdown`, reconnecting with back-off.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut delay = RECONNECT_MIN;
        loop {
            let started = tokio::time::Instant::now();
            match self.session(&shutdown).await {
                Ok(()) => return,
                Err(e) => {
                    warn!(master = %self.master, error = %e, "no session with the master; containers keep running")
                }
            }
            if started.elapsed() > Duration::from_secs(10) {
                delay = RECONNECT_MIN;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(delay) => {}
            }
            delay = (delay * 2).min(RECONNECT_MAX);
        }
    }

    /// One session; `Ok` only when shutting down.
    async fn session(&self, shutdown: &CancellationToken) -> Result<(), String> {
        let mut client = DispatcherClient::connect(self.master.clone())
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (tx, rx) = mpsc::channel(OUTBOUND_BUFFER);
        let (initial, mut sent_version) = self.board.since(0);
        tx.send(out(agent_message::Msg::Hello(Hello {
            node: self.node_object.clone(),
            pods: initial,
        })))
        .await
        .map_err(|_| "session closed".to_string())?;
        let mut inbound = client
            .session(ReceiverStream::new(rx))
            .await
            .map_err(|e| format!("session: {}", e.message()))?
            .into_inner();
        info!(master = %self.master, "connected to master");
        let logs = TaskTracker::new();
        let mut log_cancels: HashMap<u64, CancellationToken> = HashMap::new();
        let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
        let result = loop {
            tokio::select! {
                _ = shutdown.cancelled() => break Ok(()),
                _ = heartbeat.tick() => {
                    if tx.send(out(agent_message::Msg::Heartbeat(Heartbeat {}))).await.is_err() {
                        break Err("session closed".to_string());
                    }
                }
                _ = self.board.changed.notified() => {
                    let (reports, version) = self.board.since(sent_version);
                    sent_version = version;
                    if !reports.is_empty()
                        && tx.send(out(agent_message::Msg::Statuses(PodStatusBatch { pods: reports }))).await.is_err()
                    {
                        break Err("session closed".to_string());
                    }
                }
                m = inbound.next() => match m {
                    None => break Err("master closed the session".to_string()),
                    Some(Err(e)) => break Err(format!("stream: {}", e.message())),
                    Some(Ok(m)) => match m.msg {
                        Some(master_message::Msg::Config(c)) => {
                            let every = Duration::from_millis(u64::from(c.heartbeat_interval_ms.max(100)));
                            heartbeat = tokio::time::interval(every);
                        }
                        Some(master_message::Msg::Assignment(a)) => {
                            let pods: Vec<Pod> = a
                                .upsert
                                .iter()
                                .filter_map(|b| match Object::from_json(b) {
                                    Ok(Object::Pod(p)) => Some(p),
                                    other => {
                                        warn!(?other, "master sent an unreadable pod");
                                        None
                                    }
                                })
                                .collect();
                            if let Err(e) = self.desired.apply(a.full, pods, &a.removed_uids) {
                                warn!(error = %e, "could not save assignments");
                            }
                        }
                        Some(master_message::Msg::LogRequest(r)) => {
                            let cancel = shutdown.child_token();
                            log_cancels.insert(r.request_id, cancel.clone());
                            logs.spawn(stream_logs(self.runtime.clone(), self.node.clone(), r, tx.clone(), cancel));
                        }
                        Some(master_message::Msg::LogCancel(c)) => {
                            if let Some(t) = log_cancels.remove(&c.request_id) {
                                t.cancel();
                            }
                        }
                        None => {}
                    },
                },
            }
        };
        for (_, t) in log_cancels {
            t.cancel();
        }
        logs.close();
        logs.wait().await;
        result
    }
}

/// Streams one container's logs to the master as `LogData` chunks.
async fn stream_logs<R: Runtime>(
    runtime: Arc<R>,
    node: String,
    r: LogRequest,
    tx: mpsc::Sender<AgentMessage>,
    cancel: CancellationToken,
) {
    let send = |data: Vec<u8>, eof: bool, error: String| {
        out(agent_message::Msg::Log(LogData {
            request_id: r.request_id,
            data,
            eof,
            error,
        }))
    };
    let mut selector = labels::node_selector(&node);
    selector.insert(labels::POD_UID.into(), r.pod_uid.clone());
    selector.insert(labels::CONTAINER.into(), r.container.clone());
    let current = match runtime.list(&selector).await {
        Ok(list) => list
            .into_iter()
            .max_by_key(|c| labels::attempt_of(&c.labels)),
        Err(e) => {
            let _ = tx.send(send(vec![], true, e.to_string())).await;
            return;
        }
    };
    let Some(container) = current else {
        let msg = format!(
            "container {} of pod uid {} has not been created on this node",
            r.container, r.pod_uid
        );
        let _ = tx.send(send(vec![], true, msg)).await;
        return;
    };
    let tail = (r.tail_lines >= 0).then_some(r.tail_lines as u64);
    let mut stream = match runtime.logs(&container.id, r.follow, tail).await {
        Ok(s) => s,
        Err(e) => {
            let _ = tx.send(send(vec![], true, e.to_string())).await;
            return;
        }
    };
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            chunk = stream.next() => match chunk {
                Some(Ok(bytes)) => {
                    if tx.send(send(bytes.to_vec(), false, String::new())).await.is_err() {
                        return;
                    }
                }
                Some(Err(e)) => {
                    let _ = tx.send(send(vec![], true, e.to_string())).await;
                    return;
                }
                None => {
                    let _ = tx.send(send(vec![], true, String::new())).await;
                    return;
                }
            },
        }
    }
}
