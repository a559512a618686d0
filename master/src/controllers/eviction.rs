//! Eviction: pods on a node with a `NoExecute` taint they do not tolerate are deleted, once
//! their `tolerationSeconds` (counted from the taint's `timeAdded`) run out; their controllers
//! start replacements elsewhere. This is how the pods of a dead node move.
//!
//! Every pod tolerates `node.kubernetes.io/unreachable` for [`DEFAULT_UNREACHABLE_SECONDS`]
//! unless it says otherwise (Kubernetes adds 300 s; a home lab wants its services back in
//! seconds). A pod that tolerates the taint without `tolerationSeconds` stays.
//!
//! When many nodes are unreachable at once the fault is more likely the masters' or the
//! network's than the nodes' (a new leader the agents have not reached yet, a switch), and
//! moving every pod would make it worse: as Kubernetes' node lifecycle controller does in a
//! disrupted zone, evictions for unreachable nodes are held while no node is Ready, or while
//! more than [`PARTIAL_DISRUPTION_NODES`] nodes and at least [`PARTIAL_DISRUPTION_SHARE`] of
//! them are not ([`disruption`]). Other `NoExecute` taints still evict. When the hold ends,
//! the nodes still unreachable get [`RESUME_GRACE`] to come back before their pods' toleration
//! starts counting, as Kubernetes gives every node a fresh grace period then: agents come back
//! one by one, and the first ones back end the hold.
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use bosun_shared::event::{Event, ObjectReference, NORMAL};
use bosun_shared::node::Node;
use bosun_shared::taint::{no_execute_grace, Taint, Toleration, UNREACHABLE};
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::queue::pods;
use crate::store::{Command, Store};

/// How long pods stay on an unreachable node unless they tolerate it explicitly.
pub const DEFAULT_UNREACHABLE_SECONDS: i64 = 1;
const CHECK_EVERY: Duration = Duration::from_millis(250);
/// Evictions for unreachable nodes are held when more nodes than this are not Ready...
pub const PARTIAL_DISRUPTION_NODES: usize = 2;
/// ...and they are at least this share of all nodes (Kubernetes' `unhealthyZoneThreshold`).
pub const PARTIAL_DISRUPTION_SHARE: f64 = 0.55;

/// After a hold, how long unreachable nodes have to come back before their pods' toleration
/// starts counting.
pub const RESUME_GRACE: Duration = Duration::from_secs(10);

pub struct Evictor {
    store: Store,
    events: crate::events::Recorder,
    /// Whether evictions for unreachable nodes are held (logged when it changes).
    held: AtomicBool,
    /// When the last hold ended.
    resumed_at: std::sync::Mutex<Option<SystemTime>>,
}

/// Why evictions for unreachable nodes are held among `nodes`, if they are: none is Ready, or
/// too many are not (see the module).
pub fn disruption<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Option<String> {
    let (mut total, mut not_ready) = (0usize, 0usize);
    for n in nodes {
        total += 1;
        not_ready += usize::from(!n.is_ready());
    }
    if not_ready == 0 {
        return None;
    }
    if not_ready == total {
        return Some(format!("none of the {total} nodes is Ready"));
    }
    let share = not_ready as f64 / total as f64;
    (not_ready > PARTIAL_DISRUPTION_NODES && share >= PARTIAL_DISRUPTION_SHARE)
        .then(|| format!("{not_ready} of {total} nodes are not Ready"))
}

/// The tolerations that apply to a pod: its own, plus the default one for unreachable nodes.
fn effective(own: &[Toleration]) -> Vec<Toleration> {
    let mut all = own.to_vec();
    let unreachable = Taint {
        key: UNREACHABLE.into(),
        effect: "NoExecute".into(),
        ..Default::default()
    };
    if !own.iter().any(|t| t.tolerates(&unreachable)) {
        all.push(Toleration {
            key: UNREACHABLE.into(),
            operator: Some("Exists".into()),
            effect: "NoExecute".into(),
            toleration_seconds: Some(DEFAULT_UNREACHABLE_SECONDS),
            ..Default::default()
        });
    }
    all
}

/// Whether a pod with `tolerations` must leave a node with `taints` at `now`.
pub fn must_leave(taints: &[Taint], tolerations: &[Toleration], now: SystemTime) -> bool {
    let tolerations = effective(tolerations);
    taints.iter().filter(|t| t.effect == "NoExecute").any(|t| {
        let Some(grace) = no_execute_grace(t, &tolerations) else {
            return false; // tolerated forever
        };
        let added = t
            .time_added
            .as_deref()
            .and_then(bosun_shared::time::parse_rfc3339)
            .unwrap_or(now);
        now >= added + Duration::from_secs(grace as u64)
    })
}

/// The later of a taint's `timeAdded` (RFC 3339) and `start`, as RFC 3339.
fn later_start(added: Option<&str>, start: SystemTime) -> String {
    let added = added.and_then(bosun_shared::time::parse_rfc3339);
    bosun_shared::time::to_rfc3339(added.map_or(start, |a| a.max(start))).to_string()
}

