//! Delete with kubectl's `--cascade` choices. `background` deletes the object alone (the
//! garbage collector follows). `foreground` deletes the object and everything it owns,
//! transitively, in one write. `orphan` deletes it and, in the same write, removes its owner
//! reference from the objects it owned, which stay. A grace period (`--grace-period`) goes
//! with every pod the write deletes.
use std::collections::HashSet;
use std::sync::Arc;

use bosun_shared::meta::Propagation;
use bosun_shared::{CompactString, Kind, Object};

use crate::controllers::gc::DEPENDENT_KINDS;
use crate::controllers::pods::delete_of;
use crate::store::{Command, Op, Store, StoreError};

/// Attempts when a dependent changes between the read and the write.
const RETRIES: usize = 5;

pub async fn delete(
    store: &Store,
    kind: Kind,
    ns: &str,
    name: &str,
    how: Propagation,
    grace: Option<i64>,
) -> Result<Arc<Object>, StoreError> {
    let delete = |o: &Object| with_grace(delete_op(o), grace);
    if how == Propagation::Background {
        return store
            .propose_one(with_grace(
                Op::Delete {
                    kind,
                    namespace: ns.to_string(),
                    name: name.to_string(),
                    expected_uid: None,
                    grace_seconds: None,
                    terminate_at: crate::controllers::pods::graceful(kind),
                },
                grace,
            ))
            .await;
    }
    for _ in 0..RETRIES {
        let owner = store
            .get(kind, ns, name)
            .ok_or_else(|| StoreError::not_found(kind, ns, name))?;
        let mut ops = match how {
            Propagation::Orphan => orphan_ops(store, &owner),
            _ => dependents(store, &owner)
                .iter()
                .map(|o| delete(o))
                .collect(),
        };
        ops.push(delete(&owner));
        match store.propose(Command { ops }).await {
            Ok(mut written) => {
                return written
                    .pop()
                    .ok_or_else(|| StoreError::Internal("delete applied without a result".into()))
            }
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable(format!(
        "{}: what it owns kept changing while it was deleted; try again",
        bosun_shared::object::object_name(kind, ns, name)
    )))
}

/// Everything `owner` controls, transitively (ReplicaSets of a Deployment and their pods).
fn dependents(store: &Store, owner: &Object) -> Vec<Arc<Object>> {
    let ns = owner.meta().namespace.clone();
    let mut owners: HashSet<CompactString> = HashSet::from([owner.meta().uid.clone()]);
    let mut found: Vec<Arc<Object>> = Vec::new();
    // DEPENDENT_KINDS lists owners before what they own, so one pass in that order suffices.
    for kind in DEPENDENT_KINDS {
        let (objs, _) = store.select(kind, Some(&ns), |o| {
            o.meta()
                .controller()
                .is_some_and(|c| owners.contains(&c.uid))
        });
        owners.extend(objs.iter().map(|o| o.meta().uid.clone()));
        found.extend(objs);
    }
    found
}

/// Updates that remove `owner` from the owner references of what it owns directly.
fn orphan_ops(store: &Store, owner: &Object) -> Vec<Op> {
    let uid = &owner.meta().uid;
    let mut ops = Vec::new();
    for kind in DEPENDENT_KINDS {
        let (objs, _) = store.select(kind, Some(&owner.meta().namespace), |o| {
            o.meta().owner_references.iter().any(|r| r.uid == uid)
        });
        for o in objs {
            let mut freed = (*o).clone();
            freed.meta_mut().owner_references.retain(|r| r.uid != uid);
            ops.push(Op::Update {
                expected_revision: Some(o.meta().revision()),
                object: freed,
            });
        }
    }
    ops
}

fn delete_op(o: &Object) -> Op {
    delete_of(o.kind(), o.meta())
}

/// `op` with the stop grace `grace` when it deletes a pod.
fn with_grace(mut op: Op, grace: Option<i64>) -> Op {
    if let Op::Delete {
        kind: Kind::Pod,
        grace_seconds,
        ..
    } = &mut op
    {
        *grace_seconds = grace;
    }
    op
}
