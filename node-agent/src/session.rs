//! The agent's side of the `Session` stream: connect (with back-off), say Hello, take
//! assignments, send heartbeats and status changes, serve the master's requests (logs, exec, metrics).
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::dispatcher_client::DispatcherClient;
use bosun_proto::v1::{
    agent_message, master_message, AgentMessage, Heartbeat, Hello, PodEventBatch, PodStatusBatch,
};
use bosun_shared::pki::tls::CurrentCredentials;
use bosun_shared::pod::Pod;
use bosun_shared::Object;
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::board::StatusBoard;
use crate::desired::DesiredPods;
use crate::requests::Requests;
use crate::runtime::Runtime;

/// Messages queued towards the master.
pub const OUTBOUND_BUFFER: usize = 256;
/// Largest message accepted from a master (the full assignment of a busy node).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Metadata key in which a master that is not the leader names the leader's address.
const LEADER_METADATA: &str = "bosun-leader";
/// Metadata key in which the leader names the master to hold this node's session instead.
const SERVE_AT_METADATA: &str = "bosun-serve-at";
/// Metadata key asking a master to serve the session itself: the master this agent was sent
/// to could not be reached.
const NO_REDIRECT_METADATA: &str = "bosun-no-redirect";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// HTTP/2 pings on the session's connection. A silent master is noticed sooner by the
/// session's own watchdog ([`silence_limit`]: 4 s in a small cluster); pings only close a
/// connection nothing answers on at all, and a tight timeout closed healthy ones when this
/// process was starved (1,000 hollow nodes on 2 cores).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);
/// Heartbeat periods without any message from a master that acknowledges heartbeats after
/// which the session counts as stuck and the agent reconnects; also how long a message may
/// wait for room in the outbound queue.
const SILENT_PERIODS: u32 = 8;
/// Lower bound of that silence, for very short heartbeat periods.
const SILENCE_MIN: Duration = Duration::from_secs(3);

/// Why a session ended.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    /// The master is not the leader; it may name the leader's address.
    #[error("the master is not the leader")]
    NotLeader(Option<String>),
    /// The master sends this node's session to the master at this address.
    #[error("the master sends this node to {0}")]
    Redirect(String),
    #[error("{0}")]
    Failed(String),
}

/// Reconnect back-off bounds.
const RECONNECT_MIN: Duration = Duration::from_millis(200);
const RECONNECT_MAX: Duration = Duration::from_secs(5);

/// Between half of `delay` and all of it, at random: agents that lost their master together
/// (a leader change, a master restart) come back spread over the interval instead of
/// handshaking with the new master all in the same instant.
fn jittered(delay: Duration) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    // A randomly keyed hasher (new keys per call) is random enough to spread reconnects.
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    let fraction = (random % 1_000) as u32;
    delay / 2 + delay / 2 * fraction / 1_000
}

pub struct SessionClient<R: Runtime> {
    pub node: String,
    /// `http://host:port` of every known master. The session starts at the one the node's
    /// name picks ([`bosun_shared::fnv::spread`]), so nodes spread over the masters, and
    /// goes where a master sends it.
    pub masters: Vec<String>,
    pub runtime: Arc<R>,
    pub desired: Arc<DesiredPods>,
    pub board: Arc<StatusBoard>,
    pub events: Arc<crate::events::EventLog>,
    /// JSON of the Node object to register.
    pub node_object: Vec<u8>,
    /// The cluster CA and this node's certificate (renewed meanwhile; each connection uses
    /// the current one).
    pub credentials: CurrentCredentials,
}

fn out(m: agent_message::Msg) -> AgentMessage {
    AgentMessage { msg: Some(m) }
}

/// Queues `m` towards the master, giving up after `patience`: a queue that stays full means
/// the connection no longer drains it, and waiting forever would keep the session loop from
/// ever noticing that.
async fn send(
    tx: &mpsc::Sender<AgentMessage>,
    m: agent_message::Msg,
    patience: Duration,
) -> Result<(), String> {
    match tokio::time::timeout(patience, tx.send(out(m))).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err("session closed".to_string()),
        Err(_) => Err(format!(
            "nothing sent to the master for {patience:?}: the connection is stuck"
        )),
    }
}

