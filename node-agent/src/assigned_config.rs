//! [`AssignedConfig`]: the ConfigMaps and Secrets the masters sent this node because its pods
//! use them, by kind, namespace and name. Kept in memory only: Secrets must never reach the
//! node's disk, and a restarted agent gets them again with its next full assignment.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bosun_shared::{Kind, Object};

/// Kind, namespace, name.
pub type ConfigKey = (Kind, String, String);

#[derive(Default)]
pub struct AssignedConfig {
    objects: Mutex<HashMap<ConfigKey, Arc<Object>>>,
    /// Bumped on every change, so volumes know when to be rewritten.
    version: AtomicU64,
    /// Set by the first full assignment: from then on, an object missing here is gone.
    known: std::sync::atomic::AtomicBool,
}

impl AssignedConfig {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ConfigKey, Arc<Object>>> {
        // Only map operations happen under the lock.
        self.objects.lock().expect("assigned config lock")
    }

    /// Applies an assignment's config: `full` replaces everything; `removed` names objects
    /// as `Kind/namespace/name`. True if anything changed.
    pub fn apply(&self, full: bool, upsert: Vec<Object>, removed: &[String]) -> bool {
        let mut objects = self.lock();
        let before = objects.len();
        let mut changed = full && !objects.is_empty();
        if full {
            objects.clear();
            self.known.store(true, Ordering::Release);
        }
        for r in removed {
            let mut parts = r.splitn(3, '/');
            if let (Some(kind), Some(ns), Some(name)) = (parts.next(), parts.next(), parts.next()) {
                if let Ok(kind) = kind.parse::<Kind>() {
                    changed |= objects.remove(&(kind, ns.into(), name.into())).is_some();
                }
            }
        }
        for o in upsert {
            let m = o.meta();
            let key = (o.kind(), m.namespace.to_string(), m.name.to_string());
            changed |= objects.get(&key).is_none_or(|old| **old != o);
            objects.insert(key, Arc::new(o));
        }
        changed |= objects.len() != before;
        if changed {
            self.version.fetch_add(1, Ordering::Release);
        }
        changed
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.lock()
            .get(&(kind, namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Whether a master has sent the complete set (see the field).
    pub fn known(&self) -> bool {
        self.known.load(Ordering::Acquire)
    }

    /// Changes with every update ([`AssignedConfig::apply`] that changed something).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The PersistentVolumeClaims the node has (those bound to it): uid -> Retain policy.
    pub fn claim_policies(&self) -> HashMap<String, bool> {
        self.lock()
            .values()
            .filter_map(|o| {
                o.as_claim()
                    .map(|c| (c.metadata.uid.to_string(), c.retained()))
            })
            .collect()
    }

    /// The values of a ConfigMap or Secret (text and binary alike), if the node has it.
    pub fn values(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Option<std::collections::BTreeMap<String, Vec<u8>>> {
        match self.get(kind, namespace, name)?.as_ref() {
            Object::ConfigMap(c) => Some(c.values()),
            Object::Secret(s) => Some(s.data.clone()),
            _ => None,
        }
    }
}
