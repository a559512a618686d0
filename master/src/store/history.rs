//! [`History`]: the recent changes, for watchers that start or resume at a past revision.
//!
//! A change is kept as applied ([`Past::Held`], its object shared with the store's map) while
//! its version is the object's current one. Once a later change replaces or deletes the
//! object, the entry keeps only the version's JSON ([`Past::Encoded`]): ~870 bytes for a
//! running pod instead of ~2.4 KB of decoded object. With 30,000 pods under bench-scale,
//! nearly every one of the 20,000 changes the history held was such a replaced version, and
//! they were the largest part of a master's heap after the current objects themselves
//! (session 17's heap profile: ~45 MB of `Arc<Object>`, conditions and container statuses).
//! A watcher that resumes from that far back decodes what it reads again, outside the store's
//! lock ([`Past::into_change`]), and only the kinds and namespace it watches; watchers that
//! keep up get the live changes and never do. The JSON is encoded before the apply takes the
//! store's write lock (`raft_apply`), if no reader had encoded it already.
use std::collections::VecDeque;
use std::sync::Arc;

use bosun_shared::object::DecodeError;
use bosun_shared::{CompactString, Kind, Object};
use bytes::Bytes;

use super::command::{Change, EventType};
use super::encoded::{Encoded, Stored};

/// Changes kept for `Watch(from_revision)`; older revisions get "too old, relist".
pub const HISTORY_CAPACITY: usize = 20_000;

/// One change of the history.
#[derive(Debug, Clone)]
pub enum Past {
    /// The object's current version, as applied.
    Held(Change),
    /// A version since replaced or deleted: its JSON only, and what a watch filters on.
    Encoded {
        event: EventType,
        kind: Kind,
        namespace: CompactString,
        revision: u64,
        json: Bytes,
    },
}

impl Past {
    pub fn revision(&self) -> u64 {
        match self {
            Past::Held(c) => c.revision,
            Past::Encoded { revision, .. } => *revision,
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Past::Held(c) => c.object.kind(),
            Past::Encoded { kind, .. } => *kind,
        }
    }

    pub fn namespace(&self) -> &str {
        match self {
            Past::Held(c) => &c.object.meta().namespace,
            Past::Encoded { namespace, .. } => namespace,
        }
    }

    /// The change, its object decoded again (and its JSON reused) if only that was kept.
    pub fn into_change(self) -> Result<Change, DecodeError> {
        match self {
            Past::Held(c) => Ok(c),
            Past::Encoded {
                event,
                revision,
                json,
                ..
            } => Ok(Change {
                event,
                object: Arc::new(Object::from_json(&json)?),
                revision,
                encoded: Encoded::with_json(json),
            }),
        }
    }

    /// The JSON-only form of a held change.
    fn encode(c: &Change) -> Past {
        Past::Encoded {
            event: c.event,
            kind: c.object.kind(),
            namespace: c.object.meta().namespace.clone(),
            revision: c.revision,
            json: c.json(),
        }
    }
}

/// The last [`HISTORY_CAPACITY`] changes, in revision order.
#[derive(Debug, Default)]
pub struct History {
    entries: VecDeque<Past>,
    /// Revisions at or below this are not in `entries`.
    floor: u64,
}

impl History {
    /// An empty history of a store at `revision`.
    pub fn new(revision: u64) -> Self {
        History {
            entries: VecDeque::new(),
            floor: revision,
        }
    }

    /// Adds a change applied after every change already kept. `previous` is the version it
    /// replaced or deleted, if any: its entry keeps only its JSON from now on. A deletion is
    /// kept as JSON at once: nothing is current after it.
    pub fn push(&mut self, change: Change, previous: Option<&Stored>) {
        if let Some(previous) = previous {
            self.supersede(previous);
        }
        self.entries.push_back(match change.event {
            EventType::Deleted => Past::encode(&change),
            _ => Past::Held(change),
        });
        while self.entries.len() > HISTORY_CAPACITY {
            if let Some(old) = self.entries.pop_front() {
                self.floor = old.revision();
            }
        }
    }

