//! [`WatchStream`]: history after a revision, then live changes, each exactly once.
use std::pin::Pin;
use std::task::{Context, Poll};

use bosun_shared::Kind;
use futures::Stream;
use tokio::sync::broadcast;
use tokio_stream::wrappers::{errors::BroadcastStreamRecvError, BroadcastStream};

use super::command::Change;
use super::error::StoreError;

/// A stream of changes; ends with `TooOld` if the watcher falls too far behind.
pub struct WatchStream {
    kind: Option<Kind>,
    namespace: Option<String>,
    /// Highest revision delivered. The backlog was read under the same lock the live
    /// subscription was taken with, so the two never overlap.
    last: u64,
    backlog: std::vec::IntoIter<Change>,
    live: BroadcastStream<Change>,
    failed: bool,
}

impl WatchStream {
    pub fn new(
        kind: Option<Kind>,
        namespace: Option<String>,
        from: u64,
        backlog: Vec<Change>,
        live: broadcast::Receiver<Change>,
    ) -> Self {
        WatchStream {
            kind,
            namespace,
            last: from,
            backlog: backlog.into_iter(),
            live: BroadcastStream::new(live),
            failed: false,
        }
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
        while let Some(c) = self.backlog.next() {
            if self.wanted(&c) {
                self.last = c.revision;
                return Poll::Ready(Some(Ok(c)));
            }
        }
        loop {
            match Pin::new(&mut self.live).poll_next(cx) {
                Poll::Ready(Some(Ok(c))) => {
                    if self.wanted(&c) {
                        self.last = self.last.max(c.revision);
                        return Poll::Ready(Some(Ok(c)));
                    }
                }
                Poll::Ready(Some(Err(BroadcastStreamRecvError::Lagged(n)))) => {
                    self.failed = true;
                    return Poll::Ready(Some(Err(StoreError::TooOld {
                        requested: self.last,
                        oldest: self.last + n,
                    })));
                }
                // The history was replaced (a snapshot was installed): the watcher must relist.
                Poll::Ready(None) => {
                    self.failed = true;
                    return Poll::Ready(Some(Err(StoreError::TooOld {
                        requested: self.last,
                        oldest: self.last + 1,
                    })));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
