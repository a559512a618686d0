//! The DaemonSet controller: one pod on every eligible node, bound to it directly (no
//! scheduling), added when a node appears or becomes eligible, removed when it goes or stops
//! being eligible. Eligible: the node's labels match the template's `nodeSelector`, and the
//! pod tolerates its `NoSchedule` and `NoExecute` taints. Like Kubernetes, DaemonSet pods
//! tolerate `unreachable`, `not-ready` (never evicted) and `unschedulable` (they stay on a
//! cordoned or drained node). A changed template replaces pods node by node, at most
//! `maxUnavailable` nodes without a ready pod at a time (`RollingUpdate`), or only as pods are
//! deleted (`OnDelete`).
use std::collections::{BTreeMap, BTreeSet};

use bosun_shared::daemonset::{DaemonSet, DaemonSetStatus, REVISION_HASH_LABEL};
use bosun_shared::meta::ObjectMeta;
use bosun_shared::node::Node;
use bosun_shared::pod::Pod;
use bosun_shared::taint::{untolerated, Toleration};
use bosun_shared::{Kind, Object, ToCompactString};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::entries::propose_owned;
use super::pods::{
    controlled, controller_ref, delete_op, least_useful_first, template_hash, PodNames,
};
use super::queue::{all_keys, owner_key, reconcile_loop, Key};
use crate::store::{Change, Op, Store, StoreError};

/// Taints every DaemonSet pod tolerates, as Kubernetes adds them.
const TOLERATED: [(&str, &str); 3] = [
    ("node.kubernetes.io/unreachable", "NoExecute"),
    ("node.kubernetes.io/not-ready", "NoExecute"),
    ("node.kubernetes.io/unschedulable", "NoSchedule"),
];

/// Reporter of this controller's events.
const COMPONENT: &str = "daemonset-controller";

pub struct DaemonSetController {
    pub store: Store,
    pub events: crate::events::Recorder,
}

impl DaemonSetController {
    pub async fn run(self, shutdown: CancellationToken) {
        // A node change concerns every DaemonSet.
        let keys_of = |c: &Change| match &*c.object {
            Object::DaemonSet(d) => vec![(d.metadata.namespace.clone(), d.metadata.name.clone())],
            Object::Node(_) => all_keys(&self.store, Kind::DaemonSet),
            _ => owner_key(c, Kind::DaemonSet.as_str()).into_iter().collect(),
        };
        reconcile_loop(
            "daemonset",
            &self.store,
            &shutdown,
            keys_of,
            || all_keys(&self.store, Kind::DaemonSet),
            |key| {
                let this = &self;
                async move { this.reconcile(key).await.map(|()| None) }
            },
        )
        .await;
    }

