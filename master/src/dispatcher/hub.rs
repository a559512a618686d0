//! [`Hub`]: one store watch for every agent session. A pod's changes go only to the session
//! of the node it is bound to; ConfigMaps, Secrets and claims (rare, and any node's pods may
//! use them) go to every session. Without it each session watched every change of the
//! cluster itself: with N nodes each change woke N sessions (4N streams), which made the
//! dispatcher's cost grow with nodes times changes.
//!
//! A session subscribes before it lists what it sends in full, then skips what the list
//! already held (revision at or below the list's). Each subscription has a bounded channel;
//! the hub never waits for a session: one that falls behind is marked lagged, and it
//! re-sends everything and subscribes again, as it did when its own watch fell behind.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bosun_shared::{Kind, Object};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::store::{Change, Store};

/// Changes a session may have waiting before it counts as lagged.
const SUBSCRIPTION_BUFFER: usize = 4096;

/// Routes the store's changes to the sessions that need them.
#[derive(Clone, Default)]
pub struct Hub {
    subscribers: Arc<Mutex<HashMap<String, Vec<Subscriber>>>>,
    next_id: Arc<AtomicU64>,
}

struct Subscriber {
    id: u64,
    tx: mpsc::Sender<Change>,
    lagged: Arc<AtomicBool>,
}

/// What one session receives: its node's pod changes and every config change, in order.
pub struct Subscription {
    node: String,
    id: u64,
    rx: mpsc::Receiver<Change>,
    lagged: Arc<AtomicBool>,
    hub: Hub,
}

impl Subscription {
    /// The next change; `None` when the session fell behind (or the hub stopped): it must
    /// re-send everything and subscribe again.
    pub async fn next(&mut self) -> Option<Change> {
        if self.lagged.load(Ordering::Acquire) {
            return None;
        }
        let c = self.rx.recv().await?;
        // A change dropped after this one was queued makes what is queued incomplete.
        (!self.lagged.load(Ordering::Acquire)).then_some(c)
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let mut subs = self.hub.lock();
        if let Some(list) = subs.get_mut(&self.node) {
            list.retain(|s| s.id != self.id);
            if list.is_empty() {
                subs.remove(&self.node);
            }
        }
    }
}

/// Whether the change concerns agents: pods (to their node) and what pods use (to all).
enum Route<'a> {
    Node(&'a str),
    All,
    Nobody,
}

fn route(c: &Change) -> Route<'_> {
    match &*c.object {
        Object::Pod(p) => p
            .spec
            .node_name
            .as_deref()
            .map_or(Route::Nobody, Route::Node),
        o if matches!(
            o.kind(),
            Kind::ConfigMap | Kind::Secret | Kind::PersistentVolumeClaim
        ) =>
        {
            Route::All
        }
        _ => Route::Nobody,
    }
}

impl Hub {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Subscriber>>> {
        // Only map operations happen under the lock.
        self.subscribers.lock().expect("hub lock")
    }

    /// Subscribes the session of `node`: from now on its changes are queued for it.
    pub fn subscribe(&self, node: &str) -> Subscription {
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        self.lock()
            .entry(node.to_string())
            .or_default()
            .push(Subscriber {
                id,
                tx,
                lagged: lagged.clone(),
            });
        Subscription {
            node: node.to_string(),
            id,
            rx,
            lagged,
            hub: self.clone(),
        }
    }

    /// Hands `c` to the sessions it concerns, never waiting: a full queue marks its session
    /// lagged.
    fn deliver(&self, c: &Change) {
        let offer = |s: &Subscriber| {
            if s.tx.try_send(c.clone()).is_err() {
                s.lagged.store(true, Ordering::Release);
            }
        };
        let subs = self.lock();
        match route(c) {
            Route::Node(node) => subs.get(node).into_iter().flatten().for_each(offer),
            Route::All => subs.values().flatten().for_each(offer),
            Route::Nobody => {}
        }
    }

    /// Marks every session lagged (the hub's own watch fell behind).
    fn lag_all(&self) {
        for s in self.lock().values().flatten() {
            s.lagged.store(true, Ordering::Release);
        }
    }

    /// Follows the store until `shutdown`.
    pub async fn run(self, store: Store, shutdown: CancellationToken) {
        loop {
            let mut watch = match store.watch(None, None, store.revision()) {
                Ok(w) => w,
                Err(e) => {
                    debug!(error = %e, "hub: watch refused; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            };
            // Changes before the new watch may be missed: every session catches up in full.
            self.lag_all();
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => {
                        self.lag_all();
                        return;
                    }
                    c = watch.next() => match c {
                        Some(Ok(c)) => self.deliver(&c),
                        Some(Err(e)) => {
                            debug!(error = %e, "hub: watch fell behind; every session resends");
                            break;
                        }
                        None => break,
                    },
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::EventType;
    use bosun_shared::pod::Pod;

    fn pod_change(name: &str, node: Option<&str>, revision: u64) -> Change {
        let mut p = Pod::default();
        p.metadata.name = name.into();
        p.spec.node_name = node.map(str::to_string);
        Change::new(EventType::Added, Arc::new(p.into()), revision)
    }

    #[tokio::test]
    async fn pods_go_to_their_node_config_to_all() {
        let hub = Hub::default();
        let mut a = hub.subscribe("a");
        let mut b = hub.subscribe("b");
        hub.deliver(&pod_change("on-a", Some("a"), 1));
        hub.deliver(&pod_change("pending", None, 2));
        let mut cm = bosun_shared::configmap::ConfigMap::default();
        cm.metadata.name = "cm".into();
        hub.deliver(&Change::new(EventType::Added, Arc::new(cm.into()), 3));
        assert_eq!(a.next().await.unwrap().revision, 1);
        assert_eq!(a.next().await.unwrap().revision, 3);
        assert_eq!(
            b.next().await.unwrap().revision,
            3,
            "b gets only the ConfigMap"
        );
        drop(b);
        assert!(
            !hub.lock().contains_key("b"),
            "a dropped subscription is forgotten"
        );
    }

    #[tokio::test]
    async fn a_session_that_falls_behind_is_told_so() {
        let hub = Hub::default();
        let mut a = hub.subscribe("a");
        for r in 0..=SUBSCRIPTION_BUFFER as u64 {
            hub.deliver(&pod_change("p", Some("a"), r));
        }
        assert!(a.next().await.is_none(), "lagged: resend everything");
    }
}
