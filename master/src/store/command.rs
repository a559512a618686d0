//! [`Command`]: the batch of operations one Raft entry carries, and its deterministic apply.
//!
//! Applying a command uses nothing but the command, the current objects and the entry's index:
//! no clock and no randomness, so every replica computes the same objects and revisions.
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use bosun_shared::{Kind, Object, ToCompactString};
use serde::{Deserialize, Serialize};

use super::encoded::{Encoded, Stored};
use super::error::StoreError;
use super::key::{key_of, ObjectKey};

/// One write in a [`Command`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Create; fails if the object exists. uid and creationTimestamp are stamped by the proposer.
    Create(Object),
    /// Replace metadata and spec (status is kept); with `expected_revision`, only if it matches.
    Update {
        object: Object,
        expected_revision: Option<u64>,
    },
    /// Replace only the status; with `expected_revision`, only if it matches.
    UpdateStatus {
        object: Object,
        expected_revision: Option<u64>,
    },
    /// Remove; with `expected_uid`, only that incarnation of the object. `grace_seconds`
    /// (a pod's stop grace chosen at deletion) is recorded on the deleted object.
    Delete {
        kind: Kind,
        namespace: String,
        name: String,
        expected_uid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grace_seconds: Option<i64>,
        /// Graceful deletion of a pod, stamped by the proposer: a pod that runs on a Ready
        /// node is marked terminating (`deletionTimestamp`) at this time and removed once its
        /// agent has stopped it; any other object, or without it, is removed at once.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        terminate_at: Option<bosun_shared::CompactString>,
    },
}

impl Op {
    /// Removes exactly this incarnation (by uid) of an object of `kind`, at once: no grace.
    pub fn remove(kind: Kind, meta: &bosun_shared::meta::ObjectMeta) -> Op {
        Op::Delete {
            kind,
            namespace: meta.namespace.to_string(),
            name: meta.name.to_string(),
            expected_uid: Some(meta.uid.to_string()),
            grace_seconds: None,
            terminate_at: None,
        }
    }
}

/// Operations applied all-or-nothing in one Raft entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub ops: Vec<Op>,
}

impl Command {
    pub fn encode(&self) -> Vec<u8> {
        // Plain data (objects, strings, numbers) always serializes to JSON.
        serde_json::to_vec(self).expect("commands serialize to JSON")
    }

    pub fn decode(bytes: &[u8]) -> Result<Command, StoreError> {
        serde_json::from_slice(bytes)
            .map_err(|e| StoreError::Internal(format!("bad command in log: {e}")))
    }
}

/// What a watch sees of one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change applied at `revision`. The object is shared: the store, its history, every
/// watcher and the proposer's reply hold the same copy.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub event: EventType,
    pub object: Arc<Object>,
    pub revision: u64,
    /// The object's JSON, encoded once; the store's map holds the same cell.
    pub encoded: Encoded,
}

impl Change {
    pub fn new(event: EventType, object: Arc<Object>, revision: u64) -> Self {
        Change {
            event,
            object,
            revision,
            encoded: Encoded::default(),
        }
    }

    /// The object's JSON, encoded by the first who asks.
    pub fn json(&self) -> bytes::Bytes {
        self.encoded.json(&self.object)
    }

    /// The object's JSON, not kept if nobody encoded it before ([`Encoded::json_unkept`]).
    pub fn json_unkept(&self) -> bytes::Bytes {
        self.encoded.json_unkept(&self.object)
    }

    /// The version as the store's map holds it (the same encoding cell).
    pub fn stored(&self) -> Stored {
        Stored {
            object: self.object.clone(),
            encoded: self.encoded.clone(),
        }
    }
}

