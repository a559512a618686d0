//! [`Hub`]: one store watch for every agent session. A pod's changes go only to the session
//! of the node it is bound to; ConfigMaps, Secrets and claims (rare, and any node's pods may
//! use them) go to every session. Without it each session watched every change of the
//! cluster itself: with N nodes each change woke N sessions (4N streams), which made the
//! dispatcher's cost grow with nodes times changes.
//!
//! The hub also keeps every node's pods ([`NodePods`]): a session subscribes and gets its
//! node's pods under the lock every change is applied and handed out under, so what it sends
//! in full and the changes it is then given neither overlap nor leave a gap, even when it
//! subscribes between two changes of one entry (which share a revision: a session that
//! skipped changes at or below the revision it was given lost the rest of a batch of bindings,
//! and their pods stayed Pending on their node). Each subscription has a bounded channel;
//! the hub never waits for a session: one that falls behind is marked lagged, and it
//! re-sends everything and subscribes again. When the hub's own watch fails, it lists the
//! pods again and every session re-sends.
//!
//! A hub without sessions for [`IDLE`] stops following the pods and drops its index, and the
//! next subscription lists them again: a leader whose followers hold every session kept an
//! index it never read (9 MB with 30,000 pods, session 20's profile).
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bosun_shared::{Kind, Object};
use futures::StreamExt;
use tokio::sync::{mpsc, watch, Notify};
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::node_pods::NodePods;
use crate::store::{Change, Store, Stored};

/// Changes a session may have waiting before it counts as lagged.
const SUBSCRIPTION_BUFFER: usize = 4096;
/// How long a hub follows the pods with no session subscribed.
pub const IDLE: Duration = Duration::from_secs(30);

/// Routes the store's changes to the sessions that need them.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Mutex<Inner>>,
    next_id: Arc<AtomicU64>,
    /// Whether the hub follows the pods (before it listed them, and while idle, nobody can
    /// subscribe).
    ready: Arc<watch::Sender<bool>>,
    /// A session wants to subscribe to an idle hub.
    wanted: Arc<Notify>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            inner: Arc::default(),
            next_id: Arc::default(),
            ready: Arc::new(watch::channel(false).0),
            wanted: Arc::default(),
        }
    }
}

