//! PersistentVolumeClaims in scheduling: a pending pod that uses claims is held while one is
//! missing, pinned to the node its bound claims are on, and when it is bound to a node its
//! unbound claims are bound there too, in the same Raft entry (Kubernetes'
//! `WaitForFirstConsumer` for local volumes). Two pods that wait for one unbound claim are
//! not scheduled in the same pass, so a claim is never bound twice.
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use bosun_shared::pod::Pod;
use bosun_shared::pvc::PersistentVolumeClaim;
use bosun_shared::{CompactString, Kind, Object};

use crate::scheduler::Outcome;
use crate::store::{Op, Store};

/// The label every node carries with its name.
const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";

/// What the pending pods' claims ask of one scheduling pass.
#[derive(Default)]
pub struct ClaimPlan<'a> {
    /// The pods to schedule: borrowed, or copies pinned to the node of their bound claims.
    pub pods: Vec<Cow<'a, Pod>>,
    /// Pods that cannot be scheduled because of their claims.
    pub blocked: Vec<Outcome>,
    /// Unbound claims each pod will bind, by pod (namespace, name).
    binds: HashMap<(CompactString, CompactString), Vec<Arc<Object>>>,
}

fn claims_of(p: &Pod) -> BTreeSet<String> {
    p.spec
        .volumes
        .iter()
        .filter_map(|v| v.persistent_volume_claim.as_ref())
        .map(|c| c.claim_name.clone())
        .collect()
}

impl<'a> ClaimPlan<'a> {
    pub fn new(store: &Store, pending: &[&'a Pod]) -> ClaimPlan<'a> {
        let mut plan = ClaimPlan::default();
        let mut reserved: BTreeSet<(CompactString, CompactString)> = BTreeSet::new();
        'pods: for &pod in pending {
            let names = claims_of(pod);
            if names.is_empty() {
                plan.pods.push(Cow::Borrowed(pod));
                continue;
            }
            let ns = pod.metadata.namespace.clone();
            let mut nodes = BTreeSet::new();
            let mut unbound = Vec::new();
            for name in &names {
                let claim = store.get(Kind::PersistentVolumeClaim, &ns, name);
                let Some(c) = claim.as_deref().and_then(Object::as_claim) else {
                    plan.blocked.push(blocked(
                        pod,
                        format!("persistentvolumeclaim \"{name}\" not found"),
                    ));
                    continue 'pods;
                };
                match c.node() {
                    Some(n) => {
                        nodes.insert(n.to_string());
                    }
                    None => {
                        if reserved.contains(&(ns.clone(), name.into())) {
                            // Another pod binds it in this pass; this one waits for the next.
                            continue 'pods;
                        }
                        unbound.push(claim.clone().expect("claim found above"));
                    }
                }
            }
            if nodes.len() > 1 {
                let list: Vec<String> = nodes.into_iter().collect();
                plan.blocked.push(blocked(
                    pod,
                    format!(
                        "its persistentvolumeclaims are bound to different nodes: {}",
                        list.join(", ")
                    ),
                ));
                continue;
            }
            for c in &unbound {
                reserved.insert((ns.clone(), c.meta().name.clone()));
            }
            let key = (ns, pod.metadata.name.clone());
            plan.binds.insert(key, unbound);
            let mut pod = Cow::Borrowed(pod);
            if let Some(node) = nodes.into_iter().next() {
                pod.to_mut()
                    .spec
                    .node_selector
                    .insert(HOSTNAME_LABEL.into(), node.into());
            }
            plan.pods.push(pod);
        }
        plan
    }

    /// The writes that bind pod `namespace/name`'s unbound claims to `node`.
    pub fn bind_ops(&self, namespace: &str, name: &str, node: &str) -> Vec<Op> {
        let Some(claims) = self.binds.get(&(namespace.into(), name.into())) else {
            return Vec::new();
        };
        let mut ops = Vec::new();
        for o in claims {
            let Some(c) = o.as_claim() else { continue };
            let bound: PersistentVolumeClaim = c.bound_to(node);
            ops.push(Op::Update {
                object: bound.clone().into(),
                expected_revision: Some(c.metadata.revision()),
            });
            ops.push(Op::UpdateStatus {
                object: bound.into(),
                expected_revision: None,
            });
        }
        ops
    }
}

fn blocked(p: &Pod, message: String) -> Outcome {
    Outcome::Unschedulable {
        namespace: p.metadata.namespace.clone(),
        name: p.metadata.name.clone(),
        message,
    }
}