/// Computes the changes of `cmd` at `revision` against `objects` without modifying them.
/// Either every op succeeds or the first failure is returned.
pub fn plan(
    objects: &BTreeMap<ObjectKey, Stored>,
    cmd: Command,
    revision: u64,
) -> Result<Vec<Change>, StoreError> {
    // Later ops of the batch see the effect of earlier ones.
    let mut overlay: HashMap<ObjectKey, Option<Arc<Object>>> = HashMap::new();
    let mut changes = Vec::with_capacity(cmd.ops.len());
    for op in cmd.ops {
        let key = match &op {
            Op::Create(o) | Op::Update { object: o, .. } | Op::UpdateStatus { object: o, .. } => {
                key_of(o)
            }
            Op::Delete {
                kind,
                namespace,
                name,
                ..
            } => ObjectKey::new(*kind, namespace, name),
        };
        let current = match overlay.get(&key) {
            Some(o) => o.clone(),
            None => objects.get(&key).map(|s| s.object.clone()),
        };
        let node_ready = |name: &str| {
            let key = ObjectKey::new(Kind::Node, "", name);
            let node = match overlay.get(&key) {
                Some(o) => o.clone(),
                None => objects.get(&key).map(|s| s.object.clone()),
            };
            node.is_some_and(|n| n.as_node().is_some_and(|n| n.is_ready()))
        };
        let change = apply_op(op, current, revision, &node_ready)?;
        overlay.insert(
            key,
            (change.event != EventType::Deleted).then(|| change.object.clone()),
        );
        changes.push(change);
    }
    Ok(changes)
}

fn check_revision(current: &Object, expected: Option<u64>) -> Result<(), StoreError> {
    match expected {
        Some(exp) if exp != current.meta().revision() => Err(StoreError::Conflict {
            object: current.describe(),
            expected: exp,
            actual: current.meta().revision(),
        }),
        _ => Ok(()),
    }
}

fn kind_mismatch(object: &Object) -> StoreError {
    StoreError::Invalid {
        object: object.describe(),
        message: "kind does not match the stored object".into(),
    }
}

/// Whether a deleted pod waits for its agent: it runs (bound, not finished) on a Ready node.
fn terminates_gracefully(pod: &Object, node_ready: &dyn Fn(&str) -> bool) -> bool {
    pod.as_pod().is_some_and(|p| {
        !p.phase().is_terminal() && p.spec.node_name.as_deref().is_some_and(node_ready)
    })
}

