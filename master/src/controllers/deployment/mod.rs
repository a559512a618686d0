//! The Deployment controller: one ReplicaSet per template, scaled by the strategy.
//!
//! The ReplicaSet of the current template is named `<deployment>-<hash>` (`hash` a stable
//! hash of the template, also the pods' `pod-template-hash` label) and carries the revision
//! annotation `deployment.kubernetes.io/revision`: a new template, or going back to an old one
//! (`rollout undo`), gets the next revision. [`rollout`] decides the replica counts (rolling
//! update within `maxSurge`/`maxUnavailable`, or recreate); the ReplicaSet controller makes
//! the pods. Old ReplicaSets scaled to zero are the revision history, of which
//! `revisionHistoryLimit` (default 10) are kept. The status carries Kubernetes' `Available`
//! and `Progressing` conditions ([`status`]). Changes of the Deployment, of its ReplicaSets
//! and of their pods wake the controller, so each pod that becomes ready moves a rollout on.
mod rollout;
mod status;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use bosun_shared::deployment::Deployment;
use bosun_shared::event::NORMAL;
use bosun_shared::meta::ObjectMeta;
use bosun_shared::pod::Pod;
use bosun_shared::replicaset::{
    ReplicaSet, ReplicaSetSpec, CHANGE_CAUSE_ANNOTATION, REVISION_ANNOTATION, TEMPLATE_HASH_LABEL,
};
use bosun_shared::{CompactString, Kind, Object, ToCompactString};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::pods::{controlled, controller_ref, delete_of, delete_op};
use super::queue::{all_keys, reconcile_loop, Key};
use crate::store::{Change, Command, Op, Store, StoreError};
use rollout::Group;

/// Kubernetes' default `revisionHistoryLimit`.
const DEFAULT_HISTORY_LIMIT: usize = 10;

/// Reporter of this controller's events.
const COMPONENT: &str = "deployment-controller";

pub struct DeploymentController {
    pub store: Store,
    pub events: crate::events::Recorder,
}

impl DeploymentController {
    pub async fn run(self, shutdown: CancellationToken) {
        let keys_of = |c: &Change| self.deployment_of(c);
        reconcile_loop(
            "deployment",
            &self.store,
            &shutdown,
            keys_of,
            || all_keys(&self.store, Kind::Deployment),
            |key| {
                let this = &self;
                async move { this.reconcile(key).await.map(|()| None) }
            },
        )
        .await;
    }

    /// The Deployment a change concerns: itself, the owner of a ReplicaSet, or the owner of
    /// the ReplicaSet of a pod.
    fn deployment_of(&self, c: &Change) -> Option<Key> {
        let meta = c.object.meta();
        let ns = meta.namespace.clone();
        match &*c.object {
            Object::Deployment(_) => Some((ns, meta.name.clone())),
            Object::ReplicaSet(_) => {
                let owner = meta.controller().filter(|o| o.kind == "Deployment")?;
                Some((ns, owner.name.clone()))
            }
            Object::Pod(_) => {
                let rs = meta.controller().filter(|o| o.kind == "ReplicaSet")?;
                let rs = self.store.get(Kind::ReplicaSet, &ns, &rs.name)?;
                let owner = rs.meta().controller().filter(|o| o.kind == "Deployment")?;
                Some((ns, owner.name.clone()))
            }
            _ => None,
        }
    }