impl Evictor {
    pub fn new(store: Store, events: crate::events::Recorder) -> Evictor {
        Evictor {
            store,
            events,
            held: AtomicBool::new(false),
            resumed_at: std::sync::Mutex::new(None),
        }
    }

    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => self.pass().await,
            }
        }
    }

    async fn pass(&self) {
        let (all_nodes, _) = self.store.list(Kind::Node, None, None);
        let all_nodes: Vec<&Node> = all_nodes.iter().filter_map(|o| o.as_node()).collect();
        let held = disruption(all_nodes.iter().copied());
        let was_held = self.held.swap(held.is_some(), Ordering::Relaxed);
        match &held {
            Some(why) if !was_held => {
                warn!("{why}: evictions from unreachable nodes are held until most nodes are back")
            }
            None if was_held => {
                info!("most nodes are Ready again: evictions from unreachable nodes resume");
                *self.resumed_at.lock().expect("resumed lock") = Some(SystemTime::now());
            }
            _ => {}
        }
        let resumed_at = *self.resumed_at.lock().expect("resumed lock");
        let mut nodes: Vec<Node> = all_nodes
            .into_iter()
            .filter(|n| n.spec.taints.iter().any(|t| t.effect == "NoExecute"))
            .cloned()
            .collect();
        for n in &mut nodes {
            if held.is_some() {
                n.spec.taints.retain(|t| t.key != UNREACHABLE);
            } else if let Some(at) = resumed_at {
                for t in n.spec.taints.iter_mut().filter(|t| t.key == UNREACHABLE) {
                    t.time_added = Some(later_start(t.time_added.as_deref(), at + RESUME_GRACE));
                }
            }
        }
        if nodes.is_empty() {
            return;
        }
        let nodes: std::collections::HashMap<&str, &Node> = nodes
            .iter()
            .map(|n| (n.metadata.name.as_str(), n))
            .collect();
        let now = SystemTime::now();
        let mut ops = Vec::new();
        let mut events = Vec::new();
        let (all, _) = self.store.list(Kind::Pod, None, None);
        for p in pods(&all) {
            let Some(node) = p.spec.node_name.as_deref().and_then(|n| nodes.get(n)) else {
                continue;
            };
            // A terminating pod on a Ready node is being stopped already; on a lost node the
            // deletion below removes it.
            let stopping = p.is_terminating() && node.is_ready();
            if stopping
                || p.phase().is_terminal()
                || !must_leave(&node.spec.taints, &p.spec.tolerations, now)
            {
                continue;
            }
            info!(pod = %p.key(), node = %node.metadata.name, "evicting pod from a tainted node");
            ops.push(super::pods::delete_op(p));
            events.push(Event::about(
                ObjectReference::to(&Object::Pod(p.clone())),
                NORMAL,
                "TaintManagerEviction",
                format!("Marking for deletion Pod {}", p.key()),
                "taint-eviction-controller",
            ));
        }
        if ops.is_empty() {
            return;
        }
        match self.store.propose(Command { ops }).await {
            Ok(_) => self.events.record_all(events),
            Err(e) => warn!(error = %e, "eviction failed; retrying"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unreachable_since(secs_ago: u64, now: SystemTime) -> Taint {
        Taint {
            key: UNREACHABLE.into(),
            effect: "NoExecute".into(),
            time_added: Some(
                bosun_shared::time::to_rfc3339(now - Duration::from_secs(secs_ago)).to_string(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn pods_leave_an_unreachable_node_after_their_toleration() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let fresh = [unreachable_since(0, now)];
        let old = [unreachable_since(5, now)];
        assert!(
            !must_leave(&fresh, &[], now),
            "default toleration not over yet"
        );
        assert!(must_leave(&old, &[], now), "default toleration over");
        let forever = [Toleration {
            key: UNREACHABLE.into(),
            operator: Some("Exists".into()),
            effect: "NoExecute".into(),
            ..Default::default()
        }];
        assert!(
            !must_leave(&old, &forever, now),
            "tolerated without a limit"
        );
        let long = [Toleration {
            toleration_seconds: Some(60),
            ..forever[0].clone()
        }];
        assert!(!must_leave(&old, &long, now), "tolerated for 60 s");
        let other = [Taint {
            key: "maintenance".into(),
            effect: "NoExecute".into(),
            time_added: None,
            ..Default::default()
        }];
        assert!(
            must_leave(&other, &[], now),
            "an untolerated NoExecute taint evicts at once"
        );
        let no_schedule = [Taint {
            key: "maintenance".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        }];
        assert!(
            !must_leave(&no_schedule, &[], now),
            "NoSchedule never evicts"
        );
    }

    /// `ready` nodes that are Ready and `lost` that are not.
    fn nodes(ready: usize, lost: usize) -> Vec<Node> {
        (0..ready + lost)
            .map(|i| {
                let mut n = Node::default();
                n.metadata.name = format!("n{i}").into();
                let mut ready_condition = crate::controllers::node_lifecycle::ready_condition();
                if i >= ready {
                    ready_condition.status = "Unknown".into();
                }
                n.status = Some(bosun_shared::node::NodeStatus {
                    conditions: vec![ready_condition],
                    ..Default::default()
                });
                n
            })
            .collect()
    }

    #[test]
    fn evictions_are_held_when_most_nodes_are_lost_at_once() {
        assert_eq!(disruption(&nodes(3, 0)), None, "all Ready");
        assert_eq!(disruption(&nodes(2, 1)), None, "one lost node of three");
        assert_eq!(
            disruption(&nodes(1, 2)),
            None,
            "two lost of three: too few to suspect the masters"
        );
        assert_eq!(
            disruption(&nodes(5, 5)),
            None,
            "half lost: under the threshold"
        );
        assert_eq!(
            disruption(&nodes(0, 1)).as_deref(),
            Some("none of the 1 nodes is Ready"),
            "a single lost node has nowhere to send its pods"
        );
        assert_eq!(
            disruption(&nodes(4, 6)).as_deref(),
            Some("6 of 10 nodes are not Ready")
        );
        assert_eq!(
            disruption(&nodes(0, 1000)).as_deref(),
            Some("none of the 1000 nodes is Ready"),
            "a new leader every agent has not reached yet"
        );
        assert_eq!(disruption(&Vec::new()), None, "no nodes");
    }
}
