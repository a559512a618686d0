//! One agent's session: register the node, send its pods, take its reports.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bosun_proto::v1::{
    agent_message, master_message, AgentMessage, HeartbeatAck, Hello, MasterMessage, PodAssignment,
    PodStatusReport, SessionConfig,
};
use bosun_shared::meta::set_condition;
use bosun_shared::node::Node;
use bosun_shared::pki::Identity;
use bosun_shared::pod::PodStatus;
use bosun_shared::{CompactString, Kind, Object};
use futures::StreamExt;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tonic::{Status, Streaming};
use tracing::{debug, info, warn};

use super::assigned::{bound_to, Assigned};
use super::{heartbeat_interval, Registry};

use crate::peers::Writer;
use crate::store::{Command, Op, Store, StoreError};

pub struct Session {
    pub store: Store,
    /// Where its writes go: the leader, from whichever master holds the session.
    pub writer: Writer,
    /// Whether this master reaches the leader: the session ends when it no longer does.
    pub reaches_leader: watch::Receiver<bool>,
    pub registry: Arc<Registry>,
    pub hub: super::hub::Hub,
    pub events: crate::events::Recorder,
    pub tx: super::Outbox,
    pub shutdown: CancellationToken,
    /// The node's certificate: a revoked one ends the session.
    pub identity: Arc<Identity>,
}

fn msg(m: master_message::Msg) -> Box<MasterMessage> {
    Box::new(MasterMessage { msg: Some(m) })
}

/// How often a session checks whether the cluster's size calls for another heartbeat
/// interval ([`heartbeat_interval`])...
const RESCALE_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// ...and by how much it must differ from the agent's to be sent.
const RESCALE_FACTOR: f64 = 1.5;

/// How long an agent has to say Hello.
const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Reads the agent's Hello: the Node it registers, which must be the node its certificate
/// names (a node speaks only for itself).
pub async fn read_hello(
    inbound: &mut Streaming<AgentMessage>,
    caller: &Identity,
) -> Result<(Node, Hello), Status> {
    let first = tokio::time::timeout(HELLO_TIMEOUT, inbound.next())
        .await
        .map_err(|_| Status::deadline_exceeded("no Hello within 10 s"))?;
    let hello = match first {
        Some(Ok(AgentMessage {
            msg: Some(agent_message::Msg::Hello(h)),
        })) => h,
        other => {
            warn!(?other, "agent session did not start with Hello");
            return Err(Status::invalid_argument("a session starts with Hello"));
        }
    };
    let node = match Object::from_json(&hello.node) {
        Ok(Object::Node(n)) => n,
        other => {
            warn!(?other, "agent Hello carried no node");
            return Err(Status::invalid_argument("Hello.node: not a Node"));
        }
    };
    if caller.name != node.metadata.name {
        warn!(caller = %caller, node = %node.metadata.name, "refused: a node's session for another node");
        return Err(Status::permission_denied(format!(
            "{caller} may not register or serve node {:?}",
            node.metadata.name
        )));
    }
    Ok((node, hello))
}

impl Session {
    /// Serves the session of `node`, whose agent sent `hello` (checked by [`read_hello`]).
    ///
    /// This future lives as long as the session, one per node: what it awaits only now and
    /// then (registering, a message's handling, a full resend) is boxed, so that its size is
    /// not theirs. Inline, it was ~7 KiB per node (7 MB of the leader's heap with 1,000 nodes).
    pub async fn run(self, node: Node, hello: Hello, mut inbound: Streaming<AgentMessage>) {
        let name = node.metadata.name.clone();
        if let Err(e) = Box::pin(register_node(&self.store, &self.writer, node)).await {
            warn!(node = %name, error = %e, "registering node failed");
            return;
        }
        let every = heartbeat_interval(self.cluster_size());
        let session_id = self.registry.register(&name, self.tx.clone(), every);
        info!(node = %name, "agent connected");
        let result = self.serve(&name, hello.pods, &mut inbound, every).await;
        self.registry.unregister(&name, session_id);
        match result {
            Ok(()) => info!(node = %name, "agent disconnected"),
            Err(e) => warn!(node = %name, error = %e, "agent session ended"),
        }
    }

