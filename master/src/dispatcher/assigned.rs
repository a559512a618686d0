//! [`Assigned`]: what one node's session has been sent — its pods (by uid, at which
//! generation), the ConfigMaps and Secrets they use, and the PersistentVolumeClaims bound to
//! the node — and the `PodAssignment` messages that bring the agent up to date after a
//! change. A node is sent only the ConfigMaps and Secrets its own pods use, before the pods
//! that use them; it is sent every claim bound to it (so it can remove the volumes of claims
//! no longer there).
use std::collections::{BTreeSet, HashMap};

use bosun_proto::v1::PodAssignment;
use bosun_shared::pod::Pod;
use bosun_shared::{CompactString, Kind};

use crate::store::{Change, EventType, Store, Stored};

/// A ConfigMap or Secret: kind, namespace, name.
type ConfigKey = (Kind, CompactString, CompactString);

#[derive(Default)]
pub struct Assigned {
    /// Pods sent, by uid: their generation and the config objects they use.
    pods: HashMap<CompactString, (i64, BTreeSet<ConfigKey>)>,
    /// Config objects sent, with the revision sent.
    config: HashMap<ConfigKey, CompactString>,
    /// Claims bound to the node.
    claims: BTreeSet<ConfigKey>,
    /// The store revision each config object was read at, when it was read from the store
    /// rather than from a change: the hub's changes up to it are already in what was sent.
    read_at: HashMap<ConfigKey, u64>,
    /// The store revision the node's claims were read at ([`Assigned::full`]).
    claims_read_at: u64,
    /// Pods of the node being deleted, by uid (namespace, name): the agent is stopping them,
    /// and they are removed once it no longer holds them.
    terminating: HashMap<CompactString, (CompactString, CompactString)>,
}

/// `Kind/namespace/name`, as `PodAssignment.config_removed` names an object.
fn key_text(k: &ConfigKey) -> String {
    format!("{}/{}/{}", k.0, k.1, k.2)
}

fn refs_of(p: &Pod) -> BTreeSet<ConfigKey> {
    p.config_refs()
        .into_iter()
        .map(|(kind, name)| (kind, p.metadata.namespace.clone(), name.into()))
        .collect()
}

/// Whether the pod runs on `node` (bound there and not being deleted).
pub fn bound_to(p: &Pod, node: &str) -> bool {
    p.spec.node_name.as_deref() == Some(node)
}

impl Assigned {
    /// Everything `node` runs (of `pods`, those bound to it), replacing what was sent before.
    pub fn full(&mut self, store: &Store, node: &str, pods: &[Stored]) -> PodAssignment {
        self.pods.clear();
        self.config.clear();
        self.read_at.clear();
        let (claims, claims_read_at) = store.select(Kind::PersistentVolumeClaim, None, |o| {
            o.as_claim().is_some_and(|c| c.node() == Some(node))
        });
        self.claims_read_at = claims_read_at;
        self.claims = claims
            .iter()
            .map(|o| (o.kind(), o.meta().namespace.clone(), o.meta().name.clone()))
            .collect();
        let mut upsert = Vec::new();
        self.terminating.clear();
        for p in pods.iter().filter_map(|s| s.object.as_pod()) {
            self.note_terminating(p, node, false);
        }
        for (stored, p) in pods
            .iter()
            .filter_map(|s| Some((s, s.object.as_pod()?)))
            .filter(|(_, p)| bound_to(p, node) && !p.is_terminating())
        {
            self.pods
                .insert(p.metadata.uid.clone(), (p.metadata.generation, refs_of(p)));
            // Sent to this node only: encoded for it, not kept with the version.
            upsert.push(stored.json_unkept());
        }
        let config = self.send_missing(store);
        PodAssignment {
            full: true,
            upsert,
            config,
            ..Default::default()
        }
    }

    /// The message a change of a pod calls for, if any.
    pub fn on_pod(&mut self, store: &Store, node: &str, change: &Change) -> Option<PodAssignment> {
        let pod = change.object.as_pod()?;
        let uid = &pod.metadata.uid;
        let deleted = change.event == EventType::Deleted;
        self.note_terminating(pod, node, deleted);
        let removed = deleted || pod.is_terminating();
        if removed || !bound_to(pod, node) {
            self.pods.remove(uid)?;
            let grace = pod.metadata.deletion_grace_period_seconds;
            return Some(PodAssignment {
                removed_grace_seconds: grace.map(|g| (uid.to_string(), g)).into_iter().collect(),
                removed_uids: vec![uid.to_string()],
                config_removed: self.forget_unused(),
                ..Default::default()
            });
        }
        // Status-only changes (often the agent's own reports) do not change the assignment.
        if self.pods.get(uid).map(|(g, _)| *g) == Some(pod.metadata.generation) {
            return None;
        }
        self.pods
            .insert(uid.clone(), (pod.metadata.generation, refs_of(pod)));
        Some(PodAssignment {
            config: self.send_missing(store),
            upsert: vec![change.json_unkept()],
            config_removed: self.forget_unused(),
            ..Default::default()
        })
    }

