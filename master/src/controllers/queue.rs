//! [`WorkQueue`]: deduplicated keys waiting for reconcile, and [`follow_changes`], which feeds
//! store changes (or "resync everything") to a controller.
use std::collections::{HashSet, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Duration;

use bosun_shared::CompactString;
use futures::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{Change, Store, StoreError};

/// How often every object is reconciled even without changes.
pub const RESYNC_PERIOD: Duration = Duration::from_secs(10);

/// Keys to reconcile; a key queued twice is reconciled once.
pub struct WorkQueue<K> {
    inner: Mutex<(VecDeque<K>, HashSet<K>)>,
    notify: Notify,
}

impl<K: Clone + Eq + Hash> Default for WorkQueue<K> {
    fn default() -> Self {
        WorkQueue {
            inner: Mutex::new((VecDeque::new(), HashSet::new())),
            notify: Notify::new(),
        }
    }
}

impl<K: Clone + Eq + Hash> WorkQueue<K> {
    fn lock(&self) -> std::sync::MutexGuard<'_, (VecDeque<K>, HashSet<K>)> {
        // Only push/pop happen under the lock.
        self.inner.lock().expect("work queue lock")
    }

    pub fn add(&self, key: K) {
        let mut g = self.lock();
        if g.1.insert(key.clone()) {
            g.0.push_back(key);
            drop(g);
            self.notify.notify_one();
        }
    }

    /// The next key, waiting for one; `None` once `shutdown` is cancelled.
    pub async fn next(&self, shutdown: &CancellationToken) -> Option<K> {
        loop {
            let notified = self.notify.notified();
            {
                let mut g = self.lock();
                if let Some(k) = g.0.pop_front() {
                    g.1.remove(&k);
                    return Some(k);
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return None,
                _ = notified => {}
            }
        }
    }
}

/// What a controller is told: one change, or that it must look at everything.
pub enum Signal<'a> {
    Changed(&'a Change),
    ResyncAll,
}

/// Calls `on` for every store change from now on, and with `ResyncAll` at the start, every
/// [`RESYNC_PERIOD`], and whenever the watch fell behind. Returns when `shutdown` is cancelled.
pub async fn follow_changes(
    store: &Store,
    shutdown: &CancellationToken,
    mut on: impl FnMut(Signal<'_>),
) {
    let mut resync = tokio::time::interval(RESYNC_PERIOD);
    'outer: loop {
        let Ok(mut watch) = store.watch(None, None, store.revision()) else {
            // The revision just read is never older than the history floor.
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        on(Signal::ResyncAll);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = resync.tick() => on(Signal::ResyncAll),
                c = watch.next() => match c {
                    Some(Ok(c)) => on(Signal::Changed(&c)),
                    _ => continue 'outer,
                },
            }
        }
    }
}

/// First retry of something that failed (a conflicting write, a lost leadership); each
/// further consecutive failure doubles the wait, up to [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
/// Longest wait before a retry: an object that keeps failing costs a reconcile every 30 s, not
/// ten a second (client-go's rate-limited queue does the same, capped at 1,000 s).
const RETRY_MAX: Duration = Duration::from_secs(30);

/// Consecutive failures per key, and the wait they earn.
struct Backoff<K> {
    failures: std::collections::HashMap<K, u32>,
}

impl<K: Eq + Hash> Default for Backoff<K> {
    fn default() -> Self {
        Backoff {
            failures: std::collections::HashMap::new(),
        }
    }
}

impl<K: Eq + Hash> Backoff<K> {
    /// Records a failure of `key`; the wait before its retry.
    fn failed(&mut self, key: K) -> Duration {
        let n = self.failures.entry(key).or_insert(0);
        *n = n.saturating_add(1);
        RETRY_FIRST
            .saturating_mul(1 << (*n - 1).min(16))
            .min(RETRY_MAX)
    }

    /// `key` succeeded: its next failure waits the least again.
    fn succeeded(&mut self, key: &K) {
        self.failures.remove(key);
    }
}

/// Runs `pass` for a controller that looks at everything at once (the scheduler, the garbage
/// collector): at the start, after every change `relevant` picks (waiting `batch_window` so a
/// burst becomes one pass), and every [`RESYNC_PERIOD`]. A failed pass is retried.
pub async fn run_passes<F, Fut>(
    name: &str,
    store: &Store,
    shutdown: &CancellationToken,
    relevant: impl Fn(&Change) -> bool,
    batch_window: Duration,
    mut pass: F,
) where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let wake = Notify::new();
    let feed = follow_changes(store, shutdown, |s| {
        if matches!(s, Signal::ResyncAll) || matches!(s, Signal::Changed(c) if relevant(c)) {
            wake.notify_one();
        }
    });
    let work = async {
        let mut backoff = Backoff::default();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
            }
            tokio::time::sleep(batch_window).await;
            match pass().await {
                Ok(()) => backoff.succeeded(&()),
                Err(e) => {
                    let wait = backoff.failed(());
                    log_failure(name, None, &e, wait);
                    wake.notify_one();
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(wait) => {}
                    }
                }
            }
        }
    };
    tokio::join!(feed, work);
}

