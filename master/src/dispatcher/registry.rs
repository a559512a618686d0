//! [`Registry`]: the agents connected to this master, their heartbeats, and requests to them in flight
//! (logs, exec, metrics). On the leader, also the heartbeats of the agents whose sessions the
//! followers hold, which they forward, and which master holds each.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bosun_proto::v1::{master_message, MasterMessage, StreamCancel, StreamData};
use tokio::sync::mpsc;
use tonic::Status;

/// Answers buffered per stream (logs, exec, metrics) before the agent's side waits.
pub const STREAM_BUFFER: usize = 64;
/// How long an answer waits for a client that stopped reading before its stream is dropped.
pub const CLIENT_PATIENCE: std::time::Duration = std::time::Duration::from_secs(2);

/// One answer of an agent to a request of the master: its data, or why it failed.
pub type StreamItem = Result<StreamData, Status>;

struct Session {
    id: u64,
    tx: super::Outbox,
    beat: Beat,
}

/// A node's last heartbeat and the interval its agent was told to keep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beat {
    pub at: Instant,
    pub every: Duration,
}

type Route = (String, mpsc::Sender<StreamItem>);

/// A node whose session another master holds, as that master last reported it.
struct Remote {
    beat: Beat,
    /// The client address of the master holding the session, and its Raft id.
    master: Arc<str>,
    master_id: u64,
}

/// Shared by the dispatcher (sessions), the API (logs, exec, top) and the node lifecycle controller.
#[derive(Default)]
pub struct Registry {
    sessions: Mutex<HashMap<String, Session>>,
    /// The last heartbeat of nodes whose session ended: a node is judged by it, so an agent
    /// that restarts or reconnects within the grace period is never declared lost.
    departed: Mutex<HashMap<String, Beat>>,
    /// Nodes whose sessions other masters hold (known on the leader, from their forwarded
    /// heartbeats).
    remote: Mutex<HashMap<String, Remote>>,
    /// Requests to agents in flight (logs, exec, metrics): request id -> (node, the client's
    /// stream).
    routes: Mutex<HashMap<u64, Route>>,
    next_id: AtomicU64,
}

