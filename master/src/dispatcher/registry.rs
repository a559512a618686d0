//! [`Registry`]: the agents connected to this master, their heartbeats, and log requests in flight.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use bosun_proto::v1::{master_message, LogCancel, LogChunk, LogRequest, MasterMessage};
use tokio::sync::mpsc;
use tonic::Status;

/// Chunks buffered per log stream before the agent's side waits.
pub const LOG_STREAM_BUFFER: usize = 64;
/// How long a log chunk waits for a client that stopped reading before its stream is dropped.
pub const LOG_CLIENT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

struct Session {
    id: u64,
    tx: mpsc::Sender<MasterMessage>,
    last_heartbeat: Instant,
}

type LogRoute = (String, mpsc::Sender<Result<LogChunk, Status>>);

/// Shared by the dispatcher (sessions), the API (logs) and the node lifecycle controller.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, Session>>,
    /// The last heartbeat of nodes whose session ended: a node is judged by it, so an agent
    /// that restarts or reconnects within the grace period is never declared lost.
    departed: Mutex<HashMap<String, Instant>>,
    /// Log requests in flight: request id -> (node, the client's stream).
    logs: Mutex<HashMap<u64, LogRoute>>,
    next_id: AtomicU64,
}

impl Registry {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // Held only for map operations that cannot panic.
        self.sessions.lock().expect("session registry lock")
    }

    fn departed(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        // Held only for map operations that cannot panic.
        self.departed.lock().expect("departed node lock")
    }

    fn log_routes(&self) -> std::sync::MutexGuard<'_, HashMap<u64, LogRoute>> {
        self.logs.lock().expect("log route lock")
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers the session of `node`, replacing an older one; returns the session id.
    pub fn register(&self, node: &str, tx: mpsc::Sender<MasterMessage>) -> u64 {
        let id = self.next_id();
        self.departed().remove(node);
        self.sessions().insert(
            node.to_string(),
            Session {
                id,
                tx,
                last_heartbeat: Instant::now(),
            },
        );
        id
    }

    /// Removes the session if it is still the one with `id`; log streams of that node end
    /// with an error instead of hanging.
    pub fn unregister(&self, node: &str, id: u64) {
        let mut s = self.sessions();
        if s.get(node).is_some_and(|s| s.id == id) {
            if let Some(gone) = s.remove(node) {
                self.departed()
                    .insert(node.to_string(), gone.last_heartbeat);
            }
            drop(s);
            self.log_routes().retain(|_, (n, tx)| {
                if n != node {
                    return true;
                }
                let _ = tx.try_send(Err(Status::unavailable(format!(
                    "node {node} disconnected; its logs stopped"
                ))));
                false
            });
        }
    }

    pub fn heartbeat(&self, node: &str) {
        if let Some(s) = self.sessions().get_mut(node) {
            s.last_heartbeat = Instant::now();
        }
    }

    /// Last heartbeat of a node, connected or not (`None`: none since this master started).
    pub fn last_heartbeat(&self, node: &str) -> Option<Instant> {
        let connected = self.sessions().get(node).map(|s| s.last_heartbeat);
        connected.or_else(|| self.departed().get(node).copied())
    }

    /// The id of the session of `node` (a new one each time its agent connects).
    pub fn session_id(&self, node: &str) -> Option<u64> {
        self.sessions().get(node).map(|s| s.id)
    }

    pub fn connected(&self, node: &str) -> bool {
        self.sessions().contains_key(node)
    }

    /// Asks the agent of `node` for a container's logs; chunks arrive on the returned receiver.
    pub fn request_logs(
        &self,
        node: &str,
        mut req: LogRequest,
    ) -> Result<(u64, mpsc::Receiver<Result<LogChunk, Status>>), Status> {
        let tx = self
            .sessions()
            .get(node)
            .map(|s| s.tx.clone())
            .ok_or_else(|| Status::unavailable(format!("node {node} is not connected")))?;
        let id = self.next_id();
        req.request_id = id;
        let (chunks_tx, chunks_rx) = mpsc::channel(LOG_STREAM_BUFFER);
        self.log_routes().insert(id, (node.to_string(), chunks_tx));
        let msg = MasterMessage {
            msg: Some(master_message::Msg::LogRequest(req)),
        };
        if tx.try_send(msg).is_err() {
            self.log_routes().remove(&id);
            return Err(Status::unavailable(format!(
                "node {node} is not keeping up; try again"
            )));
        }
        Ok((id, chunks_rx))
    }

    /// The client went away: forget the route and tell the agent to stop.
    pub fn cancel_logs(&self, node: &str, id: u64) {
        self.log_routes().remove(&id);
        if let Some(s) = self.sessions().get(node) {
            let _ = s.tx.try_send(MasterMessage {
                msg: Some(master_message::Msg::LogCancel(LogCancel { request_id: id })),
            });
        }
    }

    /// Routes a chunk from an agent to the waiting client (`eof` ends its stream); false when
    /// nobody waits anymore, or when the client did not take the chunk within
    /// [`LOG_CLIENT_PATIENCE`] (its stream is then dropped: a stalled reader must not hold up
    /// the node's session for long).
    pub async fn deliver_logs(
        &self,
        id: u64,
        chunk: Option<Result<LogChunk, Status>>,
        eof: bool,
    ) -> bool {
        let Some(tx) = self.log_routes().get(&id).map(|(_, tx)| tx.clone()) else {
            return false;
        };
        let delivered = match chunk {
            Some(chunk) => matches!(
                tokio::time::timeout(LOG_CLIENT_PATIENCE, tx.send(chunk)).await,
                Ok(Ok(()))
            ),
            None => true,
        };
        if eof || !delivered {
            self.log_routes().remove(&id);
        }
        delivered
    }
}