    async fn reconcile(&self, (ns, name): Key) -> Result<(), StoreError> {
        let stored = self.store.get(Kind::Deployment, &ns, &name);
        let Some(Object::Deployment(d)) = stored.as_deref() else {
            return Ok(()); // deleted: the garbage collector removes its ReplicaSets
        };
        let hash = template_hash(d);
        let owned = controlled(&self.store, Kind::ReplicaSet, &ns, &d.metadata.uid);
        let mut sets: Vec<&ReplicaSet> = owned.iter().filter_map(|o| o.as_replica_set()).collect();
        sets.sort_by_key(|r| (r.revision(), r.metadata.creation_timestamp.clone()));
        let uids: HashSet<&str> = sets.iter().map(|r| r.metadata.uid.as_str()).collect();
        // One pass over the namespace's pods for the whole reconcile: those of its
        // ReplicaSets and those it owns itself (perf: three passes per reconcile were the
        // leader's largest task while a 10,000-replica Deployment started).
        let d_uid = d.metadata.uid.as_str();
        let (pods, _) = self.store.select(Kind::Pod, Some(&ns), |o| {
            o.meta()
                .controller()
                .is_some_and(|c| c.uid == d_uid || uids.contains(c.uid.as_str()))
        });
        // The live pods of each ReplicaSet, in one pass over the pods (a Deployment of 10,000
        // replicas is reconciled often while it rolls out).
        let mut live: HashMap<&str, Vec<&Pod>> = HashMap::new();
        for p in pods.iter().filter_map(|o| o.as_pod()) {
            if let Some(c) = p.metadata.controller().filter(|_| !p.phase().is_terminal()) {
                live.entry(c.uid.as_str()).or_default().push(p);
            }
        }
        let group = |rs: &ReplicaSet| {
            let pods = live
                .get(rs.metadata.uid.as_str())
                .map_or(&[][..], Vec::as_slice);
            Group {
                spec: rs.replicas().max(0) as usize,
                pods: pods.len(),
                ready: pods
                    .iter()
                    .filter(|p| p.is_ready() && !p.is_terminating())
                    .count(),
            }
        };
        let current = sets.iter().copied().find(|r| is_of(r, &hash));
        if current.is_none() {
            // A ReplicaSet of this name left by an orphaning delete is adopted, pods and all,
            // as Kubernetes adopts what matches; one controlled by another object is an error.
            let rs_name = format!("{}-{hash}", d.metadata.name);
            if let Some(Object::ReplicaSet(found)) =
                self.store.get(Kind::ReplicaSet, &ns, &rs_name).as_deref()
            {
                if found.metadata.controller().is_some() {
                    return Err(StoreError::AlreadyExists(format!(
                        "ReplicaSet {ns}/{rs_name}, controlled by another object"
                    )));
                }
                let mut adopted = found.clone();
                adopted
                    .metadata
                    .owner_references
                    .push(controller_ref(Kind::Deployment, &d.metadata));
                info!(deployment = %format!("{ns}/{name}"), replicaset = %rs_name, "adopting replica set");
                self.store
                    .propose(Command {
                        ops: vec![update_op(adopted)],
                    })
                    .await?;
                return Ok(());
            }
        }
        let old: Vec<&ReplicaSet> = sets.iter().copied().filter(|r| !is_of(r, &hash)).collect();
        let new_group = current.map(group).unwrap_or_default();
        let old_groups: Vec<Group> = old.iter().map(|r| group(r)).collect();
        let scale = rollout::plan(d.replicas(), &d.spec.strategy, new_group, &old_groups);

        let mut ops = Vec::new();
        // (ReplicaSet, replicas before, after), for the rollout's events.
        let mut scaled: Vec<(String, usize, usize)> = Vec::new();
        let top = sets.iter().map(|r| r.revision()).max().unwrap_or(0);
        let new_rs = match current {
            None => {
                let mut rs = new_replica_set(d, &hash, top + 1, scale.new);
                crate::store::stamp_new(&mut rs);
                scaled.push((rs.meta().name.to_string(), 0, scale.new));
                ops.push(Op::Create(rs.clone()));
                rs
            }
            Some(rs) => {
                let revision = if rs.revision() == top { top } else { top + 1 };
                let mut want = rs.clone();
                want.spec.replicas = Some(scale.new as i32);
                set_revision(&mut want.metadata, d, revision);
                if want != *rs {
                    scaled.push((
                        rs.metadata.name.to_string(),
                        rs.replicas().max(0) as usize,
                        scale.new,
                    ));
                    ops.push(update_op(want.clone()));
                }
                want.into()
            }
        };
        for (rs, spec) in old.iter().zip(&scale.old) {
            if rs.replicas().max(0) as usize != *spec {
                let mut want = (*rs).clone();
                want.spec.replicas = Some(*spec as i32);
                scaled.push((
                    rs.metadata.name.to_string(),
                    rs.replicas().max(0) as usize,
                    *spec,
                ));
                ops.push(update_op(want));
            }
        }
        ops.extend(self.history_to_drop(d, &old, &old_groups, &scale.old));
        // Pods the Deployment owned itself before it had ReplicaSets go; the ReplicaSet of
        // their template replaces them.
        let legacy = pods
            .iter()
            .filter_map(|o| o.as_pod())
            .filter(|p| p.metadata.controller().is_some_and(|c| c.uid == d_uid));
        ops.extend(legacy.map(delete_op));
        if !ops.is_empty() {
            info!(
                deployment = %format!("{ns}/{name}"),
                new = scale.new,
                old = ?scale.old,
                "scaling replica sets"
            );
            self.store.propose(Command { ops }).await?;
            let owner = Object::Deployment(d.clone());
            for (rs, before, after) in scaled.into_iter().filter(|(_, b, a)| b != a) {
                let way = if after > before { "up" } else { "down" };
                let message = format!("Scaled {way} replica set {rs} from {before} to {after}");
                self.events
                    .about(&owner, NORMAL, "ScalingReplicaSet", message, COMPONENT);
            }
        }
        self.update_status(d, new_rs.meta().uid.as_str(), &pods)
            .await
    }