    async fn serve(
        &self,
        node: &str,
        initial: Vec<PodStatusReport>,
        inbound: &mut Streaming<AgentMessage>,
        mut every: std::time::Duration,
    ) -> Result<(), StoreError> {
        self.send_config(every).await?;
        let mut rescale = tokio::time::interval(RESCALE_EVERY);
        let mut assigned = Assigned::default();
        let mut changes = Box::pin(self.send_full(node, &mut assigned)).await?;
        Box::pin(record_statuses(&self.store, &self.writer, node, initial)).await?;
        let mut reaches = self.reaches_leader.clone();
        loop {
            tokio::select! {
                _ = self.shutdown.cancelled() => return Ok(()),
                // Cut off from the leader, this master can store nothing the agent reports:
                // the agent finds a master that can.
                _ = async {
                    if reaches.wait_for(|r| !r).await.is_err() {
                        std::future::pending::<()>().await;
                    }
                } => {
                    return Err(StoreError::Unavailable("this master no longer reaches the leader".into()));
                }
                m = inbound.next() => match m {
                    None => return Ok(()),
                    Some(Err(e)) => return Err(StoreError::Unavailable(format!("agent stream: {e}"))),
                    Some(Ok(m)) => {
                        // `bosun node remove`: the node's certificate no longer counts.
                        if crate::pki::revoked(&self.store, &self.identity).is_some() {
                            warn!(node, "ending the session of a removed node");
                            return Err(StoreError::Unavailable(format!("node {node} was removed from the cluster")));
                        }
                        Box::pin(self.on_agent_message(node, m, &assigned)).await?
                    }
                },
                _ = rescale.tick() => {
                    let want = heartbeat_interval(self.cluster_size());
                    if want > every.mul_f64(RESCALE_FACTOR) || every > want.mul_f64(RESCALE_FACTOR) {
                        debug!(node, ?want, "heartbeat interval changed with the cluster's size");
                        // Recorded first: a longer interval must lengthen the grace before the
                        // agent starts beating less often.
                        self.registry.set_interval(node, want);
                        self.send_config(want).await?;
                        every = want;
                    }
                }
                // Every change after what was sent in full (the hub hands out nothing twice).
                c = changes.next() => match c {
                    Some(change) => {
                        let a = if change.object.kind() == Kind::Pod {
                            assigned.on_pod(&self.store, node, &change)
                        } else {
                            assigned.on_config(node, &change)
                        };
                        if let Some(a) = a {
                            self.send_assignment(a).await?;
                        }
                    }
                    None => {
                        debug!(node, "fell behind the store's changes; resending all pods");
                        changes = Box::pin(self.send_full(node, &mut assigned)).await?;
                    }
                },
            }
        }
    }

    /// Sends every pod bound to `node` (and the config they use); the subscription to what
    /// changes after, taken with the pods.
    async fn send_full(
        &self,
        node: &str,
        assigned: &mut Assigned,
    ) -> Result<super::hub::Subscription, StoreError> {
        // An idle hub lists the pods first; a master stopping meanwhile ends the session.
        let (changes, pods) = tokio::select! {
            subscribed = self.hub.subscribe(node) => subscribed,
            _ = self.shutdown.cancelled() => {
                return Err(StoreError::Unavailable("the master is shutting down".into()));
            }
        };
        let assignment = assigned.full(&self.store, node, &pods);
        self.send_assignment(assignment).await?;
        Ok(changes)
    }

    /// The nodes whose heartbeats this leader is to take: those connected, or, while the
    /// agents are still coming (a new leader, a restart), the nodes the cluster has. Counting
    /// only the connected, the first thousand agents to reach a new leader were each told to
    /// beat every 500 ms, and their 2,000 beats a second starved it while it was busiest.
    fn cluster_size(&self) -> usize {
        let nodes = self.store.count(Kind::Node, None);
        self.registry.connected_count().max(nodes).max(1)
    }

    /// Tells the agent how often to heartbeat.
    async fn send_config(&self, every: std::time::Duration) -> Result<(), StoreError> {
        let config = SessionConfig {
            heartbeat_interval_ms: every.as_millis() as u32,
        };
        self.tx
            .send(msg(master_message::Msg::Config(config)))
            .await
            .map_err(|_| StoreError::Unavailable("agent stream closed".into()))
    }

    async fn send_assignment(&self, a: PodAssignment) -> Result<(), StoreError> {
        self.tx
            .send(msg(master_message::Msg::Assignment(a)))
            .await
            .map_err(|_| StoreError::Unavailable("agent stream closed".into()))
    }