    async fn reconcile(&self, (ns, name): Key) -> Result<(), StoreError> {
        let stored = self.store.get(Kind::DaemonSet, &ns, &name);
        let Some(Object::DaemonSet(ds)) = stored.as_deref() else {
            return Ok(()); // deleted: the garbage collector removes its pods
        };
        let hash = template_hash(&ds.spec.template);
        let tolerations = tolerations(ds);
        let (nodes, _) = self.store.list(Kind::Node, None, None);
        let owned = controlled(&self.store, Kind::Pod, &ns, &ds.metadata.uid);
        let pods: Vec<&Pod> = owned.iter().filter_map(|o| o.as_pod()).collect();
        let mut by_node: BTreeMap<&str, Vec<&Pod>> = BTreeMap::new();
        // Nodes whose old pod is still stopping: their new one waits until it is gone.
        let mut stopping: BTreeSet<&str> = BTreeSet::new();
        let mut ops = Vec::new();
        for p in &pods {
            if p.is_terminating() {
                stopping.extend(p.spec.node_name.as_deref());
                continue;
            }
            match p.spec.node_name.as_deref() {
                Some(n) if !p.phase().is_terminal() => by_node.entry(n).or_default().push(p),
                _ => ops.push(delete_op(p)),
            }
        }
        let eligible: Vec<&Node> = nodes
            .iter()
            .filter_map(|o| o.as_node())
            .filter(|n| {
                let running = by_node.contains_key(n.metadata.name.as_str());
                eligible(ds, &tolerations, n, running)
            })
            .collect();
        let mut create = Vec::new();
        let mut kept: Vec<&Pod> = Vec::new();
        let mut waiting = 0;
        for n in &eligible {
            match by_node.remove(n.metadata.name.as_str()) {
                None if stopping.contains(n.metadata.name.as_str()) => waiting += 1,
                None => create.push(n.metadata.name.clone()),
                Some(mut on_node) => {
                    on_node = least_useful_first(on_node);
                    let keep = on_node.pop().expect("entries are never empty");
                    ops.extend(on_node.into_iter().map(delete_op));
                    kept.push(keep);
                }
            }
        }
        // Pods on nodes that are gone or no longer eligible.
        let misscheduled = by_node.values().map(Vec::len).sum::<usize>() as i32;
        ops.extend(by_node.into_values().flatten().map(delete_op));
        // Rolling update: replace old pods while few enough nodes lack a ready pod.
        let desired = eligible.len() as i32;
        if ds.rolling() {
            let is_old = |p: &&Pod| p.metadata.labels.get(REVISION_HASH_LABEL) != Some(&hash);
            let unavailable =
                create.len() + waiting + kept.iter().filter(|p| !p.is_ready()).count();
            let mut room = (ds.max_unavailable(desired) as usize).saturating_sub(unavailable);
            // Old pods that are not ready serve nobody: they go first, whatever the room.
            let (old_unready, old_ready): (Vec<&Pod>, Vec<&Pod>) = kept
                .iter()
                .copied()
                .filter(is_old)
                .partition(|p| !p.is_ready());
            ops.extend(old_unready.into_iter().map(delete_op));
            for p in old_ready {
                if room == 0 {
                    break;
                }
                ops.push(delete_op(p));
                room -= 1;
            }
        }
        let mut names = PodNames::new(&self.store, &ds.metadata.namespace);
        for node in &create {
            let name = names.generate(&ds.metadata.name);
            let mut pod: Object = new_pod(ds, name, &hash, node, &tolerations).into();
            crate::store::stamp_new(&mut pod);
            ops.push(Op::Create(pod));
        }
        if !ops.is_empty() {
            info!(
                daemonset = %format!("{ns}/{name}"),
                create = create.len(),
                delete = ops.len() - create.len(),
                "daemon pods"
            );
            let owner = Object::DaemonSet(ds.clone());
            propose_owned(&self.store, &self.events, &owner, ops, COMPONENT).await?;
        }
        let ready = kept.iter().filter(|p| p.is_ready()).count() as i32;
        let status = DaemonSetStatus {
            observed_generation: ds.metadata.generation,
            desired_number_scheduled: desired,
            current_number_scheduled: kept.len() as i32,
            number_misscheduled: misscheduled,
            number_ready: ready,
            updated_number_scheduled: kept
                .iter()
                .filter(|p| p.metadata.labels.get(REVISION_HASH_LABEL) == Some(&hash))
                .count() as i32,
            number_available: ready,
            number_unavailable: (desired - ready).max(0),
        };
        if ds.status.as_ref() == Some(&status) {
            return Ok(());
        }
        let mut updated = ds.clone();
        updated.status = Some(status);
        self.store
            .update_status(updated.into(), Some(ds.metadata.revision()))
            .await
            .map(|_| ())
    }
}

/// The template's tolerations plus those every DaemonSet pod has.
fn tolerations(ds: &DaemonSet) -> Vec<Toleration> {
    let mut t = ds.spec.template.spec.tolerations.clone();
    for (key, effect) in TOLERATED {
        t.push(Toleration {
            key: key.into(),
            operator: Some("Exists".into()),
            effect: effect.into(),
            ..Default::default()
        });
    }
    t
}

/// Whether the node should run the DaemonSet's pod: a new one (`running` false) only where
/// its `NoSchedule` and `NoExecute` taints are tolerated, a running one unless a `NoExecute`
/// taint is not (a new `NoSchedule` taint does not remove it, as in Kubernetes).
fn eligible(ds: &DaemonSet, tolerations: &[Toleration], n: &Node, running: bool) -> bool {
    let selector = &ds.spec.template.spec.node_selector;
    let effects: &[&str] = if running {
        &["NoExecute"]
    } else {
        &["NoSchedule", "NoExecute"]
    };
    n.selected_by(selector) && untolerated(&n.spec.taints, tolerations, effects).is_none()
}

/// A pod of the DaemonSet bound to `node`, named `name` (`<daemonset>-<5 random>`).
fn new_pod(
    ds: &DaemonSet,
    name: String,
    hash: &str,
    node: &str,
    tolerations: &[Toleration],
) -> Pod {
    let t = &ds.spec.template;
    let mut labels = t.metadata.labels.clone();
    labels.insert(REVISION_HASH_LABEL.into(), hash.into());
    let mut spec = t.spec.clone();
    spec.node_name = Some(node.to_compact_string());
    spec.tolerations = tolerations.to_vec();
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: ds.metadata.namespace.clone(),
            labels,
            annotations: t.metadata.annotations.clone(),
            owner_references: vec![controller_ref(Kind::DaemonSet, &ds.metadata)],
            ..Default::default()
        },
        spec,
        ..Default::default()
    }
}