/// A namespaced object's key in a work queue: (namespace, name).
pub type Key = (CompactString, CompactString);

/// Runs a controller that reconciles one object at a time: `keys_of` names the objects a
/// change concerns (the changed object, or the owner of a changed pod), `all` lists every
/// object for the periodic resync, and `reconcile` is retried when it fails, after 100 ms
/// doubling per consecutive failure of that object up to 30 s (other objects go on meanwhile).
/// `reconcile` may ask to be called again after a delay (a back-off, a deadline) even if
/// nothing changes.
pub async fn reconcile_loop<F, Fut, K>(
    name: &str,
    store: &Store,
    shutdown: &CancellationToken,
    keys_of: impl Fn(&Change) -> K,
    all: impl Fn() -> Vec<Key>,
    reconcile: F,
) where
    F: Fn(Key) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Duration>, StoreError>>,
    K: IntoIterator<Item = Key>,
{
    let queue: WorkQueue<Key> = WorkQueue::default();
    let feed = follow_changes(store, shutdown, |s| match s {
        Signal::ResyncAll => all().into_iter().for_each(|k| queue.add(k)),
        Signal::Changed(c) => keys_of(c).into_iter().for_each(|k| queue.add(k)),
    });
    // Keys to requeue at an instant; one entry per key (the earliest asked for).
    let timers: Mutex<std::collections::HashMap<Key, tokio::time::Instant>> = Mutex::default();
    let lock = || {
        timers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    let ticker = async {
        let mut tick = tokio::time::interval(TIMER_GRANULARITY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let now = tokio::time::Instant::now();
            let due: Vec<Key> = lock()
                .iter()
                .filter(|(_, at)| **at <= now)
                .map(|(k, _)| k.clone())
                .collect();
            for k in due {
                lock().remove(&k);
                queue.add(k);
            }
        }
    };
    let work = async {
        let mut backoff = Backoff::default();
        while let Some(key) = queue.next(shutdown).await {
            match reconcile(key.clone()).await {
                // The latest answer is the one that holds: no timer, or a new one.
                Ok(None) => {
                    backoff.succeeded(&key);
                    lock().remove(&key);
                }
                Ok(Some(after)) => {
                    backoff.succeeded(&key);
                    let at = tokio::time::Instant::now() + after.min(MAX_REQUEUE);
                    lock().insert(key, at);
                }
                Err(e) => {
                    let wait = backoff.failed(key.clone());
                    log_failure(name, Some(&key), &e, wait);
                    lock().insert(key, tokio::time::Instant::now() + wait);
                }
            }
        }
    };
    tokio::join!(feed, ticker, work);
}

/// Logs a failed pass or reconcile. A conflict (another writer was first) or a lost
/// leadership is expected and retried at once: debug. Anything else is a fault a user must
/// be able to see (a ReplicaSet that cannot create its pods): warn.
fn log_failure(controller: &str, key: Option<&Key>, e: &StoreError, wait: Duration) {
    let object = key.map(|k| format!("{}/{}", k.0, k.1)).unwrap_or_default();
    match e {
        StoreError::Conflict { .. } | StoreError::NotLeader { .. } => {
            tracing::debug!(controller, object, error = %e, ?wait, "failed; retrying")
        }
        _ => tracing::warn!(controller, object, error = %e, ?wait, "failed; retrying"),
    }
}

/// Longest requeue delay kept (a later time is reached through resyncs and changes).
const MAX_REQUEUE: Duration = Duration::from_secs(3600);
/// How precisely a requested requeue time is kept.
const TIMER_GRANULARITY: Duration = Duration::from_millis(100);

/// The key of the controller of kind `owner_kind` of a changed pod.
pub fn owner_key(c: &Change, owner_kind: &str) -> Option<Key> {
    let p = c.object.as_pod()?;
    let owner = p.metadata.controller().filter(|o| o.kind == owner_kind)?;
    Some((p.metadata.namespace.clone(), owner.name.clone()))
}

/// The keys of every object of `kind`.
pub fn all_keys(store: &Store, kind: bosun_shared::Kind) -> Vec<Key> {
    store
        .list(kind, None, None)
        .0
        .iter()
        .map(|o| (o.meta().namespace.clone(), o.meta().name.clone()))
        .collect()
}

/// The pods among `objects`, borrowed.
pub fn pods(objects: &[std::sync::Arc<bosun_shared::Object>]) -> Vec<&bosun_shared::pod::Pod> {
    objects.iter().filter_map(|o| o.as_pod()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_per_consecutive_failure_and_reset_on_success() {
        let mut b = Backoff::default();
        let waits: Vec<_> = (0..12).map(|_| b.failed("a")).collect();
        assert_eq!(waits[0], RETRY_FIRST);
        assert_eq!(waits[1], RETRY_FIRST * 2);
        assert_eq!(waits[3], RETRY_FIRST * 8);
        assert_eq!(waits[11], RETRY_MAX);
        assert_eq!(b.failed("b"), RETRY_FIRST, "keys back off on their own");
        b.succeeded(&"a");
        assert_eq!(b.failed("a"), RETRY_FIRST);
    }
}
