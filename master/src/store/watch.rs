//! [`WatchStream`]: history after a revision, then live changes, each exactly once.
//!
//! The live changes come through a broadcast channel of [`super::state::WATCH_BUFFER`]; a
//! watcher that falls further behind than that (a burst of 10,000 pods, a busy runtime)
//! resumes from the history ([`super::state::HISTORY_CAPACITY`]) where it stopped, and fails
//! with `TooOld` only when the history no longer reaches back that far. Before, it failed at
//! once, and the dispatcher's hub then re-sent every node its pods in full, 1,000 times over.
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::task::{Context, Poll};

use bosun_shared::Kind;
use futures::Stream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

use super::command::Change;
use super::error::StoreError;
use super::history::Past;
use super::state::StoreState;

/// Where a watcher stands: the revision of the last change it was given (wanted or not) and
/// how many changes of that revision it was given (an entry's changes share one revision).
#[derive(Clone, Copy)]
struct Position {
    revision: u64,
    /// `usize::MAX`: every change of `revision`.
    seen: usize,
}

impl Position {
    /// Past one change of `revision`.
    fn passed(&mut self, revision: u64) {
        if revision == self.revision {
            self.seen = self.seen.saturating_add(1);
        } else {
            self.revision = revision;
            self.seen = 1;
        }
    }
}

/// A stream of changes; ends with `TooOld` if the watcher falls too far behind.
pub struct WatchStream {
    kind: Option<Kind>,
    namespace: Option<String>,
    /// The backlog was read under the same lock the live subscription was taken with, so the
    /// two never overlap.
    at: Position,
    /// Decoded one by one as the watcher reads them, if only their JSON was kept.
    backlog: std::vec::IntoIter<Past>,
    live: BroadcastStream<Change>,
    /// Where the history is, to resume from after falling behind the live changes.
    state: Arc<RwLock<StoreState>>,
    failed: bool,
}

impl WatchStream {
    pub fn new(
        kind: Option<Kind>,
        namespace: Option<String>,
        from: u64,
        backlog: Vec<Past>,
        live: broadcast::Receiver<Change>,
        state: Arc<RwLock<StoreState>>,
    ) -> Self {
        WatchStream {
            kind,
            namespace,
            at: Position {
                revision: from,
                seen: usize::MAX,
            },
            backlog: backlog.into_iter(),
            live: BroadcastStream::new(live),
            state,
            failed: false,
        }
    }

    /// After falling behind the live changes: what the history holds after the position,
    /// and a new live subscription taken under the same lock. `Err(oldest)` when the history
    /// no longer reaches back to the position.
    fn resume(&mut self) -> Result<(), u64> {
        // Poisoned only if the Raft thread panicked, which aborts the master.
        let s = self.state.read().expect("store state lock");
        let at = self.at;
        // A revision partly given: all of its changes, then those given are skipped.
        let from = match at.seen {
            usize::MAX => at.revision,
            _ => at.revision.saturating_sub(1),
        };
        let mut since = s.changes_since(from)?;
        let given = since
            .iter()
            .take_while(|p| p.revision() == at.revision)
            .count()
            .min(at.seen);
        since.drain(..given);
        self.backlog = since.into_iter();
        self.live = BroadcastStream::new(s.subscribe());
        Ok(())
    }

    fn wanted(&self, c: &Change) -> bool {
        self.kind.is_none_or(|k| k == c.object.kind())
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| ns == c.object.meta().namespace)
    }
}

