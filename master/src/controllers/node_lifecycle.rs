//! Node lifecycle: a node whose agent stops heartbeating is marked `Ready=Unknown`, so no new
//! pods go there; its pods keep running where they are (the agent keeps them alive). When the
//! heartbeats come back on the same session (an agent that was paused), it is Ready again.
//!
//! Heartbeats live in the leader's memory, so a new leader knows none: it gives every node
//! [`LEADER_GRACE`] to reach it before judging it. That is longer than [`NODE_GRACE`]: every
//! agent has to find the new leader and open a session (a TLS handshake each), and on a loaded
//! machine a thousand of them took longer than 3 s.
use std::sync::Arc;
use std::time::{Duration, Instant};

use bosun_shared::meta::{set_condition, Condition};
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::dispatcher::{heartbeat_interval, Registry};
use crate::store::{Command, Op, Store};
use bosun_shared::taint::{Taint, UNREACHABLE};

/// A node is unreachable after this long without a heartbeat (agents beat every 500 ms in a
/// cluster of up to 100 nodes)...
pub const NODE_GRACE: Duration = Duration::from_millis(3_000);
/// ...or after this many of its heartbeat intervals, when they are longer (larger clusters,
/// [`crate::dispatcher::heartbeat_interval`]).
pub const GRACE_BEATS: u32 = 6;
/// How long a new leader waits for a node it has not heard from yet.
pub const LEADER_GRACE: Duration = Duration::from_secs(10);
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// The Ready condition of a node whose agent heartbeats.
pub fn ready_condition() -> Condition {
    Condition {
        type_: "Ready".into(),
        status: "True".into(),
        reason: Some("AgentReady".into()),
        message: Some("bosun agent is posting ready status".into()),
        ..Default::default()
    }
}

pub struct NodeLifecycle {
    pub store: Store,
    pub registry: Arc<Registry>,
}

impl NodeLifecycle {
    pub async fn run(self, shutdown: CancellationToken) {
        // A new leader gives every node a grace period before judging it.
        let since = Instant::now();
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => self.check(since).await,
            }
        }
    }

    async fn check(&self, since: Instant) {
        let now = bosun_shared::time::now_rfc3339();
        let (nodes, _) = self.store.list(Kind::Node, None, None);
        // Nodes not heard from since this master leads: as long as their agents need to find
        // it, and at least as long as they may take between two beats.
        let leader_grace = LEADER_GRACE.max(heartbeat_interval(nodes.len()) * GRACE_BEATS);
        for obj in nodes {
            let Object::Node(node) = &*obj else {
                continue;
            };
            let mut node = node.clone();
            let name = node.metadata.name.clone();
            let heartbeat = self.registry.last_heartbeat(&name);
            let seen = heartbeat.map_or(since, |b| b.at).max(since);
            let fresh = match heartbeat {
                Some(b) => seen.elapsed() < NODE_GRACE.max(b.every * GRACE_BEATS),
                None => since.elapsed() < leader_grace,
            };
            // A node is ready while it heartbeats (or, just after a leader change, while it
            // still has the grace period every node gets then).
            let want_ready = fresh && (heartbeat.is_some() || node.is_ready());
            let tainted = node.spec.taints.iter().any(|t| t.key == UNREACHABLE);
            if want_ready == node.is_ready() && tainted != want_ready {
                continue;
            }
            let condition = if want_ready {
                ready_condition()
            } else {
                Condition {
                    type_: "Ready".into(),
                    status: "Unknown".into(),
                    reason: Some("NodeStatusUnknown".into()),
                    message: Some(format!(
                        "bosun agent stopped posting node status (no heartbeat for {:.1}s)",
                        seen.elapsed().as_secs_f64()
                    )),
                    ..Default::default()
                }
            };
            let ready = condition.status == "True";
            let rv = node.metadata.revision();
            let mut status = node.status.clone().unwrap_or_default();
            set_condition(&mut status.conditions, condition, &now);
            node.status = Some(status);
            // The unreachable taint (NoExecute) follows the condition; the eviction controller
            // moves the node's pods away once their toleration runs out.
            node.spec.taints.retain(|t| t.key != UNREACHABLE);
            if !ready {
                node.spec.taints.push(Taint {
                    key: UNREACHABLE.into(),
                    value: String::new(),
                    effect: "NoExecute".into(),
                    time_added: Some(now.clone()),
                });
            }
            let object: bosun_shared::Object = node.into();
            let cmd = Command {
                ops: vec![
                    Op::Update {
                        object: object.clone(),
                        expected_revision: Some(rv),
                    },
                    Op::UpdateStatus {
                        object,
                        expected_revision: None,
                    },
                ],
            };
            match self.store.propose(cmd).await {
                Ok(_) if ready => info!(node = %name, "node heartbeating again: marked Ready"),
                Ok(_) => warn!(node = %name, "node unreachable: marked Ready=Unknown"),
                Err(e) => {
                    warn!(node = %name, error = %e, "could not update the node's Ready condition")
                }
            }
        }
    }
}
