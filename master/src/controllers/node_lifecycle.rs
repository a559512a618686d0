//! Node lifecycle: a node whose agent stops heartbeating is marked `Ready=Unknown`, so no new
//! pods go there; its pods keep running where they are (the agent keeps them alive). When the
//! heartbeats come back on the same session (an agent that was paused), it is Ready again.
use std::sync::Arc;
use std::time::{Duration, Instant};

use bosun_shared::meta::{set_condition, Condition};
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::dispatcher::Registry;
use crate::store::{Command, Op, Store};
use bosun_shared::taint::{Taint, UNREACHABLE};

/// A node is unreachable after this long without a heartbeat (agents beat every 500 ms).
pub const NODE_GRACE: Duration = Duration::from_millis(3_000);
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
        // A new leader gives every node a fresh grace period before judging it.
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
        for obj in self.store.list(Kind::Node, None, None).0 {
            let Object::Node(node) = &*obj else {
                continue;
            };
            let mut node = node.clone();
            let name = node.metadata.name.clone();
            let heartbeat = self.registry.last_heartbeat(&name);
            let seen = heartbeat.unwrap_or(since).max(since);
            let fresh = seen.elapsed() < NODE_GRACE;
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
