//! The Deployment controller: keeps `replicas` pods of the current template.
//!
//! Pods carry the label `pod-template-hash` (a stable hash of the template). Pods of another
//! hash are replaced by the Deployment's strategy ([`rollout`]: rolling update within
//! `maxSurge`/`maxUnavailable`, or recreate), and the status carries Kubernetes' `Available`
//! and `Progressing` conditions ([`status`]). Writes are batched into one command per
//! reconcile; readiness changes of the pods wake the controller, so each ready pod moves
//! the rollout on.
mod rollout;
mod status;

use bosun_shared::deployment::Deployment;
use bosun_shared::meta::{ObjectMeta, OwnerReference};
use bosun_shared::pod::Pod;
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use super::queue::{follow_changes, Signal, WorkQueue};
use crate::store::{Command, Op, Store, StoreError};

/// Label with the hash of the template a pod was made from.
pub const TEMPLATE_HASH_LABEL: &str = "pod-template-hash";

pub struct DeploymentController {
    pub store: Store,
}

type Key = (String, String);

impl DeploymentController {
    pub async fn run(self, shutdown: CancellationToken) {
        let queue: WorkQueue<Key> = WorkQueue::default();
        let feed = follow_changes(&self.store, &shutdown, |s| match s {
            Signal::ResyncAll => {
                for d in self.store.list(Kind::Deployment, None, None).0 {
                    queue.add((d.meta().namespace.clone(), d.meta().name.clone()));
                }
            }
            Signal::Changed(c) => match &*c.object {
                Object::Deployment(d) => {
                    queue.add((d.metadata.namespace.clone(), d.metadata.name.clone()))
                }
                Object::Pod(p) => {
                    if let Some(owner) = p.metadata.controller().filter(|o| o.kind == "Deployment")
                    {
                        queue.add((p.metadata.namespace.clone(), owner.name.clone()));
                    }
                }
                _ => {}
            },
        });
        let work = async {
            while let Some((ns, name)) = queue.next(&shutdown).await {
                if let Err(e) = self.reconcile(&ns, &name).await {
                    debug!(deployment = %format!("{ns}/{name}"), error = %e, "reconcile failed; requeued");
                    queue.add((ns, name));
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            }
        };
        tokio::join!(feed, work);
    }

    async fn reconcile(&self, ns: &str, name: &str) -> Result<(), StoreError> {
        let stored = self.store.get(Kind::Deployment, ns, name);
        let Some(Object::Deployment(d)) = stored.as_deref() else {
            return Ok(()); // deleted: the garbage collector removes its pods
        };
        let hash = template_hash(d);
        let (pods, _) = self.store.list(Kind::Pod, Some(ns), None);
        let owned: Vec<&Pod> = super::queue::pods(&pods)
            .into_iter()
            .filter(|p| {
                p.metadata
                    .controller()
                    .is_some_and(|o| o.uid == d.metadata.uid)
            })
            .collect();
        let is_current = |p: &Pod| p.metadata.labels.get(TEMPLATE_HASH_LABEL) == Some(&hash);
        let mut ops = Vec::new();
        // Finished pods go; the plan below replaces them.
        let (finished, live): (Vec<&Pod>, Vec<&Pod>) =
            owned.iter().partition(|p| p.phase().is_terminal());
        ops.extend(finished.into_iter().map(delete_op));
        let (new, old): (Vec<&Pod>, Vec<&Pod>) = live.into_iter().partition(|p| is_current(p));
        let plan = rollout::plan(d.replicas(), &d.spec.strategy, &new, &old);
        ops.extend(plan.delete.iter().copied().map(delete_op));
        for _ in 0..plan.create {
            let mut pod: Object = new_pod(d, &hash).into();
            crate::store::stamp_new(&mut pod);
            ops.push(Op::Create(pod));
        }
        if !ops.is_empty() {
            info!(
                deployment = %format!("{ns}/{name}"),
                create = plan.create,
                delete = ops.len() - plan.create,
                old = old.len(),
                "scaling pods"
            );
            self.store.propose(Command { ops }).await?;
        }
        self.update_status(d, &hash).await
    }

    async fn update_status(&self, d: &Deployment, hash: &str) -> Result<(), StoreError> {
        let (pods, _) = self
            .store
            .list(Kind::Pod, Some(&d.metadata.namespace), None);
        let owned: Vec<&Pod> = pods
            .iter()
            .filter_map(|o| o.as_pod())
            .filter(|p| {
                p.metadata
                    .controller()
                    .is_some_and(|o| o.uid == d.metadata.uid)
            })
            .filter(|p| !p.phase().is_terminal())
            .collect();
        let is_new = |p: &Pod| {
            p.metadata
                .labels
                .get(TEMPLATE_HASH_LABEL)
                .map(String::as_str)
                == Some(hash)
        };
        let status = status::status(d, &owned, is_new, std::time::SystemTime::now());
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

fn delete_op(p: &Pod) -> Op {
    Op::Delete {
        kind: Kind::Pod,
        namespace: p.metadata.namespace.clone(),
        name: p.metadata.name.clone(),
        expected_uid: Some(p.metadata.uid.clone()),
    }
}

/// A stable hash of the pod template (FNV-1a over its JSON), as 10 lowercase characters.
pub fn template_hash(d: &Deployment) -> String {
    let json = serde_json::to_vec(&d.spec.template).unwrap_or_default();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in json {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    encode_safe(h, 10)
}

/// Characters Kubernetes uses in generated names (no vowels, no look-alikes).
const SAFE: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

fn encode_safe(mut v: u64, len: usize) -> String {
    (0..len)
        .map(|_| {
            let c = SAFE[(v % SAFE.len() as u64) as usize] as char;
            v /= SAFE.len() as u64;
            c
        })
        .collect()
}

/// A new pod of the deployment's template, named `<deployment>-<hash>-<5 random>`.
fn new_pod(d: &Deployment, hash: &str) -> Pod {
    let t = &d.spec.template;
    let mut labels = t.metadata.labels.clone();
    labels.insert(TEMPLATE_HASH_LABEL.into(), hash.to_string());
    let suffix = encode_safe(uuid::Uuid::new_v4().as_u128() as u64, 5);
    Pod {
        metadata: ObjectMeta {
            name: format!("{}-{hash}-{suffix}", d.metadata.name),
            namespace: d.metadata.namespace.clone(),
            labels,
            annotations: t.metadata.annotations.clone(),
            owner_references: vec![OwnerReference {
                api_version: "apps/v1".into(),
                kind: "Deployment".into(),
                name: d.metadata.name.clone(),
                uid: d.metadata.uid.clone(),
                controller: Some(true),
            }],
            ..Default::default()
        },
        spec: t.spec.clone(),
        ..Default::default()
    }
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
