//! Eviction: pods on a node with a `NoExecute` taint they do not tolerate are deleted, once
//! their `tolerationSeconds` (counted from the taint's `timeAdded`) run out; their controllers
//! start replacements elsewhere. This is how the pods of a dead node move.
//!
//! Every pod tolerates `node.kubernetes.io/unreachable` for [`DEFAULT_UNREACHABLE_SECONDS`]
//! unless it says otherwise (Kubernetes adds 300 s; a home lab wants its services back in
//! seconds). A pod that tolerates the taint without `tolerationSeconds` stays.
use std::time::{Duration, SystemTime};

use bosun_shared::event::{Event, ObjectReference, NORMAL};
use bosun_shared::taint::{no_execute_grace, Taint, Toleration, UNREACHABLE};
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::queue::pods;
use crate::store::{Command, Store};

/// How long pods stay on an unreachable node unless they tolerate it explicitly.
pub const DEFAULT_UNREACHABLE_SECONDS: i64 = 1;
const CHECK_EVERY: Duration = Duration::from_millis(250);

pub struct Evictor {
    pub store: Store,
    pub events: crate::events::Recorder,
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

impl Evictor {
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
        let nodes: Vec<_> = self
            .store
            .list(Kind::Node, None, None)
            .0
            .into_iter()
            .filter_map(|o| o.as_node().cloned())
            .filter(|n| n.spec.taints.iter().any(|t| t.effect == "NoExecute"))
            .collect();
        if nodes.is_empty() {
            return;
        }
        let now = SystemTime::now();
        let mut ops = Vec::new();
        let mut events = Vec::new();
        let (all, _) = self.store.list(Kind::Pod, None, None);
        for p in pods(&all) {
            let Some(node) = nodes
                .iter()
                .find(|n| p.spec.node_name.as_deref() == Some(n.metadata.name.as_str()))
            else {
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
            time_added: Some(bosun_shared::time::to_rfc3339(
                now - Duration::from_secs(secs_ago),
            )),
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
}
