//! [`StoreState`]: every object in memory, the recent history of changes, and live watchers.
use std::collections::BTreeMap;
use std::sync::Arc;

use bosun_shared::selector::LabelSelector;
use bosun_shared::{Kind, Object};
use tokio::sync::broadcast;

use super::command::Change;
use super::encoded::Stored;
use super::history::{History, Past};
use super::key::{key_of, ObjectKey};

pub use super::history::HISTORY_CAPACITY;
/// Changes buffered per live watcher before it is cut off as too slow.
pub const WATCH_BUFFER: usize = 8_192;

/// The applied state of one master. Written only by the Raft thread; read by everyone.
pub struct StoreState {
    /// Shared with the history, watchers and readers: a read copies a pointer, not the object
    /// (nor its JSON, once encoded).
    objects: BTreeMap<ObjectKey, Stored>,
    /// Raft index of the last applied entry: the store's revision.
    revision: u64,
    history: History,
    live: broadcast::Sender<Change>,
}

impl StoreState {
    /// A state loaded from disk at `revision`.
    pub fn new(objects: BTreeMap<ObjectKey, Object>, revision: u64) -> Self {
        StoreState {
            objects: shared(objects),
            revision,
            history: History::new(revision),
            live: broadcast::channel(WATCH_BUFFER).0,
        }
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn objects(&self) -> &BTreeMap<ObjectKey, Stored> {
        &self.objects
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<&Stored> {
        self.objects.get(&ObjectKey::new(kind, namespace, name))
    }

    /// Objects of `kind` (in `namespace` when given) whose labels match `selector`.
    pub fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> Vec<Arc<Object>> {
        self.select(kind, namespace, |o| {
            selector.is_none_or(|s| s.matches(&o.meta().labels))
        })
    }

    /// [`StoreState::list`] with each version's encoding cell, for those who send them.
    pub fn list_stored(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> Vec<Stored> {
        self.stored(kind, namespace)
            .filter(|s| selector.is_none_or(|sel| sel.matches(&s.object.meta().labels)))
            .cloned()
            .collect()
    }

    /// Objects of `kind` (in `namespace` when given) for which `keep` holds.
    pub fn select(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        keep: impl Fn(&Object) -> bool,
    ) -> Vec<Arc<Object>> {
        self.stored(kind, namespace)
            .map(|s| &s.object)
            .filter(|o| keep(o))
            .cloned()
            .collect()
    }

    /// How many objects of `kind` there are (in `namespace` when given).
    pub fn count(&self, kind: Kind, namespace: Option<&str>) -> usize {
        self.stored(kind, namespace).count()
    }

    /// Objects of `kind` (in `namespace` when given), in key order.
    fn stored(&self, kind: Kind, namespace: Option<&str>) -> impl Iterator<Item = &Stored> {
        let prefix = ObjectKey::prefix(kind, namespace);
        self.objects
            .range(ObjectKey(prefix.clone())..)
            .take_while(move |(k, _)| k.0.starts_with(&prefix))
            .map(|(_, s)| s)
    }

    /// Applies changes computed by [`super::command::plan`] at `revision`.
    pub fn apply(&mut self, changes: Vec<Change>, revision: u64) {
        for change in changes {
            let key = key_of(&change.object);
            let previous = match change.event {
                super::command::EventType::Deleted => self.objects.remove(&key),
                _ => self.objects.insert(key, change.stored()),
            };
            // No receiver is fine: nobody watches.
            let _ = self.live.send(change.clone());
            self.history.push(change, previous.as_ref());
        }
        self.revision = self.revision.max(revision);
    }

    /// Marks an entry applied that changed no object (a failed command, a no-op).
    pub fn advance(&mut self, revision: u64) {
        self.revision = self.revision.max(revision);
    }

    /// Replaces everything (a snapshot was installed); watchers must relist.
    pub fn reset(&mut self, objects: BTreeMap<ObjectKey, Object>, revision: u64) {
        self.objects = shared(objects);
        self.revision = revision;
        self.history.clear(revision);
        self.live = broadcast::channel(WATCH_BUFFER).0;
    }

    /// Changes after `from` still in history, or `Err(oldest)` when `from` is older than it.
    /// Replaced versions come as JSON, to decode outside the lock ([`Past::into_change`]).
    pub fn changes_since(&self, from: u64) -> Result<Vec<Past>, u64> {
        self.history.since(from)
    }

    /// Live changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Change> {
        self.live.subscribe()
    }
}

fn shared(objects: BTreeMap<ObjectKey, Object>) -> BTreeMap<ObjectKey, Stored> {
    objects
        .into_iter()
        .map(|(k, o)| (k, Stored::new(Arc::new(o))))
        .collect()
}