fn apply_op(
    op: Op,
    current: Option<Arc<Object>>,
    revision: u64,
    node_ready: &dyn Fn(&str) -> bool,
) -> Result<Change, StoreError> {
    let rv = revision.to_compact_string();
    match op {
        Op::Create(obj) => {
            if let Some(cur) = current {
                return Err(StoreError::AlreadyExists(cur.describe()));
            }
            let mut o = obj;
            o.set_type_meta();
            let m = o.meta_mut();
            m.resource_version = rv;
            m.generation = 1;
            if m.uid.is_empty() {
                // Deterministic fallback; the API stamps a random uid before proposing.
                m.uid = bosun_shared::format_compact!("rev-{revision}-{}", m.name);
            }
            Ok(Change::new(EventType::Added, Arc::new(o), revision))
        }
        Op::Update {
            object,
            expected_revision,
        } => {
            let cur = current.ok_or_else(|| StoreError::NotFound(object.describe()))?;
            check_revision(&cur, expected_revision)?;
            let mut o = object;
            o.set_type_meta();
            if !o.take_status_from(&cur) {
                return Err(kind_mismatch(&o));
            }
            let spec_changed = o.spec_json() != cur.spec_json();
            let (old, m) = (cur.meta(), o.meta_mut());
            m.uid = old.uid.clone();
            m.creation_timestamp = old.creation_timestamp.clone();
            m.generation = old.generation + i64::from(spec_changed);
            m.resource_version = rv;
            Ok(Change::new(EventType::Modified, Arc::new(o), revision))
        }
        Op::UpdateStatus {
            object,
            expected_revision,
        } => {
            let cur = current.ok_or_else(|| StoreError::NotFound(object.describe()))?;
            check_revision(&cur, expected_revision)?;
            let mut cur = Arc::unwrap_or_clone(cur);
            if !cur.take_status_from(&object) {
                return Err(kind_mismatch(&object));
            }
            cur.meta_mut().resource_version = rv;
            Ok(Change::new(EventType::Modified, Arc::new(cur), revision))
        }
        Op::Delete {
            kind,
            namespace,
            name,
            expected_uid,
            grace_seconds,
            terminate_at,
        } => {
            let cur = current.ok_or_else(|| StoreError::not_found(kind, &namespace, &name))?;
            if let Some(uid) = expected_uid {
                if uid != cur.meta().uid {
                    return Err(StoreError::NotFound(format!(
                        "{} with uid {uid}",
                        cur.describe()
                    )));
                }
            }
            let graceful = terminate_at.filter(|_| terminates_gracefully(&cur, node_ready));
            let mut cur = Arc::unwrap_or_clone(cur);
            let m = cur.meta_mut();
            m.resource_version = rv;
            // A shorter grace chosen later replaces a longer one (as `kubectl delete` does).
            if grace_seconds
                .is_some_and(|g| m.deletion_grace_period_seconds.is_none_or(|old| g < old))
            {
                m.deletion_grace_period_seconds = grace_seconds;
            }
            let event = match graceful {
                Some(at) => {
                    // Terminating: the first deletion's time stays.
                    m.deletion_timestamp.get_or_insert(at);
                    EventType::Modified
                }
                None => EventType::Deleted,
            };
            Ok(Change::new(event, Arc::new(cur), revision))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::pod::{Pod, PodPhase, PodStatus};

    fn pod(name: &str) -> Object {
        let mut p = Pod::default();
        p.metadata.name = name.into();
        p.metadata.namespace = "default".into();
        p.metadata.uid = format!("uid-{name}").into();
        p.into()
    }

    fn store_with(changes: Vec<Change>) -> BTreeMap<ObjectKey, Stored> {
        changes
            .into_iter()
            .map(|c| (key_of(&c.object), c.stored()))
            .collect()
    }

    #[test]
    fn create_stamps_revision_and_generation() {
        let objects = BTreeMap::new();
        let ch = plan(
            &objects,
            Command {
                ops: vec![Op::Create(pod("a"))],
            },
            7,
        )
        .unwrap();
        assert_eq!(ch[0].object.meta().resource_version, "7");
        assert_eq!(ch[0].object.meta().generation, 1);
        assert_eq!(ch[0].event, EventType::Added);
    }

    #[test]
    fn batch_is_all_or_nothing() {
        let objects = store_with(
            plan(
                &BTreeMap::new(),
                Command {
                    ops: vec![Op::Create(pod("a"))],
                },
                1,
            )
            .unwrap(),
        );
        let cmd = Command {
            ops: vec![Op::Create(pod("b")), Op::Create(pod("a"))],
        };
        assert!(matches!(
            plan(&objects, cmd, 2),
            Err(StoreError::AlreadyExists(_))
        ));
    }

    #[test]
    fn update_checks_revision_and_bumps_generation_on_spec_change() {
        let objects = store_with(
            plan(
                &BTreeMap::new(),
                Command {
                    ops: vec![Op::Create(pod("a"))],
                },
                1,
            )
            .unwrap(),
        );
        let mut changed = pod("a");
        if let Object::Pod(p) = &mut changed {
            p.spec.node_name = Some("n1".into());
        }
        let stale = Op::Update {
            object: changed.clone(),
            expected_revision: Some(9),
        };
        assert!(matches!(
            plan(&objects, Command { ops: vec![stale] }, 2),
            Err(StoreError::Conflict {
                expected: 9,
                actual: 1,
                ..
            })
        ));
        let ok = Op::Update {
            object: changed,
            expected_revision: Some(1),
        };
        let ch = plan(&objects, Command { ops: vec![ok] }, 2).unwrap();
        assert_eq!(ch[0].object.meta().generation, 2);
        assert_eq!(ch[0].object.meta().resource_version, "2");
    }

    #[test]
    fn status_update_keeps_spec_and_later_ops_see_earlier_ones() {
        let objects = BTreeMap::new();
        let mut with_status = pod("a");
        if let Object::Pod(p) = &mut with_status {
            p.status = Some(PodStatus {
                phase: PodPhase::Running,
                ..Default::default()
            });
        }
        let cmd = Command {
            ops: vec![
                Op::Create(pod("a")),
                Op::UpdateStatus {
                    object: with_status,
                    expected_revision: None,
                },
            ],
        };
        let ch = plan(&objects, cmd, 3).unwrap();
        assert_eq!(ch[1].object.as_pod().unwrap().phase(), PodPhase::Running);
    }

    #[test]
    fn a_grace_period_chosen_at_deletion_is_on_the_deleted_object() {
        let objects = store_with(
            plan(
                &BTreeMap::new(),
                Command {
                    ops: vec![Op::Create(pod("a"))],
                },
                1,
            )
            .unwrap(),
        );
        let delete = |grace_seconds| Op::Delete {
            kind: Kind::Pod,
            namespace: "default".into(),
            name: "a".into(),
            expected_uid: None,
            grace_seconds,
            terminate_at: None,
        };
        let ch = plan(
            &objects,
            Command {
                ops: vec![delete(Some(1))],
            },
            2,
        )
        .unwrap();
        assert_eq!(ch[0].event, EventType::Deleted);
        assert_eq!(ch[0].object.meta().deletion_grace_period_seconds, Some(1));
        let ch = plan(
            &objects,
            Command {
                ops: vec![delete(None)],
            },
            2,
        )
        .unwrap();
        assert_eq!(ch[0].object.meta().deletion_grace_period_seconds, None);
        // Commands logged before the field existed still decode.
        let old = br#"{"ops":[{"Delete":{"kind":"Pod","namespace":"default","name":"a","expected_uid":null}}]}"#;
        assert_eq!(Command::decode(old).unwrap().ops, vec![delete(None)]);
    }

    #[test]
    fn delete_of_missing_object_is_not_found() {
        let op = Op::Delete {
            kind: Kind::Pod,
            namespace: "default".into(),
            name: "x".into(),
            expected_uid: None,
            grace_seconds: None,
            terminate_at: None,
        };
        let err = plan(&BTreeMap::new(), Command { ops: vec![op] }, 1).unwrap_err();
        assert_eq!(err.to_string(), "pods \"x\" not found");
    }

    #[test]
    fn a_running_pod_on_a_ready_node_terminates_and_anything_else_goes_at_once() {
        use bosun_shared::meta::Condition;
        use bosun_shared::node::{Node, NodeStatus};
        let ready = |name: &str, ready: bool| -> Object {
            let mut n = Node::default();
            n.metadata.name = name.into();
            n.status = Some(NodeStatus {
                conditions: vec![Condition {
                    type_: "Ready".into(),
                    status: if ready { "True" } else { "Unknown" }.into(),
                    ..Default::default()
                }],
                ..Default::default()
            });
            n.into()
        };
        let on = |name: &str, node: &str, phase: PodPhase| -> Object {
            let mut o = pod(name);
            if let Object::Pod(p) = &mut o {
                p.spec.node_name = Some(node.into());
                p.status = Some(PodStatus {
                    phase,
                    ..Default::default()
                });
            }
            o
        };
        let create = [
            ready("up", true),
            ready("down", false),
            on("runs", "up", PodPhase::Running),
            on("lost", "down", PodPhase::Running),
            on("done", "up", PodPhase::Succeeded),
            pod("unbound"),
        ];
        let ops = create.into_iter().map(Op::Create).collect();
        let objects = store_with(plan(&BTreeMap::new(), Command { ops }, 1).unwrap());
        let delete = |name: &str, grace: Option<i64>, at: Option<&str>| Op::Delete {
            kind: Kind::Pod,
            namespace: "default".into(),
            name: name.into(),
            expected_uid: None,
            grace_seconds: grace,
            terminate_at: at.map(Into::into),
        };
        let t1 = Some("2026-12-06T00:00:01Z");
        let event = |name: &str, at| {
            plan(
                &objects,
                Command {
                    ops: vec![delete(name, None, at)],
                },
                2,
            )
            .unwrap()[0]
                .event
        };
        assert_eq!(event("runs", t1), EventType::Modified, "terminating");
        assert_eq!(event("runs", None), EventType::Deleted, "the final removal");
        assert_eq!(
            event("lost", t1),
            EventType::Deleted,
            "no agent to wait for"
        );
        assert_eq!(event("done", t1), EventType::Deleted, "nothing runs");
        assert_eq!(event("unbound", t1), EventType::Deleted);

        // A second deletion keeps the first time and takes a shorter grace.
        let first = plan(
            &objects,
            Command {
                ops: vec![delete("runs", Some(30), t1)],
            },
            2,
        );
        let mut objects = objects.clone();
        objects.extend(store_with(first.unwrap()));
        let again = delete("runs", Some(5), Some("2026-12-06T00:00:09Z"));
        let ch = plan(&objects, Command { ops: vec![again] }, 3).unwrap();
        let m = ch[0].object.meta();
        assert_eq!(ch[0].event, EventType::Modified);
        assert_eq!(m.deletion_timestamp.as_deref(), t1);
        assert_eq!(m.deletion_grace_period_seconds, Some(5));
    }
}