/// How long a session may stay silent (and a message wait to be sent) with heartbeats
/// every `every`.
fn silence_limit(every: Duration) -> Duration {
    (every * SILENT_PERIODS).max(SILENCE_MIN)
}

impl<R: Runtime> SessionClient<R> {
    /// Keeps a session open until `shutdown`, reconnecting with back-off, moving to the
    /// master a master names or else to the next master.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut delay = RECONNECT_MIN;
        let mut next = bosun_shared::fnv::spread(&self.node, self.masters.len());
        let mut hint: Option<String> = None;
        // Set when the master this agent was sent to failed it: the next asks to stay.
        let mut stay = false;
        loop {
            let sent = hint.take();
            let followed = sent.is_some();
            let target = sent.unwrap_or_else(|| {
                let t = self.masters.get(next % self.masters.len().max(1)).cloned();
                next += 1;
                t.unwrap_or_default()
            });
            let started = tokio::time::Instant::now();
            // A master it was sent to serves it without sending it on.
            match self.session(&target, stay || followed, &shutdown).await {
                Ok(()) => return,
                Err(SessionError::NotLeader(Some(leader))) => {
                    info!(master = %target, %leader, "moving to the leader");
                    hint = Some(leader);
                    continue;
                }
                Err(SessionError::Redirect(to)) if !followed => {
                    info!(master = %target, %to, "moving to the master that serves this node");
                    hint = Some(to);
                    continue;
                }
                Err(e) => {
                    warn!(master = %target, error = %e, "no session with the master; containers keep running")
                }
            }
            stay = followed && started.elapsed() < Duration::from_secs(10);
            if started.elapsed() > Duration::from_secs(10) {
                delay = RECONNECT_MIN;
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(jittered(delay)) => {}
            }
            delay = (delay * 2).min(RECONNECT_MAX);
        }
    }

    /// One session with `master`; `Ok` only when shutting down.
    /// `stay`: ask the master not to send this node elsewhere.
    async fn session(
        &self,
        master: &str,
        stay: bool,
        shutdown: &CancellationToken,
    ) -> Result<(), SessionError> {
        let channel = self
            .credentials
            .get()
            .endpoint(master)
            .map_err(|e| SessionError::Failed(format!("master address {master:?}: {e}")))?
            .connect_timeout(CONNECT_TIMEOUT)
            // A master that vanishes (power loss, partition) is noticed within seconds.
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true)
            .connect()
            .await
            .map_err(|e| SessionError::Failed(format!("connect: {e}")))?;
        let mut client = DispatcherClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let (tx, rx) = mpsc::channel(OUTBOUND_BUFFER);
        let (initial, mut sent_version) = self.board.since(0);
        tx.send(out(agent_message::Msg::Hello(Hello {
            node: self.node_object.clone(),
            pods: initial,
        })))
        .await
        .map_err(|_| SessionError::Failed("session closed".into()))?;
        let mut request = tonic::Request::new(ReceiverStream::new(rx));
        if stay {
            request.metadata_mut().insert(
                NO_REDIRECT_METADATA,
                tonic::metadata::MetadataValue::from_static("1"),
            );
        }
        let mut inbound = match client.session(request).await {
            Ok(r) => r.into_inner(),
            Err(status) => {
                let named = |key| {
                    status
                        .metadata()
                        .get(key)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let leader = named(LEADER_METADATA);
                if let Some(to) = named(SERVE_AT_METADATA) {
                    return Err(SessionError::Redirect(to));
                }
                return Err(
                    if status.code() == tonic::Code::Unavailable
                        && status.message().contains("not the leader")
                    {
                        SessionError::NotLeader(leader)
                    } else {
                        SessionError::Failed(format!("session: {}", status.message()))
                    },
                );
            }
        };
        info!(master = %master, "connected to master");
        let mut requests = Requests::new(
            self.runtime.clone(),
            self.node.clone(),
            tx.clone(),
            shutdown,
        );
        let mut every = Duration::from_secs(1);
        let mut heartbeat = beats(every);
        let mut sent_holding: Vec<String> = Vec::new();
        // Set once the master has acknowledged a heartbeat (older masters never do): from
        // then on a session silent for `silence_limit` is ended and opened again.
        let mut acked = false;
        let mut last_heard = tokio::time::Instant::now();
        let result = loop {
            let patience = silence_limit(every);
            tokio::select! {
                _ = shutdown.cancelled() => break Ok(()),
                _ = tokio::time::sleep_until(last_heard + patience), if acked => {
                    break Err(format!("no message from the master for {patience:?}"));
                }
                _ = heartbeat.tick() => {
                    sent_holding = self.board.holding();
                    let beat = Heartbeat { reports_holding: true, holding: sent_holding.clone() };
                    if let Err(e) = send(&tx, agent_message::Msg::Heartbeat(beat), patience).await {
                        break Err(e);
                    }
                }
                _ = self.board.changed.notified() => {
                    let (reports, version) = self.board.since(sent_version);
                    sent_version = version;
                    if !reports.is_empty() {
                        let batch = agent_message::Msg::Statuses(PodStatusBatch { pods: reports });
                        if let Err(e) = send(&tx, batch, patience).await {
                            break Err(e);
                        }
                    }
                    // Pods whose containers are gone are told at once, not at the next beat.
                    let holding = self.board.holding();
                    if holding != sent_holding {
                        sent_holding = holding.clone();
                        let beat = Heartbeat { reports_holding: true, holding };
                        if let Err(e) = send(&tx, agent_message::Msg::Heartbeat(beat), patience).await {
                            break Err(e);
                        }
                    }
                }
                _ = self.events.changed.notified() => {
                    let events = self.events.drain();
                    if !events.is_empty() {
                        let batch = agent_message::Msg::Events(PodEventBatch { events });
                        if let Err(e) = send(&tx, batch, patience).await {
                            break Err(e);
                        }
                    }
                }
                m = inbound.next() => match m {
                    None => break Err("master closed the session".to_string()),
                    Some(Err(e)) => break Err(format!("stream: {}", e.message())),
                    Some(Ok(m)) => { last_heard = tokio::time::Instant::now(); match m.msg {
                        Some(master_message::Msg::Config(c)) => {
                            every = Duration::from_millis(u64::from(c.heartbeat_interval_ms.max(100)));
                            heartbeat = beats(every);
                        }
                        Some(master_message::Msg::HeartbeatAck(_)) => acked = true,
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
                            self.desired.set_removal_grace(&a.removed_grace_seconds);
                            let config: Vec<Object> = a
                                .config
                                .iter()
                                .filter_map(|b| Object::from_json(b).ok())
                                .collect();
                            if self.desired.config.apply(a.full, config, &a.config_removed) {
                                self.desired.changed.notify_one();
                            }
                            self.desired.stage(a.full, pods, &a.removed_uids);
                        }
                        Some(master_message::Msg::LogRequest(r)) => requests.logs(r),
                        Some(master_message::Msg::ExecRequest(r)) => requests.exec(r),
                        Some(master_message::Msg::ExecInput(d)) => requests.exec_input(d, patience).await,
                        Some(master_message::Msg::StatsRequest(r)) => requests.stats(r),
                        Some(master_message::Msg::Cancel(c)) => requests.cancel(c.request_id),
                        None => {}
                    }},
                },
            }
        };
        requests.close().await;
        result.map_err(SessionError::Failed)
    }
}

/// A heartbeat timer that, after the agent was frozen or starved, beats once instead of
/// making up every missed beat in a burst.
fn beats(every: Duration) -> tokio::time::Interval {
    let mut t = tokio::time::interval(every);
    t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delays_are_spread() {
        let delay = Duration::from_secs(4);
        let draws: Vec<Duration> = (0..200).map(|_| jittered(delay)).collect();
        assert!(draws.iter().all(|d| *d >= delay / 2 && *d <= delay));
        let distinct: std::collections::BTreeSet<_> = draws.iter().collect();
        // 200 draws from 1,000 values: all the same only if the source is not random.
        assert!(
            distinct.len() > 100,
            "only {} distinct delays",
            distinct.len()
        );
    }
}