impl Registry {
    fn sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // Held only for map operations that cannot panic.
        self.sessions.lock().expect("session registry lock")
    }

    fn departed(&self) -> std::sync::MutexGuard<'_, HashMap<String, Beat>> {
        // Held only for map operations that cannot panic.
        self.departed.lock().expect("departed node lock")
    }

    fn remote(&self) -> std::sync::MutexGuard<'_, HashMap<String, Remote>> {
        // Held only for map operations that cannot panic.
        self.remote.lock().expect("remote node lock")
    }

    fn routes(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Route>> {
        self.routes.lock().expect("stream route lock")
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Registers the session of `node`, replacing an older one (whose streams end with an
    /// error: the new session will never answer them); returns the session id.
    pub fn register(&self, node: &str, tx: super::Outbox, every: Duration) -> u64 {
        let id = self.next_id();
        self.departed().remove(node);
        self.remote().remove(node);
        let replaced = self.sessions().insert(
            node.to_string(),
            Session {
                id,
                tx,
                beat: Beat {
                    at: Instant::now(),
                    every,
                },
            },
        );
        if replaced.is_some() {
            self.fail_routes(node, "reconnected");
        }
        id
    }

    /// Ends every stream from `node` with an error saying it `happened`.
    fn fail_routes(&self, node: &str, happened: &str) {
        self.routes().retain(|_, (n, tx)| {
            if n != node {
                return true;
            }
            let _ = tx.try_send(Err(Status::unavailable(format!(
                "node {node} {happened}; the stream from it stopped"
            ))));
            false
        });
    }

    /// Removes the session if it is still the one with `id`; streams from that node end
    /// with an error instead of hanging.
    pub fn unregister(&self, node: &str, id: u64) {
        let mut s = self.sessions();
        if s.get(node).is_some_and(|s| s.id == id) {
            if let Some(gone) = s.remove(node) {
                self.departed().insert(node.to_string(), gone.beat);
            }
            drop(s);
            self.fail_routes(node, "disconnected");
        }
    }

    pub fn heartbeat(&self, node: &str) {
        if let Some(s) = self.sessions().get_mut(node) {
            s.beat.at = Instant::now();
        }
    }

    /// Records that `node`'s agent was told to heartbeat `every` so often from now on.
    pub fn set_interval(&self, node: &str, every: Duration) {
        if let Some(s) = self.sessions().get_mut(node) {
            s.beat.every = every;
        }
    }

    /// Last heartbeat of a node, connected here or elsewhere or not at all (`None`: none
    /// since this master started).
    pub fn last_heartbeat(&self, node: &str) -> Option<Beat> {
        let connected = self.sessions().get(node).map(|s| s.beat);
        let local = connected.or_else(|| self.departed().get(node).copied());
        let remote = self.remote().get(node).map(|r| r.beat);
        match (local, remote) {
            (Some(l), Some(r)) => Some(if r.at > l.at { r } else { l }),
            (l, r) => l.or(r),
        }
    }

    /// Takes the heartbeats another master (`master_id`, at client address `master`)
    /// forwarded for the sessions it holds.
    pub fn remote_beats(&self, master: &str, master_id: u64, beats: &[bosun_proto::v1::NodeBeat]) {
        let now = Instant::now();
        let master: Arc<str> = master.into();
        let mut remote = self.remote();
        for b in beats {
            let at = now
                .checked_sub(Duration::from_millis(b.ago_ms))
                .unwrap_or(now);
            let beat = Beat {
                at,
                every: Duration::from_millis(u64::from(b.every_ms)),
            };
            let newer = remote.get(&b.node).is_none_or(|r| r.beat.at <= at);
            if newer {
                let master = master.clone();
                let r = Remote {
                    beat,
                    master,
                    master_id,
                };
                remote.insert(b.node.clone(), r);
            }
        }
    }

    /// The client address of the master holding `node`'s session, when another master holds
    /// it (as far as this one knows: the leader learns it from the beats the others forward).
    pub fn holder(&self, node: &str) -> Option<String> {
        if self.connected(node) {
            return None;
        }
        self.remote().get(node).map(|r| r.master.to_string())
    }

    /// The Raft id of the other master holding `node`'s session, as far as this one knows.
    pub fn holder_id(&self, node: &str) -> Option<u64> {
        if self.connected(node) {
            return None;
        }
        self.remote().get(node).map(|r| r.master_id)
    }

    /// The heartbeats of the sessions this master holds: the node, and its last beat.
    pub fn local_beats(&self) -> Vec<(String, Beat)> {
        self.sessions()
            .iter()
            .map(|(node, s)| (node.clone(), s.beat))
            .collect()
    }

    /// How many agents are connected.
    pub fn connected_count(&self) -> usize {
        self.sessions().len()
    }

    /// The id of the session of `node` (a new one each time its agent connects).
    pub fn session_id(&self, node: &str) -> Option<u64> {
        self.sessions().get(node).map(|s| s.id)
    }

    pub fn connected(&self, node: &str) -> bool {
        self.sessions().contains_key(node)
    }

    /// Sends `request(id)` to the agent of `node`, with a fresh request id; what the agent
    /// answers under that id (logs, exec output, metrics) arrives on the returned receiver.
    pub fn open_stream(
        &self,
        node: &str,
        request: impl FnOnce(u64) -> master_message::Msg,
    ) -> Result<(u64, mpsc::Receiver<StreamItem>), Status> {
        let tx = self.session_tx(node)?;
        let id = self.next_id();
        let (items_tx, items_rx) = mpsc::channel(STREAM_BUFFER);
        self.routes().insert(id, (node.to_string(), items_tx));
        if tx
            .try_send(Box::new(MasterMessage {
                msg: Some(request(id)),
            }))
            .is_err()
        {
            self.routes().remove(&id);
            return Err(Status::unavailable(format!(
                "node {node} is not keeping up; try again"
            )));
        }
        Ok((id, items_rx))
    }

    /// Sends `msg` to the agent of `node` (input of an exec in progress), waiting at most
    /// [`CLIENT_PATIENCE`] for room in its session's queue.
    pub async fn send(&self, node: &str, msg: master_message::Msg) -> Result<(), Status> {
        let tx = self.session_tx(node)?;
        match tokio::time::timeout(
            CLIENT_PATIENCE,
            tx.send(Box::new(MasterMessage { msg: Some(msg) })),
        )
        .await
        {
            Ok(Ok(())) => Ok(()),
            _ => Err(Status::unavailable(format!(
                "node {node} is not keeping up"
            ))),
        }
    }

    fn session_tx(&self, node: &str) -> Result<super::Outbox, Status> {
        self.sessions()
            .get(node)
            .map(|s| s.tx.clone())
            .ok_or_else(|| Status::unavailable(format!("node {node} is not connected")))
    }

    /// The client went away: forget the route and tell the agent to stop.
    pub fn cancel_stream(&self, node: &str, id: u64) {
        self.routes().remove(&id);
        if let Some(s) = self.sessions().get(node) {
            let _ = s.tx.try_send(Box::new(MasterMessage {
                msg: Some(master_message::Msg::Cancel(StreamCancel { request_id: id })),
            }));
        }
    }

    /// Routes an answer from an agent to the waiting client (`eof` ends its stream); false when
    /// nobody waits anymore, or when the client did not take it within [`CLIENT_PATIENCE`]
    /// (its stream is then dropped: a stalled reader must not hold up the node's session for
    /// long).
    pub async fn deliver(&self, id: u64, item: StreamItem, eof: bool) -> bool {
        let Some(tx) = self.routes().get(&id).map(|(_, tx)| tx.clone()) else {
            return false;
        };
        let delivered = matches!(
            tokio::time::timeout(CLIENT_PATIENCE, tx.send(item)).await,
            Ok(Ok(()))
        );
        if eof || !delivered {
            self.routes().remove(&id);
        }
        delivered
    }
}

/// The answers of an agent to one request; dropping it (the client went away) cancels the
/// request at the agent.
pub struct Answers {
    rx: mpsc::Receiver<StreamItem>,
    registry: Arc<Registry>,
    node: String,
    id: u64,
}

impl Answers {
    /// Sends `request(id)` to the agent of `node`; see [`Registry::open_stream`].
    pub fn open(
        registry: &Arc<Registry>,
        node: &str,
        request: impl FnOnce(u64) -> master_message::Msg,
    ) -> Result<Answers, Status> {
        let (id, rx) = registry.open_stream(node, request)?;
        Ok(Answers {
            rx,
            registry: registry.clone(),
            node: node.to_string(),
            id,
        })
    }

    /// The request id the agent answers under.
    pub fn id(&self) -> u64 {
        self.id
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    pub async fn recv(&mut self) -> Option<StreamItem> {
        self.rx.recv().await
    }
}

impl futures::Stream for Answers {
    type Item = StreamItem;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<StreamItem>> {
        self.rx.poll_recv(cx)
    }
}

impl Drop for Answers {
    fn drop(&mut self) {
        self.registry.cancel_stream(&self.node, self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_proto::v1::StatsRequest;

    #[tokio::test]
    async fn streams_of_a_replaced_session_end_with_an_error() {
        let registry = Registry::default();
        let (old_tx, _old_rx) = mpsc::channel(8);
        registry.register("n1", old_tx, Duration::from_millis(500));
        let (_, mut answers) = registry
            .open_stream("n1", |id| {
                master_message::Msg::StatsRequest(StatsRequest { request_id: id })
            })
            .unwrap();
        let (new_tx, _new_rx) = mpsc::channel(8);
        registry.register("n1", new_tx, Duration::from_millis(500));
        let ended = answers.recv().await.expect("an error, not silence");
        let e = ended.unwrap_err();
        assert!(e.message().contains("node n1 reconnected"), "{e:?}");
    }
}