struct Inner {
    subscribers: HashMap<String, Vec<Subscriber>>,
    pods: NodePods,
    /// `pods` is current, and changes are handed out (under this lock, with `ready`).
    following: bool,
    /// When a session last subscribed or ended.
    used: Instant,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            subscribers: HashMap::new(),
            pods: NodePods::default(),
            following: false,
            used: Instant::now(),
        }
    }
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
        let mut inner = self.hub.lock();
        inner.used = Instant::now();
        let subs = &mut inner.subscribers;
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
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Only map operations happen under the lock.
        self.inner.lock().expect("hub lock")
    }

    /// Subscribes the session of `node` (once the hub follows the pods): its node's pods
    /// now, and every change after them.
    pub async fn subscribe(&self, node: &str) -> (Subscription, Vec<Stored>) {
        let mut ready = self.ready.subscribe();
        let mut inner = loop {
            if !*ready.borrow_and_update() {
                self.wanted.notify_one();
            }
            // The sender lives as long as the hub.
            let _ = ready.wait_for(|ready| *ready).await;
            let inner = self.lock();
            // Gone idle between the two: ask again.
            if inner.following {
                break inner;
            }
        };
        let (tx, rx) = mpsc::channel(SUBSCRIPTION_BUFFER);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let lagged = Arc::new(AtomicBool::new(false));
        inner.used = Instant::now();
        inner
            .subscribers
            .entry(node.to_string())
            .or_default()
            .push(Subscriber {
                id,
                tx,
                lagged: lagged.clone(),
            });
        let pods = inner.pods.of(node);
        drop(inner);
        let subscription = Subscription {
            node: node.to_string(),
            id,
            rx,
            lagged,
            hub: self.clone(),
        };
        (subscription, pods)
    }

    /// Hands `c` to the sessions it concerns, never waiting: a full queue marks its session
    /// lagged.
    fn deliver(&self, c: &Change) {
        let offer = |s: &Subscriber| {
            if s.tx.try_send(c.clone()).is_err() {
                s.lagged.store(true, Ordering::Release);
            }
        };
        let mut inner = self.lock();
        inner.pods.apply(c);
        let subs = &inner.subscribers;
        match route(c) {
            Route::Node(node) => subs.get(node).into_iter().flatten().for_each(offer),
            Route::All => subs.values().flatten().for_each(offer),
            Route::Nobody => {}
        }
    }

    /// Replaces the pods (listed anew) and ends every subscription: changes between the old
    /// pods and the new may have been missed, so each session re-sends in full. Dropping the
    /// senders wakes a session waiting for its next change; marking it lagged alone left a
    /// quiet node's session waiting, without the pods bound meanwhile.
    fn reset(&self, pods: NodePods) {
        let mut inner = self.lock();
        inner.pods = pods;
        inner.following = true;
        inner.used = Instant::now();
        for s in inner.subscribers.values().flatten() {
            s.lagged.store(true, Ordering::Release);
        }
        inner.subscribers.clear();
        drop(inner);
        self.ready.send_replace(true);
    }

    /// Stops following the pods and drops them if no session has been subscribed for
    /// [`IDLE`]; true if it did.
    fn idle(&self) -> bool {
        let mut inner = self.lock();
        if !inner.subscribers.is_empty() || inner.used.elapsed() < IDLE {
            return false;
        }
        inner.following = false;
        inner.pods = NodePods::default();
        // Under the lock: a subscriber sees `ready` and `following` change together.
        self.ready.send_replace(false);
        true
    }

    /// At shutdown, a session still waiting to subscribe gets the pods the hub has (ended,
    /// it could re-send its agent an empty assignment, which would stop every pod of the
    /// node); an idle hub has none to give, and its waiting sessions end with the shutdown.
    fn release(&self) {
        let inner = self.lock();
        if inner.following {
            self.ready.send_replace(true);
        }
    }

    /// Follows the store until `shutdown`.
    pub async fn run(self, store: Store, shutdown: CancellationToken) {
        let mut idle_check = tokio::time::interval(IDLE / 4);
        loop {
            if !*self.ready.borrow() && self.lock().used.elapsed() >= IDLE {
                // Idle: nothing to follow until a session wants to subscribe.
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = self.wanted.notified() => debug!("hub: a session subscribes; listing the pods"),
                }
            }
            let (pods, revision) = store.list_stored(Kind::Pod, None, None);
            let mut watch = match store.watch(None, None, revision) {
                Ok(w) => w,
                Err(e) => {
                    debug!(error = %e, "hub: watch refused; retrying");
                    tokio::select! {
                        _ = shutdown.cancelled() => {
                            self.release();
                            return;
                        }
                        _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => continue,
                    }
                }
            };
            self.reset(NodePods::new(pods));
            loop {
                tokio::select! {
                    // The sessions end with the same shutdown. Their subscriptions stay as they
                    // are: ended, a session could re-send its agent an empty assignment, which
                    // would stop every pod of the node. A session still waiting to subscribe
                    // gets the pods the hub has.
                    _ = shutdown.cancelled() => {
                        self.release();
                        return;
                    }
                    _ = idle_check.tick() => if self.idle() {
                        debug!("hub: no session for {IDLE:?}; stopped following the pods");
                        break;
                    },
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
        p.spec.node_name = node.map(Into::into);
        Change::new(EventType::Added, Arc::new(p.into()), revision)
    }

    #[tokio::test]
    async fn pods_go_to_their_node_config_to_all() {
        let hub = Hub::default();
        hub.reset(NodePods::default());
        let (mut a, _) = hub.subscribe("a").await;
        let (mut b, _) = hub.subscribe("b").await;
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
            !hub.lock().subscribers.contains_key("b"),
            "a dropped subscription is forgotten"
        );
        // A later subscriber gets the node's pods as of now, and what follows.
        let (_a2, pods) = hub.subscribe("a").await;
        assert_eq!(pods.len(), 1);
    }

    /// One entry binds two pods to `a` (both changes carry its revision); a session that
    /// subscribes between them gets the first in full and the second as a change.
    #[tokio::test]
    async fn a_session_subscribing_inside_an_entry_gets_the_rest_of_it() {
        let hub = Hub::default();
        hub.reset(NodePods::default());
        hub.deliver(&pod_change("first", Some("a"), 7));
        let (mut a, pods) = hub.subscribe("a").await;
        assert_eq!(pods.len(), 1);
        hub.deliver(&pod_change("second", Some("a"), 7));
        let c = a.next().await.unwrap();
        assert_eq!(c.object.meta().name, "second");
        assert_eq!(c.revision, 7, "the same revision as what was sent in full");
    }

    /// The hub listed the pods again (its watch fell behind): a session waiting for a change
    /// is told at once to re-send, not at its node's next change.
    #[tokio::test]
    async fn a_relist_wakes_a_waiting_session() {
        let hub = Hub::default();
        hub.reset(NodePods::default());
        let (mut a, _) = hub.subscribe("a").await;
        let waiting = tokio::spawn(async move { a.next().await.is_none() });
        tokio::task::yield_now().await;
        hub.reset(NodePods::new(vec![Stored::new(
            pod_change("p", Some("a"), 2).object,
        )]));
        let told = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("the waiting session is woken")
            .unwrap();
        assert!(told, "told to re-send");
        let (_a, pods) = hub.subscribe("a").await;
        assert_eq!(pods.len(), 1, "the new list");
    }

    #[tokio::test]
    async fn a_session_that_falls_behind_is_told_so() {
        let hub = Hub::default();
        hub.reset(NodePods::default());
        let (mut a, _) = hub.subscribe("a").await;
        for r in 0..=SUBSCRIPTION_BUFFER as u64 {
            hub.deliver(&pod_change("p", Some("a"), r));
        }
        assert!(a.next().await.is_none(), "lagged: resend everything");
    }

    /// A hub without sessions for [`IDLE`] drops its pods; a session subscribing then asks
    /// for them, waits, and gets the pods as listed again, never the empty index.
    #[tokio::test]
    async fn an_idle_hub_drops_its_pods_and_lists_them_again_for_the_next_session() {
        let hub = Hub::default();
        let on_a = || NodePods::new(vec![Stored::new(pod_change("p", Some("a"), 2).object)]);
        hub.reset(on_a());
        let (a, pods) = hub.subscribe("a").await;
        assert_eq!(pods.len(), 1);
        let long_ago = Instant::now().checked_sub(IDLE * 2).unwrap();
        hub.lock().used = long_ago;
        assert!(!hub.idle(), "not idle while a session is subscribed");
        drop(a);
        hub.lock().used = long_ago;
        assert!(hub.idle(), "idle with no session for IDLE");
        assert!(!*hub.ready.borrow());
        assert_eq!(hub.lock().pods.of("a").len(), 0, "the index is dropped");

        let waiting = tokio::spawn({
            let hub = hub.clone();
            async move { hub.subscribe("a").await.1.len() }
        });
        tokio::time::timeout(std::time::Duration::from_secs(10), hub.wanted.notified())
            .await
            .expect("the subscribing session asks for the pods");
        assert!(!waiting.is_finished(), "it waits for the list");
        hub.reset(on_a());
        let got = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
            .await
            .expect("the session subscribes once the pods are listed")
            .unwrap();
        assert_eq!(got, 1, "the pods as listed again");
    }
}