    /// Old ReplicaSets at zero with no pod left beyond `revisionHistoryLimit`, oldest first.
    fn history_to_drop(
        &self,
        d: &Deployment,
        old: &[&ReplicaSet],
        groups: &[Group],
        specs: &[usize],
    ) -> Vec<Op> {
        let limit = d
            .spec
            .revision_history_limit
            .map_or(DEFAULT_HISTORY_LIMIT, |l| l.max(0) as usize);
        let idle: Vec<&ReplicaSet> = old
            .iter()
            .zip(groups.iter().zip(specs))
            .filter(|(_, (g, spec))| **spec == 0 && g.pods == 0)
            .map(|(rs, _)| *rs)
            .collect();
        let extra = idle.len().saturating_sub(limit);
        idle.iter()
            .take(extra)
            .map(|rs| delete_of(Kind::ReplicaSet, &rs.metadata))
            .collect()
    }

    /// Sets the status from `pods` (those the reconcile read; a change since wakes it again).
    async fn update_status(
        &self,
        d: &Deployment,
        new_rs: &str,
        pods: &[Arc<Object>],
    ) -> Result<(), StoreError> {
        let ns = &d.metadata.namespace;
        let owned = controlled(&self.store, Kind::ReplicaSet, ns, &d.metadata.uid);
        let uids: HashSet<&str> = owned.iter().map(|o| o.meta().uid.as_str()).collect();
        let live: Vec<&Pod> = pods
            .iter()
            .filter_map(|o| o.as_pod())
            .filter(|p| {
                p.metadata
                    .controller()
                    .is_some_and(|c| uids.contains(c.uid.as_str()))
            })
            .filter(|p| !p.phase().is_terminal() && !p.is_terminating())
            .collect();
        let is_new = |p: &Pod| p.metadata.controller().is_some_and(|c| c.uid == new_rs);
        let status = status::status(d, &live, is_new, std::time::SystemTime::now());
        if d.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let mut updated = d.clone();
        updated.status = Some(status);
        self.store
            .update_status(updated.into(), Some(d.metadata.revision()))
            .await
            .map(|_| ())
    }
}

fn is_of(rs: &ReplicaSet, hash: &str) -> bool {
    rs.metadata
        .labels
        .get(TEMPLATE_HASH_LABEL)
        .map(CompactString::as_str)
        == Some(hash)
}

fn update_op(rs: ReplicaSet) -> Op {
    let expected = Some(rs.metadata.revision());
    Op::Update {
        object: rs.into(),
        expected_revision: expected,
    }
}

/// Sets the revision annotation, and the Deployment's change cause with it.
fn set_revision(meta: &mut ObjectMeta, d: &Deployment, revision: i64) {
    meta.annotations
        .insert(REVISION_ANNOTATION.into(), revision.to_compact_string());
    if let Some(cause) = d.metadata.annotations.get(CHANGE_CAUSE_ANNOTATION) {
        meta.annotations
            .insert(CHANGE_CAUSE_ANNOTATION.into(), cause.clone());
    }
}

/// The ReplicaSet of the Deployment's current template: `<deployment>-<hash>`, its template
/// and selector carrying `pod-template-hash`.
fn new_replica_set(d: &Deployment, hash: &str, revision: i64, replicas: usize) -> Object {
    let mut template = d.spec.template.clone();
    template
        .metadata
        .labels
        .insert(TEMPLATE_HASH_LABEL.into(), hash.into());
    let mut selector = d.spec.selector.clone();
    selector
        .match_labels
        .insert(TEMPLATE_HASH_LABEL.into(), hash.into());
    let mut labels = d.spec.template.metadata.labels.clone();
    labels.insert(TEMPLATE_HASH_LABEL.into(), hash.into());
    let mut metadata = ObjectMeta {
        name: bosun_shared::format_compact!("{}-{hash}", d.metadata.name),
        namespace: d.metadata.namespace.clone(),
        labels,
        owner_references: vec![controller_ref(Kind::Deployment, &d.metadata)],
        ..Default::default()
    };
    set_revision(&mut metadata, d, revision);
    ReplicaSet {
        metadata,
        spec: ReplicaSetSpec {
            replicas: Some(replicas as i32),
            selector,
            template,
        },
        ..Default::default()
    }
    .into()
}

/// The hash of the Deployment's pod template.
pub fn template_hash(d: &Deployment) -> CompactString {
    super::pods::template_hash(&d.spec.template)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_hash_is_stable_and_changes_with_the_template() {
        let mut d = Deployment::default();
        d.spec.template.spec.containers.push(Default::default());
        let a = template_hash(&d);
        assert_eq!(a, template_hash(&d.clone()));
        assert_eq!(a.len(), 10);
        d.spec.template.spec.containers[0].image = "busybox".into();
        assert_ne!(a, template_hash(&d));
        // Replicas are not part of the template.
        let before = template_hash(&d);
        d.spec.replicas = Some(7);
        assert_eq!(before, template_hash(&d));
    }
}