    /// The message a change of a ConfigMap, Secret or claim calls for: only if a pod of the
    /// node uses it (or, for a claim, it is bound to the node).
    pub fn on_config(&mut self, node: &str, change: &Change) -> Option<PodAssignment> {
        let m = change.object.meta();
        let key = (change.object.kind(), m.namespace.clone(), m.name.clone());
        // The store, read for a full assignment or a config first used, can be ahead of the
        // hub: a change it already held is not news, and an older version must not replace
        // the newer one sent (an older, unbound version of a claim told the agent to remove
        // its volume).
        let claims_at = (key.0 == Kind::PersistentVolumeClaim).then_some(self.claims_read_at);
        let read_at = self.read_at.get(&key).copied().max(claims_at).unwrap_or(0);
        if change.revision <= read_at {
            return None;
        }
        let deleted = change.event == EventType::Deleted;
        if let Some(c) = change.object.as_claim() {
            if !deleted && c.node() == Some(node) {
                self.claims.insert(key.clone());
            } else {
                self.claims.remove(&key);
            }
        }
        if deleted || !self.used().contains(&key) {
            self.config.remove(&key)?;
            return Some(PodAssignment {
                config_removed: vec![key_text(&key)],
                ..Default::default()
            });
        }
        if self.config.get(&key) == Some(&m.resource_version) {
            return None;
        }
        self.config.insert(key, m.resource_version.clone());
        Some(PodAssignment {
            config: vec![change.json()],
            ..Default::default()
        })
    }

    /// The node's pods being deleted, by uid: (namespace, name).
    pub fn terminating(&self) -> &HashMap<CompactString, (CompactString, CompactString)> {
        &self.terminating
    }

    /// Tracks whether `pod` is one of the node's terminating pods.
    fn note_terminating(&mut self, pod: &Pod, node: &str, deleted: bool) {
        let uid = &pod.metadata.uid;
        if !deleted && bound_to(pod, node) && pod.is_terminating() {
            let key = (pod.metadata.namespace.clone(), pod.metadata.name.clone());
            self.terminating.insert(uid.clone(), key);
        } else if !self.terminating.is_empty() {
            self.terminating.remove(uid);
        }
    }

    fn used(&self) -> BTreeSet<ConfigKey> {
        let mut used: BTreeSet<ConfigKey> = self
            .pods
            .values()
            .flat_map(|(_, r)| r.iter().cloned())
            .collect();
        used.extend(self.claims.iter().cloned());
        used
    }

    /// The used objects not sent yet (that exist), now recorded as sent.
    fn send_missing(&mut self, store: &Store) -> Vec<bytes::Bytes> {
        let mut out = Vec::new();
        for key in self.used() {
            if self.config.contains_key(&key) {
                continue;
            }
            if let (Some(s), read_at) = store.get_stored(key.0, &key.1, &key.2) {
                self.read_at.insert(key.clone(), read_at);
                self.config
                    .insert(key, s.object.meta().resource_version.clone());
                out.push(s.json());
            }
        }
        out
    }

    /// Objects sent that no pod uses anymore: forgotten, and named for the agent.
    fn forget_unused(&mut self) -> Vec<String> {
        let used = self.used();
        let unused: Vec<ConfigKey> = self
            .config
            .keys()
            .filter(|k| !used.contains(*k))
            .cloned()
            .collect();
        unused
            .iter()
            .map(|k| {
                self.config.remove(k);
                self.read_at.remove(k);
                key_text(k)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::pvc::{PersistentVolumeClaim, SELECTED_NODE};
    use std::sync::Arc;
    use tokio_util::sync::CancellationToken;

    /// A claim created unbound, then bound to node `n`; the session's full assignment reads
    /// the bound version from the store before the hub delivers the two changes. The older
    /// (unbound) version must not make the agent remove the claim, nor the newer be sent twice;
    /// a later unbinding is news.
    #[tokio::test]
    async fn changes_the_store_already_held_are_not_sent_again() {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let store = Store::open_single(dir.path(), shutdown.clone()).unwrap();
        store.wait_leader().await;
        let mut claim = PersistentVolumeClaim::default();
        claim.metadata.name = "data".into();
        claim.metadata.namespace = "default".into();
        let created = store.create(claim.into()).await.unwrap();
        let mut bound = created.as_claim().unwrap().clone();
        bound
            .metadata
            .annotations
            .insert(SELECTED_NODE.into(), "n".into());
        let bound = store.update(bound.into(), None).await.unwrap();
        let change = |o: &Arc<bosun_shared::Object>| {
            Change::new(EventType::Modified, o.clone(), o.meta().revision())
        };

        let mut assigned = Assigned::default();
        let full = assigned.full(&store, "n", &[]);
        assert_eq!(full.config.len(), 1, "the bound claim is sent");
        assert!(
            assigned.on_config("n", &change(&created)).is_none(),
            "older"
        );
        assert!(
            assigned.on_config("n", &change(&bound)).is_none(),
            "sent already"
        );

        let mut unbound = bound.as_claim().unwrap().clone();
        unbound.metadata.annotations.remove(SELECTED_NODE);
        let unbound = store.update(unbound.into(), None).await.unwrap();
        let removed = assigned.on_config("n", &change(&unbound)).expect("news");
        assert_eq!(
            removed.config_removed,
            ["PersistentVolumeClaim/default/data"]
        );
        shutdown.cancel();
    }
}