    /// Handles one message of the agent; an error ends the session (a report that could not
    /// be stored is sent again in full by the agent's next session).
    async fn on_agent_message(
        &self,
        node: &str,
        m: AgentMessage,
        assigned: &Assigned,
    ) -> Result<(), StoreError> {
        match m.msg {
            Some(agent_message::Msg::Heartbeat(beat)) => {
                self.registry.heartbeat(node);
                // A set: a node deleting its pods compares each terminating pod with each held.
                let holding: HashSet<&str> = beat.holding.iter().map(String::as_str).collect();
                let held = |uid: &str| beat.reports_holding && holding.contains(uid);
                remove_stopped(
                    &self.store,
                    &self.writer,
                    node,
                    assigned.terminating(),
                    held,
                )
                .await?;
                // Never waits: an agent that does not read its acks has its own watchdog.
                let _ = self
                    .tx
                    .try_send(msg(master_message::Msg::HeartbeatAck(HeartbeatAck {})));
            }
            Some(agent_message::Msg::Statuses(batch)) => {
                self.registry.heartbeat(node);
                record_statuses(&self.store, &self.writer, node, batch.pods).await?;
            }
            Some(agent_message::Msg::Events(batch)) => {
                for e in batch.events {
                    // Only about its own pods.
                    let own = self
                        .store
                        .get(Kind::Pod, &e.namespace, &e.name)
                        .is_some_and(|o| o.as_pod().is_some_and(|p| bound_to(p, node)));
                    if own {
                        self.events.record(agent_event(node, e));
                    }
                }
            }
            Some(agent_message::Msg::Stream(data)) => {
                let (id, eof) = (data.request_id, data.eof);
                let item = if data.error.is_empty() {
                    Ok(data)
                } else {
                    Err(Status::not_found(data.error))
                };
                if !self.registry.deliver(id, item, eof).await && !eof {
                    self.registry.cancel_stream(node, id);
                }
            }
            Some(agent_message::Msg::Hello(_)) | None => {}
        }
        Ok(())
    }
}

/// Removes the terminating pods of `node` (`terminating`, as its session tracks them) its
/// agent no longer holds (`held`): their containers are gone, so the deletion is complete.
/// Looks only at those pods: a heartbeat must not cost a scan of every pod.
async fn remove_stopped(
    store: &Store,
    writer: &Writer,
    node: &str,
    terminating: &HashMap<CompactString, (CompactString, CompactString)>,
    held: impl Fn(&str) -> bool,
) -> Result<(), StoreError> {
    let stopped: Vec<_> = terminating
        .iter()
        .filter(|(uid, _)| !held(uid))
        .filter_map(|(_, (ns, name))| store.get(Kind::Pod, ns, name))
        .filter(|o| {
            o.as_pod()
                .is_some_and(|p| bound_to(p, node) && p.is_terminating() && !held(&p.metadata.uid))
        })
        .collect();
    if stopped.is_empty() {
        return Ok(());
    }
    let ops = stopped
        .iter()
        .map(|o| Op::remove(Kind::Pod, o.meta()))
        .collect();
    match writer.write(Command { ops }).await {
        Err(e @ (StoreError::Unavailable(_) | StoreError::NotLeader { .. })) => Err(e),
        Err(e) => {
            debug!(node, error = %e, "removing stopped pods failed; the next heartbeat retries");
            Ok(())
        }
        Ok(()) => Ok(()),
    }
}