impl Stream for WatchStream {
    type Item = Result<Change, StoreError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.failed {
            return Poll::Ready(None);
        }
        loop {
            while !self.backlog.as_slice().is_empty() {
                // A replaced version is decoded again (~10 us): a long backlog gives the
                // runtime back its worker now and then, as Tokio's own channels do.
                let coop = std::task::ready!(tokio::task::coop::poll_proceed(cx));
                let Some(p) = self.backlog.next() else { break };
                coop.made_progress();
                self.at.passed(p.revision());
                let other_namespace = self
                    .namespace
                    .as_deref()
                    .is_some_and(|ns| ns != p.namespace());
                if self.kind.is_some_and(|k| k != p.kind()) || other_namespace {
                    continue;
                }
                let c = match p.into_change() {
                    Ok(c) => c,
                    Err(e) => {
                        // The store's own JSON does not fail to decode; if it ever did, the
                        // watcher lists again rather than miss a change.
                        tracing::error!(error = %e, revision = self.at.revision, "a change kept in the watch history does not decode");
                        self.failed = true;
                        return Poll::Ready(Some(Err(StoreError::TooOld {
                            requested: self.at.revision,
                            oldest: self.at.revision + 1,
                        })));
                    }
                };
                if self.wanted(&c) {
                    return Poll::Ready(Some(Ok(c)));
                }
            }
            match Pin::new(&mut self.live).poll_next(cx) {
                Poll::Ready(Some(Ok(c))) => {
                    self.at.passed(c.revision);
                    if self.wanted(&c) {
                        return Poll::Ready(Some(Ok(c)));
                    }
                }
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(_)))) => {
                    if let Err(oldest) = self.resume() {
                        self.failed = true;
                        return Poll::Ready(Some(Err(StoreError::TooOld {
                            requested: self.at.revision,
                            oldest,
                        })));
                    }
                }
                // The history was replaced (a snapshot was installed): the watcher must relist.
                Poll::Ready(None) => {
                    self.failed = true;
                    return Poll::Ready(Some(Err(StoreError::TooOld {
                        requested: self.at.revision,
                        oldest: self.at.revision + 1,
                    })));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::command::EventType;
    use bosun_shared::pod::Pod;
    use futures::StreamExt;
    use std::collections::BTreeMap;

    fn pod(name: String) -> Arc<bosun_shared::Object> {
        let mut p = Pod::default();
        p.metadata.name = name.into();
        p.metadata.namespace = "default".into();
        Arc::new(p.into())
    }

    /// A small deterministic generator (no dependency for one test).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    /// A watch from an old revision reads replaced versions from their JSON: it gets each
    /// version as it was, in order, and skips other kinds without decoding them.
    #[tokio::test]
    async fn a_watch_from_the_past_gets_replaced_versions_as_they_were() {
        use bosun_shared::configmap::ConfigMap;
        let state = Arc::new(RwLock::new(StoreState::new(BTreeMap::new(), 0)));
        let mut versions = Vec::new();
        for revision in 1..=6u64 {
            let mut p = Pod::default();
            p.metadata.name = "web".into();
            p.metadata.namespace = "default".into();
            p.metadata.resource_version = revision.to_string().into();
            p.metadata
                .labels
                .insert("step".into(), revision.to_string().into());
            let event = match revision {
                1 => EventType::Added,
                6 => EventType::Deleted,
                _ => EventType::Modified,
            };
            let pod = Arc::new(bosun_shared::Object::from(p));
            versions.push(pod.clone());
            let mut changes = vec![Change::new(event, pod, revision)];
            if revision == 3 {
                let mut cm = ConfigMap::default();
                cm.metadata.name = "settings".into();
                cm.metadata.namespace = "default".into();
                cm.metadata.resource_version = revision.to_string().into();
                changes.push(Change::new(EventType::Added, Arc::new(cm.into()), revision));
            }
            state.write().unwrap().apply(changes, revision);
        }
        let watch = |kind| {
            let s = state.read().unwrap();
            let backlog = s.changes_since(0).unwrap();
            WatchStream::new(kind, None, 0, backlog, s.subscribe(), state.clone())
        };
        let mut pods = watch(Some(bosun_shared::Kind::Pod));
        for want in &versions {
            let got = pods.next().await.unwrap().unwrap();
            assert_eq!(&got.object, want);
        }
        let mut configs = watch(Some(bosun_shared::Kind::ConfigMap));
        let got = configs.next().await.unwrap().unwrap();
        assert_eq!(got.object.meta().name, "settings");
    }

    /// A watch of one namespace reads only that namespace's replaced versions.
    #[tokio::test]
    async fn a_watch_of_one_namespace_skips_the_others_replaced_versions() {
        let state = Arc::new(RwLock::new(StoreState::new(BTreeMap::new(), 0)));
        let mut mine = Vec::new();
        for revision in 1..=4u64 {
            let namespace = if revision % 2 == 0 { "mine" } else { "theirs" };
            let mut p = Pod::default();
            p.metadata.name = "web".into();
            p.metadata.namespace = namespace.into();
            p.metadata.resource_version = revision.to_string().into();
            let event = if revision <= 2 {
                EventType::Added
            } else {
                EventType::Modified
            };
            let pod = Arc::new(bosun_shared::Object::from(p));
            if namespace == "mine" {
                mine.push(pod.clone());
            }
            let change = Change::new(event, pod, revision);
            state.write().unwrap().apply(vec![change], revision);
        }
        let mut watch = {
            let s = state.read().unwrap();
            let backlog = s.changes_since(0).unwrap();
            WatchStream::new(
                None,
                Some("mine".into()),
                0,
                backlog,
                s.subscribe(),
                state.clone(),
            )
        };
        for want in &mine {
            let got = watch.next().await.unwrap().unwrap();
            assert_eq!(&got.object, want);
        }
    }

    /// Entries of 1 to 60 changes applied in bursts while the watcher reads at its own pace,
    /// falling behind the live buffer again and again: it gets every change exactly once, in
    /// order, whatever the pattern.
    #[tokio::test]
    async fn a_watcher_that_falls_behind_again_and_again_misses_nothing() {
        for seed in 1..=20u64 {
            let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let state = Arc::new(RwLock::new(StoreState::new(BTreeMap::new(), 0)));
            let (backlog, live) = {
                let s = state.read().unwrap();
                (s.changes_since(0).unwrap(), s.subscribe())
            };
            let mut watch = WatchStream::new(None, None, 0, backlog, live, state.clone());
            let (mut revision, mut sent, mut got) = (0u64, 0u64, 0u64);
            while sent < 60_000 {
                // A burst: up to 1.5 times the live buffer.
                let burst = rng.below(crate::store::state::WATCH_BUFFER as u64 * 3 / 2) + 1;
                let mut in_burst = 0;
                while in_burst < burst {
                    revision += 1;
                    let n = rng.below(60) + 1;
                    let changes = (0..n)
                        .map(|_| {
                            sent += 1;
                            Change::new(EventType::Added, pod(format!("p{sent}")), revision)
                        })
                        .collect();
                    state.write().unwrap().apply(changes, revision);
                    in_burst += n;
                }
                // Then read some, not necessarily all.
                let behind = sent - got;
                let keep_up =
                    behind.saturating_sub(crate::store::state::HISTORY_CAPACITY as u64 / 4);
                let read = rng.below(behind + 1).max(keep_up);
                for _ in 0..read {
                    let c = watch.next().await.unwrap().unwrap();
                    got += 1;
                    assert_eq!(c.object.meta().name, format!("p{got}"), "seed {seed}");
                }
                // The history must still reach the watcher for this test.
                assert!(sent - got < crate::store::state::HISTORY_CAPACITY as u64 / 2);
            }
            while got < sent {
                let c = watch.next().await.unwrap().unwrap();
                got += 1;
                assert_eq!(c.object.meta().name, format!("p{got}"), "seed {seed}");
            }
        }
    }
}
