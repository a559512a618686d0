//! Server-side `apply`: create the object, or update it when what the user manages changed.
use std::sync::Arc;

use bosun_shared::Object;
use bosun_shared::ToCompactString;

use crate::store::{Store, StoreError};

/// What `apply` did, as kubectl prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Configured,
    Unchanged,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Configured => "configured",
            Outcome::Unchanged => "unchanged",
        }
    }
}

/// Conflicting concurrent writers are retried this many times.
const APPLY_RETRIES: usize = 5;

/// Creates `desired` or brings the stored object's labels, annotations and spec in line with it.
/// With `dry_run`, answers what would be stored and the outcome, and writes nothing.
pub async fn apply(
    store: &Store,
    desired: Object,
    dry_run: bool,
) -> Result<(Arc<Object>, Outcome), StoreError> {
    for _ in 0..APPLY_RETRIES {
        let m = desired.meta();
        let current = store.get(desired.kind(), &m.namespace, &m.name);
        if dry_run {
            return Ok(match current {
                None => (Arc::new(desired), Outcome::Created),
                Some(current) => {
                    let merged = merge(&current, &desired)?;
                    if same_managed_fields(&current, &merged) {
                        (current, Outcome::Unchanged)
                    } else {
                        (Arc::new(merged), Outcome::Configured)
                    }
                }
            });
        }
        let Some(current) = current else {
            match store.create(desired.clone()).await {
                Ok(o) => return Ok((o, Outcome::Created)),
                Err(StoreError::AlreadyExists(_)) => continue,
                Err(e) => return Err(e),
            }
        };
        let merged = merge(&current, &desired)?;
        if same_managed_fields(&current, &merged) {
            return Ok((current, Outcome::Unchanged));
        }
        match store.update(merged, Some(current.meta().revision())).await {
            Ok(o) => return Ok((o, Outcome::Configured)),
            Err(StoreError::Conflict { .. } | StoreError::NotFound(_)) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(StoreError::Unavailable(format!(
        "{}: kept changing while being applied; try again",
        desired.describe()
    )))
}

/// A bound claim stays bound where it is: its node and volume are the scheduler's, whatever
/// a client writes (moving them would orphan the data on the old node).
pub fn keep_claim_binding(
    current: &bosun_shared::pvc::PersistentVolumeClaim,
    new: &mut bosun_shared::pvc::PersistentVolumeClaim,
) {
    if let Some(node) = current.node() {
        new.metadata.annotations.insert(
            bosun_shared::pvc::SELECTED_NODE.into(),
            node.to_compact_string(),
        );
        new.spec.volume_name = current.spec.volume_name.clone();
    }
}

/// The desired object with the server-managed fields of `current` kept.
fn merge(current: &Object, desired: &Object) -> Result<Object, StoreError> {
    let mut out = desired.clone();
    {
        let (cm, om) = (current.meta(), out.meta_mut());
        om.uid = cm.uid.clone();
        om.creation_timestamp = cm.creation_timestamp.clone();
        om.resource_version = cm.resource_version.clone();
        om.generation = cm.generation;
        if om.owner_references.is_empty() {
            om.owner_references = cm.owner_references.clone();
        }
    }
    match (current, &mut out) {
        (Object::Pod(cur), Object::Pod(new)) => {
            // The scheduler owns nodeName; a manifest without one keeps the binding.
            if new.spec.node_name.is_none() {
                new.spec.node_name = cur.spec.node_name.clone();
            }
            if new.spec != cur.spec {
                return Err(StoreError::Invalid {
                    object: current.describe(),
                    message: "a pod's spec cannot be changed once created; delete and re-create it, or run it from a Deployment".into(),
                });
            }
        }
        // The binding is the scheduler's and stays; a bound claim's size and modes stay too
        // (its volume exists).
        (Object::PersistentVolumeClaim(cur), Object::PersistentVolumeClaim(new))
            if cur.node().is_some() =>
        {
            keep_claim_binding(cur, new);
            if new.spec.resources != cur.spec.resources
                || new.spec.access_modes != cur.spec.access_modes
            {
                return Err(StoreError::Invalid {
                    object: current.describe(),
                    message: "a bound claim's size and access modes cannot change: Bosun's local volumes cannot be resized".into(),
                });
            }
        }
        (Object::Node(cur), Object::Node(new)) => {
            // Labels the agent registered stay unless the manifest sets them.
            for (k, v) in &cur.metadata.labels {
                new.metadata
                    .labels
                    .entry(k.clone())
                    .or_insert_with(|| v.clone());
            }
        }
        (Object::Job(cur), Object::Job(new)) => {
            // As in Kubernetes: what a Job runs is fixed once it exists.
            let immutable = [
                ("spec.template", new.spec.template != cur.spec.template),
                (
                    "spec.completions",
                    new.spec.completions != cur.spec.completions,
                ),
                (
                    "spec.completionMode",
                    new.spec.completion_mode != cur.spec.completion_mode,
                ),
            ];
            if let Some((field, _)) = immutable.iter().find(|(_, changed)| *changed) {
                return Err(StoreError::Invalid {
                    object: current.describe(),
                    message: format!("{field}: Invalid value: field is immutable"),
                });
            }
        }
        _ => {}
    }
    out.take_status_from(current);
    Ok(out)
}

fn same_managed_fields(a: &Object, b: &Object) -> bool {
    let (am, bm) = (a.meta(), b.meta());
    am.labels == bm.labels
        && am.annotations == bm.annotations
        && am.owner_references == bm.owner_references
        && a.spec_json() == b.spec_json()
}
