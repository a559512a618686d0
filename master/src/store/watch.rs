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
    fn passed(&mut self, c: &Change) {
        if c.revision == self.revision {
            self.seen = self.seen.saturating_add(1);
        } else {
            self.revision = c.revision;
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
    backlog: std::vec::IntoIter<Change>,
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
        backlog: Vec<Change>,
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
            .take_while(|c| c.revision == at.revision)
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
            while let Some(c) = self.backlog.next() {
                self.at.passed(&c);
                if self.wanted(&c) {
                    return Poll::Ready(Some(Ok(c)));
                }
            }
            match Pin::new(&mut self.live).poll_next(cx) {
                Poll::Ready(Some(Ok(c))) => {
                    self.at.passed(&c);
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