/// Creates the Node, or refreshes its labels and status, marking it Ready.
async fn register_node(store: &Store, writer: &Writer, reported: Node) -> Result<(), StoreError> {
    let write = |op: Op| writer.write(Command { ops: vec![op] });
    let now = bosun_shared::time::now_rfc3339();
    for _ in 0..5 {
        let name = reported.metadata.name.clone();
        let mut status = reported.status.clone().unwrap_or_default();
        let existing = store.get(Kind::Node, "", &name);
        if let Some(Object::Node(old)) = existing.as_deref() {
            status.conditions = old.status.clone().unwrap_or_default().conditions;
        }
        set_condition(
            &mut status.conditions,
            crate::controllers::node_lifecycle::ready_condition(),
            &now,
        );
        let result = match existing.as_deref() {
            None => {
                let mut n = reported.clone();
                n.status = Some(status);
                let mut obj: Object = n.into();
                crate::store::stamp_new(&mut obj);
                write(Op::Create(obj)).await
            }
            Some(Object::Node(old)) => {
                let mut updated = old.clone();
                updated
                    .metadata
                    .labels
                    .extend(reported.metadata.labels.clone());
                if updated.metadata.labels != old.metadata.labels {
                    write(Op::Update {
                        object: updated.clone().into(),
                        expected_revision: Some(old.metadata.revision()),
                    })
                    .await?;
                }
                updated.status = Some(status);
                write(Op::UpdateStatus {
                    object: updated.into(),
                    expected_revision: None,
                })
                .await
            }
            Some(_) => unreachable!("the store keys nodes by kind"),
        };
        match result {
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists(_)) => continue,
            other => return other,
        }
    }
    Err(StoreError::Unavailable(format!(
        "node {}: registration kept conflicting",
        reported.metadata.name
    )))
}

/// The status update a report asks for, against the pod as stored now; `None` when the pod is
/// gone, is another incarnation, or already has that status.
fn status_op(store: &Store, node: &str, r: &PodStatusReport) -> Option<Op> {
    let stored = store.get(Kind::Pod, &r.namespace, &r.name);
    let Some(Object::Pod(pod)) = stored.as_deref() else {
        return None;
    };
    let mut pod = pod.clone();
    if pod.metadata.uid != r.uid {
        return None;
    }
    if !bound_to(&pod, node) {
        // A node writes only its own pods' status (a pod moved away is no longer its own).
        warn!(node, pod = %pod.key(), "refused a status report for a pod not bound to the reporting node");
        return None;
    }
    let Ok(mut status) = serde_json::from_slice::<PodStatus>(&r.status) else {
        warn!(pod = %pod.key(), "agent sent an unreadable status");
        return None;
    };
    // The scheduler's conditions stay; the agent's replace those of the same type.
    for c in pod.status.clone().unwrap_or_default().conditions {
        if !status.conditions.iter().any(|n| n.type_ == c.type_) {
            status.conditions.push(c);
        }
    }
    if pod.status.as_ref() == Some(&status) {
        return None;
    }
    let rv = pod.metadata.revision();
    pod.status = Some(status);
    Some(Op::UpdateStatus {
        object: pod.into(),
        expected_revision: Some(rv),
    })
}

/// Attempts per report when its pod changes under it.
const STATUS_RETRIES: usize = 3;

/// Writes reported pod statuses in one command; reports for pods that are gone are dropped.
/// When the batch conflicts (a pod changed meanwhile), each report is retried against a fresh
/// read of its pod, so no status is lost to a race. Fails only when no leader could take the
/// statuses (the session then ends, and the agent's next one reports them all again).
async fn record_statuses(
    store: &Store,
    writer: &Writer,
    node: &str,
    reports: Vec<PodStatusReport>,
) -> Result<(), StoreError> {
    let ops: Vec<Op> = reports
        .iter()
        .filter_map(|r| status_op(store, node, r))
        .collect();
    if ops.is_empty() {
        return Ok(());
    }
    match writer.write(Command { ops }).await {
        Ok(()) => return Ok(()),
        Err(e @ (StoreError::Unavailable(_) | StoreError::NotLeader { .. })) => return Err(e),
        Err(e) => debug!(error = %e, "batched status update failed; retrying one by one"),
    }
    for r in &reports {
        for _ in 0..STATUS_RETRIES {
            let Some(op) = status_op(store, node, r) else {
                break;
            };
            match writer.write(Command { ops: vec![op] }).await {
                Err(StoreError::Conflict { .. }) => continue,
                Err(e @ (StoreError::Unavailable(_) | StoreError::NotLeader { .. })) => {
                    return Err(e)
                }
                _ => break,
            }
        }
    }
    Ok(())
}

/// The Event of what agent `node` reported about one of its pods.
fn agent_event(node: &str, e: bosun_proto::v1::PodEvent) -> bosun_shared::event::Event {
    let involved = bosun_shared::event::ObjectReference {
        kind: "Pod".into(),
        namespace: e.namespace,
        name: e.name,
        uid: e.uid,
        field_path: e.field_path,
    };
    let mut ev =
        bosun_shared::event::Event::about(involved, &e.r#type, &e.reason, e.message, "bosun-agent");
    ev.source.host = node.to_string();
    ev
}
