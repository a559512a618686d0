//! The ReplicaSet controller: keeps `replicas` live pods of the template. Extra pods go least
//! useful first (unscheduled, not ready, newest), so a Deployment that scales an old
//! ReplicaSet down removes the pods that serve nobody before those that serve. Finished pods
//! are deleted and replaced. Status: live, ready and available pods, observedGeneration.
use bosun_shared::meta::ObjectMeta;
use bosun_shared::pod::Pod;
use bosun_shared::replicaset::{ReplicaSet, ReplicaSetStatus};
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::entries::propose_owned;
use super::pods::{controlled, controller_ref, delete_op, least_useful_first, PodNames};
use super::queue::{all_keys, owner_key, reconcile_loop, Key};
use crate::store::{Op, Store, StoreError};

/// Reporter of this controller's events.
const COMPONENT: &str = "replicaset-controller";

pub struct ReplicaSetController {
    pub store: Store,
    pub events: crate::events::Recorder,
}

impl ReplicaSetController {
    pub async fn run(self, shutdown: CancellationToken) {
        let keys_of = |c: &crate::store::Change| match &*c.object {
            Object::ReplicaSet(r) => Some((r.metadata.namespace.clone(), r.metadata.name.clone())),
            _ => owner_key(c, Kind::ReplicaSet.as_str()),
        };
        reconcile_loop(
            "replicaset",
            &self.store,
            &shutdown,
            keys_of,
            || all_keys(&self.store, Kind::ReplicaSet),
            |key| {
                let this = &self;
                async move { this.reconcile(key).await.map(|()| None) }
            },
        )
        .await;
    }

    async fn reconcile(&self, (ns, name): Key) -> Result<(), StoreError> {
        let stored = self.store.get(Kind::ReplicaSet, &ns, &name);
        let Some(Object::ReplicaSet(rs)) = stored.as_deref() else {
            return Ok(()); // deleted: the garbage collector removes its pods
        };
        let owned = controlled(&self.store, Kind::Pod, &ns, &rs.metadata.uid);
        // Terminating pods are on their way out: replacements start at once (Kubernetes' rule).
        let pods: Vec<&Pod> = owned
            .iter()
            .filter_map(|o| o.as_pod())
            .filter(|p| !p.is_terminating())
            .collect();
        let (finished, live): (Vec<&Pod>, Vec<&Pod>) =
            pods.into_iter().partition(|p| p.phase().is_terminal());
        let mut ops: Vec<Op> = finished.into_iter().map(delete_op).collect();
        let want = rs.replicas().max(0) as usize;
        let mut create = 0;
        if live.len() > want {
            let extra = live.len() - want;
            let gone = least_useful_first(live.clone());
            ops.extend(gone.into_iter().take(extra).map(delete_op));
        } else {
            create = want - live.len();
            let mut names = PodNames::new(&self.store, &ns);
            for _ in 0..create {
                let mut pod: Object = new_pod(rs, names.generate(&rs.metadata.name)).into();
                crate::store::stamp_new(&mut pod);
                ops.push(Op::Create(pod));
            }
        }
        if !ops.is_empty() {
            info!(
                replicaset = %format!("{ns}/{name}"),
                create,
                delete = ops.len() - create,
                "scaling pods"
            );
            let owner = stored.as_deref().expect("matched above");
            propose_owned(&self.store, &self.events, owner, ops, COMPONENT).await?;
        }
        self.update_status(rs).await
    }

    async fn update_status(&self, rs: &ReplicaSet) -> Result<(), StoreError> {
        let m = &rs.metadata;
        let owned = controlled(&self.store, Kind::Pod, &m.namespace, &m.uid);
        let live: Vec<&Pod> = owned
            .iter()
            .filter_map(|o| o.as_pod())
            .filter(|p| !p.phase().is_terminal() && !p.is_terminating())
            .collect();
        let ready = live.iter().filter(|p| p.is_ready()).count() as i32;
        let status = ReplicaSetStatus {
            observed_generation: m.generation,
            replicas: live.len() as i32,
            ready_replicas: ready,
            available_replicas: ready,
        };
        if rs.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let mut updated = rs.clone();
        updated.status = Some(status);
        self.store
            .update_status(updated.into(), Some(m.revision()))
            .await
            .map(|_| ())
    }
}

/// A new pod of the ReplicaSet's template, named `name` (`<replicaset>-<5 random>`).
fn new_pod(rs: &ReplicaSet, name: String) -> Pod {
    let t = &rs.spec.template;
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: rs.metadata.namespace.clone(),
            labels: t.metadata.labels.clone(),
            annotations: t.metadata.annotations.clone(),
            owner_references: vec![controller_ref(Kind::ReplicaSet, &rs.metadata)],
            ..Default::default()
        },
        spec: t.spec.clone(),
        ..Default::default()
    }
}
