//! The scheduler loop: binds pending pods in batches, up to 500 pods per Raft entry, the
//! entries of a batch proposed together.
use std::time::Duration;

use bosun_shared::event::{Event, ObjectReference, NORMAL, WARNING};
use bosun_shared::meta::{set_condition, Condition};
use bosun_shared::node::Node;
use bosun_shared::pod::Pod;
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::entries::{in_entries, propose_entries};
use super::queue::run_passes;
use crate::scheduler::{schedule, Outcome};
use crate::store::{Change, Command, EventType, Op, Store};

/// Reporter of the scheduler's events.
const COMPONENT: &str = "default-scheduler";

/// Pause after a change so that one pass binds a whole burst of new pods.
const BATCH_WINDOW: Duration = Duration::from_millis(20);

pub struct SchedulerLoop {
    pub store: Store,
    pub events: crate::events::Recorder,
}

impl SchedulerLoop {
    pub async fn run(self, shutdown: CancellationToken) {
        // A pass can only bind something after a pending pod appears or changes, a node
        // changes, or a bound pod stops holding resources (deleted or finished); the status
        // updates of running pods, the bulk of all changes, need none.
        let relevant = |c: &Change| match &*c.object {
            // A node, or a claim a waiting pod may need (made, or bound by the last pass).
            bosun_shared::Object::Node(_) | bosun_shared::Object::PersistentVolumeClaim(_) => true,
            bosun_shared::Object::Pod(p) => {
                p.spec.node_name.is_none()
                    || c.event == EventType::Deleted
                    || p.phase().is_terminal()
            }
            _ => false,
        };
        run_passes(
            "scheduler",
            &self.store,
            &shutdown,
            relevant,
            BATCH_WINDOW,
            || self.pass(),
        )
        .await;
    }

    /// One scheduling pass over every pending pod.
    async fn pass(&self) -> Result<(), crate::store::StoreError> {
        // Most passes find nothing to do: look for pending pods before copying every pod.
        let is_pending = |o: &bosun_shared::Object| {
            o.as_pod()
                .is_some_and(|p| p.spec.node_name.is_none() && !p.phase().is_terminal())
        };
        if self.store.select(Kind::Pod, None, is_pending).0.is_empty() {
            return Ok(());
        }
        let (pods, _) = self.store.list(Kind::Pod, None, None);
        let (nodes, _) = self.store.list(Kind::Node, None, None);
        let nodes: Vec<&Node> = nodes.iter().filter_map(|o| o.as_node()).collect();
        // Borrowed from the store's objects: a pass copies only the pods it binds.
        let (pending, bound): (Vec<&Pod>, Vec<&Pod>) = super::queue::pods(&pods)
            .into_iter()
            .filter(|p| !p.phase().is_terminal())
            .partition(|p| p.spec.node_name.is_none());
        if pending.is_empty() {
            return Ok(());
        }
        let now = bosun_shared::time::now_rfc3339();
        // Per pod: its ops (claims, binding, condition), which stay in one entry, its event,
        // and whether it is bound.
        let mut planned: Vec<(Vec<Op>, Option<Event>, bool)> = Vec::new();
        let by_key: std::collections::HashMap<(&str, &str), &Pod> = pending
            .iter()
            .map(|p| {
                (
                    (p.metadata.namespace.as_str(), p.metadata.name.as_str()),
                    *p,
                )
            })
            .collect();
        let claims = super::claims::ClaimPlan::new(&self.store, &pending);
        // 10,000 pods against 1,000 nodes is most of a second of one core.
        let mut outcomes = crate::starvation::compute(|| schedule(&claims.pods, &nodes, &bound));
        outcomes.extend(claims.blocked.iter().cloned());
        for outcome in outcomes {
            let (ns, name) = match &outcome {
                Outcome::Bind {
                    namespace, name, ..
                }
                | Outcome::Unschedulable {
                    namespace, name, ..
                } => (namespace, name),
            };
            let Some(pod) = by_key.get(&(ns.as_str(), name.as_str())) else {
                continue;
            };
            let mut pod = (*pod).clone();
            let mut ops = Vec::new();
            let mut event = None;
            let rv = pod.metadata.revision();
            let mut status = pod.status.clone().unwrap_or_default();
            let condition = match &outcome {
                Outcome::Bind { node, .. } => {
                    pod.spec.node_name = Some(node.clone());
                    ops.extend(claims.bind_ops(ns, name, node));
                    ops.push(Op::Update {
                        object: pod.clone().into(),
                        expected_revision: Some(rv),
                    });
                    Condition {
                        type_: "PodScheduled".into(),
                        status: "True".into(),
                        ..Default::default()
                    }
                }
                Outcome::Unschedulable { message, .. } => Condition {
                    type_: "PodScheduled".into(),
                    status: "False".into(),
                    reason: Some("Unschedulable".into()),
                    message: Some(message.as_str().into()),
                    ..Default::default()
                },
            };
            let bind = matches!(outcome, Outcome::Bind { .. });
            if set_condition(&mut status.conditions, condition, &now) || bind {
                let (type_, reason, message) = match &outcome {
                    Outcome::Bind { node, .. } => (
                        NORMAL,
                        "Scheduled",
                        format!("Successfully assigned {ns}/{name} to {node}"),
                    ),
                    Outcome::Unschedulable { message, .. } => {
                        (WARNING, "FailedScheduling", message.clone())
                    }
                };
                let about = ObjectReference::to(&Object::Pod(pod.clone()));
                event = Some(Event::about(about, type_, reason, message, COMPONENT));
                pod.status = Some(status);
                ops.push(Op::UpdateStatus {
                    object: pod.into(),
                    expected_revision: (!bind).then_some(rv),
                });
            }
            if !ops.is_empty() {
                planned.push((ops, event, bind));
            }
        }
        // A large batch goes in several entries, each binding whole pods, proposed together.
        let entries = in_entries(planned)
            .map(|entry| {
                let bound = entry.iter().filter(|(_, _, bind)| *bind).count();
                let mut ops = Vec::new();
                let mut events = Vec::new();
                for (pod_ops, event, _) in entry {
                    ops.extend(pod_ops);
                    events.extend(event);
                }
                (Command { ops }, (bound, events))
            })
            .collect();
        propose_entries(&self.store, entries, |(bound, events)| {
            for e in events {
                self.events.record(e);
            }
            if bound > 0 {
                info!(pods = bound, "bound pods");
            }
        })
        .await
    }
}
