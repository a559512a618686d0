//! The master's side of the agent `Session` stream (DESIGN.md section 5).
//!
//! Every master serves sessions from its own replica of the store; a follower's sessions
//! write through the leader ([`crate::peers::Writer`]) and their heartbeats go to it in
//! batches ([`beats`]). New sessions are sent to the followers, spread over them by node
//! name, so that the connections, the largest part of a master's memory with many nodes, are
//! not the leader's; the leader serves them itself only while no follower is live.
//!
//! - [`registry`]: connected agents, their heartbeats, and log requests in flight.
//! - [`beats`]: a follower's heartbeats, forwarded to the leader.
//! - `assigned`: what a node's session was sent (pods, the ConfigMaps and Secrets they use).
//! - [`hub`]: one store watch for all sessions, each change routed to the sessions it concerns.
//! - `node_pods`: the hub's pods by node, what a session sends in full.
//! - [`session`]: one agent's session: registration, assignments, status reports, logs.
mod assigned;
pub mod beats;
pub mod hub;
mod node_pods;
pub mod registry;
mod session;

use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::dispatcher_server::Dispatcher;
use bosun_proto::v1::{AgentMessage, MasterMessage};
use futures::{Stream, StreamExt};
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};

pub use registry::Registry;

use crate::peers::Writer;
use crate::store::Store;

/// Metadata key in which the leader names the master a new session goes to instead.
pub const SERVE_AT_METADATA: &str = "bosun-serve-at";
/// Metadata key with which an agent that could not reach the master it was sent to asks to be
/// served where it is.
pub const NO_REDIRECT_METADATA: &str = "bosun-no-redirect";

/// How often agents heartbeat in a cluster of up to [`HEARTBEATS_PER_SECOND`] / 2 nodes.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_millis(500);
/// Heartbeats a second the leader budgets for all agents together: a larger cluster gets a
/// longer interval, so the leader's cost stays flat as nodes are added (Nomad's
/// `max_heartbeats_per_second` does the same). 100 nodes beat every 500 ms, 1,000 every 5 s.
pub const HEARTBEATS_PER_SECOND: u32 = 200;

/// How often each agent heartbeats when `nodes` are connected.
pub fn heartbeat_interval(nodes: usize) -> Duration {
    HEARTBEAT_INTERVAL.max(Duration::from_secs(nodes as u64) / HEARTBEATS_PER_SECOND)
}
/// Messages queued towards one agent.
pub const SESSION_BUFFER: usize = 256;

/// What a session sends its agent, queued. Boxed: Tokio's channel allocates its slots 32 at a
/// time, and 32 `MasterMessage`s inline were ~4 KiB per connected node held for the session's
/// life (8 MB with 1,000 hollow nodes, in the leader's heap profile); 32 boxes are 256 bytes.
pub type Outbox = mpsc::Sender<Box<MasterMessage>>;

/// The gRPC `Dispatcher` service.
#[derive(Clone)]
pub struct DispatcherService {
    pub store: Store,
    pub registry: Arc<Registry>,
    /// Routes the store's changes to the sessions (its task runs beside the service).
    pub hub: hub::Hub,
    /// Records what agents report as Events.
    pub events: crate::events::Recorder,
    /// Writes through the leader.
    pub writer: Writer,
    /// Whether this master reaches the leader ([`beats::BeatForwarder`]).
    pub reaches_leader: watch::Receiver<bool>,
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
}

#[tonic::async_trait]
impl Dispatcher for DispatcherService {
    type SessionStream = Pin<Box<dyn Stream<Item = Result<MasterMessage, Status>> + Send>>;

    async fn session(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        let status = self.store.status();
        if !status.is_leader && (status.leader_id == 0 || !*self.reaches_leader.borrow()) {
            return Err(Status::unavailable(
                "this master reaches no leader; try another master",
            ));
        }
        let identity = crate::pki::authz::caller(&request)
            .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
        let stay = request.metadata().contains_key(NO_REDIRECT_METADATA);
        let mut inbound = request.into_inner();
        let (node, hello) = session::read_hello(&mut inbound, &identity).await?;
        if let Some(to) = self.elsewhere(&node.metadata.name).filter(|_| !stay) {
            let mut refusal = Status::unavailable(format!(
                "node {} holds its session with the master at {to}",
                node.metadata.name
            ));
            if let Ok(v) = to.parse() {
                refusal.metadata_mut().insert(SERVE_AT_METADATA, v);
            }
            return Err(refusal);
        }
        let (tx, rx) = mpsc::channel(SESSION_BUFFER);
        let s = session::Session {
            store: self.store.clone(),
            writer: self.writer.clone(),
            reaches_leader: self.reaches_leader.clone(),
            registry: self.registry.clone(),
            hub: self.hub.clone(),
            events: self.events.clone(),
            tx,
            shutdown: self.shutdown.child_token(),
            identity,
        };
        self.tasks.spawn(s.run(node, hello, inbound));
        Ok(Response::new(Box::pin(
            ReceiverStream::new(rx).map(|m: Box<MasterMessage>| Ok(*m)),
        )))
    }
}

impl DispatcherService {
    /// The client address of the master a new session of `node` goes to instead of this one;
    /// `None` to serve it here. Sessions go to the followers, spread over them by the node's
    /// name ([`bosun_shared::fnv::spread`]); the leader counts only those it heard from
    /// lately, and serves the session itself when it has none. An agent the leader sent
    /// asks not to be sent on ([`NO_REDIRECT_METADATA`]).
    fn elsewhere(&self, node: &str) -> Option<String> {
        let s = self.store.status();
        if s.leader_id == 0 {
            return None;
        }
        let mut serving: Vec<u64> = s
            .voters
            .iter()
            .copied()
            .filter(|v| *v != s.leader_id && (!s.is_leader || s.active.contains(v)))
            .collect();
        if serving.is_empty() {
            return None;
        }
        serving.sort_unstable();
        let id = serving[bosun_shared::fnv::spread(node, serving.len())];
        if id == s.id {
            return None;
        }
        self.store.members().address(id)
    }
}
