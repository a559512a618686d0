//! The master's side of the agent `Session` stream (DESIGN.md section 5).
//!
//! - [`registry`]: connected agents, their heartbeats, and log requests in flight.
//! - `assigned`: what a node's session was sent (pods, the ConfigMaps and Secrets they use).
//! - [`hub`]: one store watch for all sessions, each change routed to the sessions it concerns.
//! - `node_pods`: the hub's pods by node, what a session sends in full.
//! - [`session`]: one agent's session: registration, assignments, status reports, logs.
mod assigned;
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
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::{Request, Response, Status, Streaming};

pub use registry::Registry;

use crate::store::Store;

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
        if !self.store.is_leader() {
            return Err(crate::api::status::to_status(
                crate::store::StoreError::NotLeader {
                    leader: self.store.leader_address(),
                },
            ));
        }
        let identity = crate::pki::authz::caller(&request)
            .ok_or_else(|| Status::unauthenticated("no client certificate"))?;
        let mut inbound = request.into_inner();
        let (node, hello) = session::read_hello(&mut inbound, &identity).await?;
        let (tx, rx) = mpsc::channel(SESSION_BUFFER);
        let s = session::Session {
            store: self.store.clone(),
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
