//! Events on a real store: a repeat is counted on the stored event, not stored again; a burst
//! beyond `MAX_EVENTS` never has more stored, the oldest going first; pruning keeps at most
//! `MAX_EVENTS`, the newest; many similar events about one object are combined.
use std::time::Duration;

use bosun_master::events::aggregate::{COMBINED, MAX_SIMILAR};
use bosun_master::events::{EventWriter, Recorder, MAX_EVENTS};
use bosun_master::peers::Writer;
use bosun_master::store::Store;
use bosun_shared::event::{Event, ObjectReference, NORMAL, WARNING};
use bosun_shared::Kind;
use tokio_util::sync::CancellationToken;

fn about(pod: &str, reason: &str, message: &str) -> Event {
    let involved = ObjectReference {
        kind: "Pod".into(),
        namespace: "default".into(),
        name: pod.into(),
        uid: format!("uid-{pod}"),
        field_path: String::new(),
    };
    Event::about(involved, WARNING, reason, message, "test")
}

fn events(store: &Store) -> Vec<Event> {
    let (objects, _) = store.list(Kind::Event, None, None);
    objects
        .iter()
        .filter_map(|o| o.as_event().cloned())
        .collect()
}

async fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !ok() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A single master's store in `dir` and an event writer storing what the recorder gets.
async fn open(dir: &std::path::Path) -> (Store, Recorder, CancellationToken) {
    let shutdown = CancellationToken::new();
    let store = Store::open_single(dir, shutdown.clone()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), store.wait_leader())
        .await
        .expect("single master becomes leader");
    let (recorder, rx) = Recorder::channel();
    let writer = EventWriter {
        store: store.clone(),
        writer: Writer::single(store.clone()),
        rx,
    };
    tokio::spawn(writer.run(shutdown.clone()));
    (store, recorder, shutdown)
}

async fn close(store: Store, shutdown: CancellationToken) {
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), store.wait_closed())
        .await
        .expect("store closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeats_are_counted_and_the_store_keeps_a_bounded_number() {
    let dir = tempfile::tempdir().unwrap();
    let (store, recorder, shutdown) = open(dir.path()).await;

    // The same thing three times, one at a time: one event, counted three times.
    for i in 1..=3 {
        recorder.record(about(
            "web",
            "BackOff",
            "Back-off restarting failed container c",
        ));
        wait_until("the repeat counted", || {
            events(&store).iter().map(|e| e.count).sum::<i32>() == i
        })
        .await;
    }
    let stored = events(&store);
    assert_eq!(stored.len(), 1, "{stored:?}");
    let e = &stored[0];
    assert_eq!(e.count, 3);
    assert!(e.metadata.name.starts_with("web."), "{}", e.metadata.name);
    assert_eq!(e.metadata.namespace, "default");
    assert!(e.first_timestamp.is_some() && e.last_timestamp.is_some());
    assert_eq!(e.involved_object.uid, "uid-web");

    // A different message is a different event. Beyond MAX_EVENTS, the writer deletes the
    // oldest it created in the entry that stores new ones: the store never holds more.
    let mut most = 0;
    let last = MAX_EVENTS + 99;
    for i in 0..=last {
        let pod = format!("p{i}");
        recorder.record(about(&pod, "FailedScheduling", "0/1 nodes are available"));
        if i % 500 == 499 || i == last {
            // The queue is bounded (EVENTS_CAPACITY) and drops what does not fit: let the
            // writer store everything so far before queuing more.
            wait_until("the burst stored", || {
                let stored = events(&store);
                most = most.max(stored.len());
                stored.iter().any(|e| e.involved_object.name == pod)
            })
            .await;
        }
    }
    let stored = events(&store);
    assert_eq!(stored.len(), MAX_EVENTS);
    assert!(most <= MAX_EVENTS, "{most} events stored at once");
    let named = |name: &str| stored.iter().any(|e| e.involved_object.name == name);
    // 2,101 created (web, p0..=p2099): web and p0..=p99 went.
    assert!(
        !named("web") && !named("p0") && !named("p99"),
        "the oldest went first"
    );
    assert!(named("p100") && named(&format!("p{last}")));

    // Events the writer did not create (an earlier leader's) are bounded by the prune, which
    // keeps the newest MAX_EVENTS.
    for i in 0..50 {
        let mut e = about(
            &format!("q{i}"),
            "FailedScheduling",
            "0/1 nodes are available",
        );
        e.metadata.name = format!("q{i}.0000000000000000").into();
        e.metadata.namespace = "default".into();
        e.last_timestamp = Some(bosun_shared::time::now_rfc3339().to_string());
        store.create(e.into()).await.unwrap();
    }
    assert_eq!(events(&store).len(), MAX_EVENTS + 50);
    let pruner = EventWriter {
        store: store.clone(),
        writer: Writer::single(store.clone()),
        rx: Recorder::channel().1,
    };
    pruner.prune().await;
    let after = events(&store);
    assert_eq!(after.len(), MAX_EVENTS);
    let named = |name: &str| after.iter().any(|e| e.involved_object.name == name);
    assert!(!named("p100") && !named("p149"), "the oldest went first");
    assert!(named("p150") && named("q49"));
    close(store, shutdown).await;
}

/// A ReplicaSet creating 100 pods reports 100 `SuccessfulCreate` events: the first ten are
/// stored apart, the other 90 as one combined event counted 90 times (Kubernetes'
/// aggregator), not 100 objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_similar_events_about_one_object_are_combined() {
    let dir = tempfile::tempdir().unwrap();
    let (store, recorder, shutdown) = open(dir.path()).await;
    let rs = ObjectReference {
        kind: "ReplicaSet".into(),
        namespace: "default".into(),
        name: "web-5d8f".into(),
        uid: "uid-web-5d8f".into(),
        field_path: String::new(),
    };
    for i in 0..100 {
        let message = format!("Created pod: web-5d8f-{i:05}");
        recorder.record(Event::about(
            rs.clone(),
            NORMAL,
            "SuccessfulCreate",
            message,
            "replicaset-controller",
        ));
    }
    wait_until("every creation counted", || {
        events(&store).iter().map(|e| e.count).sum::<i32>() == 100
    })
    .await;
    let stored = events(&store);
    assert_eq!(stored.len(), MAX_SIMILAR + 1, "{stored:?}");
    let combined: Vec<&Event> = stored
        .iter()
        .filter(|e| e.message.starts_with(COMBINED))
        .collect();
    assert_eq!(combined.len(), 1, "{stored:?}");
    assert_eq!(combined[0].count, 90);
    assert_eq!(
        combined[0].message,
        format!("{COMBINED}Created pod: web-5d8f-00099"),
        "the latest message"
    );
    close(store, shutdown).await;
}
