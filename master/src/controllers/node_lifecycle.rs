//! Node lifecycle: a node whose agent stops heartbeating is marked `Ready=Unknown`, so no new
//! pods go there; its pods keep running where they are (the agent keeps them alive). When the
//! heartbeats come back on the same session (an agent that was paused), it is Ready again.
//!
//! Heartbeats live in the leader's memory, so a new leader knows none: it gives every node
//! [`LEADER_GRACE`] before judging it, including the nodes that reached it at once. That is
//! longer than [`NODE_GRACE`]: every agent has to find the new leader and open a session (a TLS
//! handshake each), and on a loaded machine a thousand of them took longer than 3 s.
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
/// How long a new leader waits for a node it has not heard from yet; also how much longer a
/// node gets when the follower holding its session stopped answering (its agent has to
/// notice and move to another master).
pub const LEADER_GRACE: Duration = Duration::from_secs(10);
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// Whether a node counts as heard from, this master having led for `leading_for`, its agent's
/// last beat `beat` (how long ago, and how often it was told to beat) if it reached this
/// master. No node is judged while the new leader's grace lasts, whether its agent has reached
/// it yet or not: the agents reconnecting all at once keep a new leader busy, and a beat it
/// handles late is not the node's fault (a thousand hollow nodes lost 524 pods to eviction 4 s
/// after a leader change). After it, a node must beat within [`GRACE_BEATS`] of its interval,
/// or of the interval the cluster's size calls for when that is longer (an agent that
/// connected while few others had was told a short one), and [`LEADER_GRACE`] more while
/// the master holding its session is `moving` it (that master is no longer live).
fn heard_from(
    leading_for: Duration,
    leader_grace: Duration,
    beat: Option<(Duration, Duration)>,
    cluster_every: Duration,
    moving: bool,
) -> bool {
    let extra = if moving { LEADER_GRACE } else { Duration::ZERO };
    leading_for < leader_grace
        || beat.is_some_and(|(ago, every)| {
            ago < NODE_GRACE.max(every.max(cluster_every) * GRACE_BEATS) + extra
        })
}

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
        let cluster_every = heartbeat_interval(nodes.len());
        let leader_grace = LEADER_GRACE.max(cluster_every * GRACE_BEATS);
        let live = self.store.status().active;
        for obj in nodes {
            let Object::Node(node) = &*obj else {
                continue;
            };
            let mut node = node.clone();
            let name = node.metadata.name.clone();
            // Only beats this master took while leading now: the registry also remembers the
            // last beat of agents that left during an earlier leadership, and such a node,
            // marked unreachable by another leader since, must not count as heard from.
            let heartbeat = self
                .registry
                .last_heartbeat(&name)
                .filter(|b| b.at >= since);
            let seen = heartbeat.map_or(since, |b| b.at);
            let beat = heartbeat.map(|b| (seen.elapsed(), b.every));
            // Its session was with a follower that stopped answering: the agent is moving.
            let moving = self
                .registry
                .holder_id(&name)
                .is_some_and(|id| !live.contains(&id));
            let fresh = heard_from(since.elapsed(), leader_grace, beat, cluster_every, moving);
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
                    message: Some(
                        format!(
                            "bosun agent stopped posting node status (no heartbeat for {:.1}s)",
                            seen.elapsed().as_secs_f64()
                        )
                        .into(),
                    ),
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
                    time_added: Some(now.to_string()),
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

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;
    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn a_new_leader_judges_no_node_during_its_grace() {
        let every = MS(500);
        // 4 s into a new leadership, a node whose beats the busy leader has not handled for
        // 3.5 s, and one that has not reached it at all: both still count as heard from.
        assert!(heard_from(
            S(4),
            LEADER_GRACE,
            Some((MS(3_500), every)),
            every,
            false
        ));
        assert!(heard_from(S(4), LEADER_GRACE, None, every, false));
        // After the grace, the same silence is judged.
        assert!(!heard_from(
            S(60),
            LEADER_GRACE,
            Some((MS(3_500), every)),
            every,
            false
        ));
        assert!(!heard_from(S(60), LEADER_GRACE, None, every, false));
        assert!(heard_from(
            S(60),
            LEADER_GRACE,
            Some((MS(600), every)),
            every,
            false
        ));
    }

    #[test]
    fn the_grace_follows_the_cluster_size_when_the_agent_was_told_a_shorter_interval() {
        // 1,000 nodes beat every 5 s; an agent told 500 ms while few others had connected is
        // judged on 6 x 5 s, not 3 s.
        let cluster_every = crate::dispatcher::heartbeat_interval(1_000);
        assert!(heard_from(
            S(60),
            LEADER_GRACE,
            Some((S(10), MS(500))),
            cluster_every,
            false
        ));
        assert!(!heard_from(
            S(60),
            LEADER_GRACE,
            Some((S(31), MS(500))),
            cluster_every,
            false
        ));
    }

    #[test]
    fn a_node_whose_follower_stopped_gets_time_to_move() {
        let every = MS(500);
        // 5 s without a beat: judged, unless the follower holding its session stopped.
        let beat = Some((S(5), every));
        assert!(!heard_from(S(60), LEADER_GRACE, beat, every, false));
        assert!(heard_from(S(60), LEADER_GRACE, beat, every, true));
        // The extra time runs out too.
        assert!(!heard_from(
            S(60),
            LEADER_GRACE,
            Some((S(14), every)),
            every,
            true
        ));
    }
}
