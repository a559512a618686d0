//! What the controllers that own pods share: finding the pods an object controls, choosing
//! which pods go first, the delete operation, and Kubernetes-style generated names.
use std::sync::Arc;

use bosun_shared::meta::{ObjectMeta, OwnerReference};
use bosun_shared::pod::Pod;
use bosun_shared::{Kind, Object};

use crate::store::{Op, Store};

/// Objects of `kind` in `namespace` whose controller has uid `owner`.
pub fn controlled(store: &Store, kind: Kind, namespace: &str, owner: &str) -> Vec<Arc<Object>> {
    store
        .select(kind, Some(namespace), |o| {
            o.meta().controller().is_some_and(|c| c.uid == owner)
        })
        .0
}

/// Unscheduled, then not ready, then the newest: the order in which pods are least missed.
pub fn least_useful_first(mut pods: Vec<&Pod>) -> Vec<&Pod> {
    pods.sort_by_key(|p| {
        (
            p.spec.node_name.is_some(),
            p.is_ready(),
            std::cmp::Reverse(p.metadata.creation_timestamp.clone()),
        )
    });
    pods
}

/// Deletes exactly this incarnation (by uid) of an object of `kind`; a running pod
/// terminates gracefully ([`graceful`]).
pub fn delete_of(kind: Kind, meta: &ObjectMeta) -> Op {
    let mut op = Op::remove(kind, meta);
    if let Op::Delete { terminate_at, .. } = &mut op {
        *terminate_at = graceful(kind);
    }
    op
}

/// The `terminate_at` of a deletion proposed now: pods wait for their agent to stop them.
pub fn graceful(kind: Kind) -> Option<String> {
    (kind == Kind::Pod).then(bosun_shared::time::now_rfc3339)
}

/// Deletes exactly this incarnation of the pod.
pub fn delete_op(p: &Pod) -> Op {
    delete_of(Kind::Pod, &p.metadata)
}

/// The owner reference a controller puts on what it creates.
pub fn controller_ref(kind: Kind, meta: &ObjectMeta) -> OwnerReference {
    OwnerReference {
        api_version: kind.api_version().into(),
        kind: kind.as_str().into(),
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        controller: Some(true),
    }
}

/// Characters Kubernetes uses in generated names (no vowels, no look-alikes).
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// `v` written with [`SAFE`] characters, `len` of them.
pub fn encode_safe(mut v: u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            let c = SAFE[(v % SAFE.len() as u64) as usize] as char;
            v /= SAFE.len() as u64;
            c
        })
        .collect()
}

/// A stable hash of a pod template (FNV-1a over its JSON), as 10 [`SAFE`] characters.
pub fn template_hash(t: &bosun_shared::deployment::PodTemplateSpec) -> String {
    let json = serde_json::to_vec(t).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    encode_safe(h, 10)
}

/// Five random [`SAFE`] characters, the suffix of a generated pod name.
pub fn random_suffix() -> String {
    encode_safe(uuid::Uuid::new_v4().as_u128() as u64, 5)
}