    /// Keeps only the JSON of `version`'s entry, if the history still holds it. Its entry is
    /// among those of its revision (`resourceVersion`), which share one Raft entry.
    fn supersede(&mut self, version: &Stored) {
        let revision = version.object.meta().revision();
        let first = self.entries.partition_point(|p| p.revision() < revision);
        let found = self
            .entries
            .range_mut(first..)
            .take_while(|p| p.revision() == revision)
            .find(|p| matches!(p, Past::Held(c) if Arc::ptr_eq(&c.object, &version.object)));
        if let Some(entry) = found {
            if let Past::Held(c) = entry {
                *entry = Past::encode(c);
            }
        }
    }

    /// Changes after `from`, or `Err(oldest)` when `from` is older than the history reaches.
    pub fn since(&self, from: u64) -> Result<Vec<Past>, u64> {
        if from < self.floor {
            return Err(self.floor);
        }
        let first = self.entries.partition_point(|p| p.revision() <= from);
        Ok(self.entries.range(first..).cloned().collect())
    }

    /// Forgets everything: the store was replaced at `revision` (a snapshot).
    pub fn clear(&mut self, revision: u64) {
        self.entries.clear();
        self.floor = revision;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::pod::{Pod, PodPhase, PodStatus};

    fn pod(name: &str, revision: u64, phase: PodPhase) -> Arc<Object> {
        let mut p = Pod::default();
        p.metadata.name = name.into();
        p.metadata.namespace = "default".into();
        p.metadata.resource_version = revision.to_string().into();
        p.status = Some(PodStatus {
            phase,
            ..Default::default()
        });
        Arc::new(p.into())
    }

    fn held(p: &Past) -> bool {
        matches!(p, Past::Held(_))
    }

    #[test]
    fn replaced_and_deleted_versions_keep_only_their_json_and_decode_the_same() {
        let mut h = History::new(0);
        let v1 = Change::new(EventType::Added, pod("a", 1, PodPhase::Pending), 1);
        let other = Change::new(EventType::Added, pod("b", 1, PodPhase::Pending), 1);
        h.push(v1.clone(), None);
        h.push(other.clone(), None);
        let v2 = Change::new(EventType::Modified, pod("a", 2, PodPhase::Running), 2);
        h.push(v2.clone(), Some(&v1.stored()));
        let all = h.since(0).unwrap();
        assert_eq!(
            all.iter().map(held).collect::<Vec<_>>(),
            [false, true, true],
            "a's first version is replaced; b's and a's second are current"
        );
        let gone = Change::new(EventType::Deleted, pod("a", 3, PodPhase::Running), 3);
        h.push(gone.clone(), Some(&v2.stored()));
        let all = h.since(0).unwrap();
        assert_eq!(
            all.iter().map(held).collect::<Vec<_>>(),
            [false, true, false, false]
        );
        let decoded: Vec<Change> = all.into_iter().map(|p| p.into_change().unwrap()).collect();
        assert_eq!(decoded, [v1.clone(), other, v2, gone]);
        assert_eq!(decoded[0].json(), v1.json(), "the kept JSON is reused");
        assert_eq!(h.since(2).unwrap().len(), 1);
    }

    #[test]
    fn a_version_replaced_within_its_own_entry_is_found_among_its_revision() {
        let mut h = History::new(0);
        let batch: Vec<Change> = (0..50)
            .map(|i| {
                Change::new(
                    EventType::Added,
                    pod(&format!("p{i}"), 7, PodPhase::Pending),
                    7,
                )
            })
            .collect();
        for c in &batch {
            h.push(c.clone(), None);
        }
        let again = Change::new(EventType::Modified, pod("p30", 7, PodPhase::Running), 7);
        h.push(again, Some(&batch[30].stored()));
        let all = h.since(0).unwrap();
        let encoded: Vec<usize> = (0..all.len()).filter(|&i| !held(&all[i])).collect();
        assert_eq!(encoded, [30]);
    }

    #[test]
    fn the_history_keeps_its_capacity_and_says_how_far_back_it_reaches() {
        let mut h = History::new(0);
        let n = HISTORY_CAPACITY as u64 + 10;
        for r in 1..=n {
            h.push(
                Change::new(
                    EventType::Added,
                    pod(&format!("p{r}"), r, PodPhase::Pending),
                    r,
                ),
                None,
            );
        }
        assert_eq!(h.since(5).unwrap_err(), 10);
        assert_eq!(h.since(10).unwrap().len(), HISTORY_CAPACITY);
        h.clear(n);
        assert_eq!(h.since(n).unwrap().len(), 0);
        assert_eq!(h.since(n - 1).unwrap_err(), n);
    }
}
