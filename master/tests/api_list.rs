//! Lists over real gRPC: a list longer than one chunk comes whole, in key order, at one
//! revision, and a watch from that revision starts exactly after it. A master stops while
//! a client watches it.
mod common;

use std::collections::BTreeSet;

use bosun_master::store::Compaction;
use bosun_shared::Kind;
use common::{pod, Cluster, DEADLINE};
use futures::StreamExt;

/// More than two chunks of 500, and not a multiple of 500.
const PODS: usize = 1_234;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_list_comes_whole_in_order_and_a_watch_resumes_after_it() {
    let mut c = Cluster::start(1, Compaction::default()).await;
    let client = c.client(0).await;
    let (empty, _) = client.list(Kind::Pod, Some("default"), None).await.unwrap();
    assert!(empty.is_empty(), "an empty list is one empty chunk");
    let mut writers = Vec::new();
    for w in 0..16 {
        let client = client.clone();
        writers.push(tokio::spawn(async move {
            for i in (w..PODS).step_by(16) {
                client.create(&pod(&format!("p{i:05}"))).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    let (pods, revision) = client.list(Kind::Pod, Some("default"), None).await.unwrap();
    let names: Vec<String> = pods.iter().map(|p| p.meta().name.to_string()).collect();
    let want: Vec<String> = (0..PODS).map(|i| format!("p{i:05}")).collect();
    assert_eq!(names, want, "every pod once, in key order");
    let (raw, raw_revision) = client.list_raw(Kind::Pod, None, None).await.unwrap();
    assert_eq!(raw.len(), PODS);
    // The masters write on their own meanwhile (events): the revision only moves on.
    assert!(raw_revision >= revision);
    // Every pod was written at or before the list's revision.
    let revisions: BTreeSet<u64> = pods.iter().map(|p| p.meta().revision()).collect();
    assert!(revisions.iter().all(|r| *r <= revision));
    // A watch from the list's revision sees only what came after it: the next create, and
    // the scheduler's status updates of listed pods (no node can run them), never a listed
    // pod added again.
    let mut watch = Box::pin(
        client
            .watch(Some(Kind::Pod), Some("default"), revision)
            .await
            .unwrap(),
    );
    // On its own connection: the unread watch may fill this one's HTTP/2 window.
    let other = c.client(0).await;
    other.create(&pod("after")).await.unwrap();
    loop {
        let e = tokio::time::timeout(DEADLINE, watch.next())
            .await
            .expect("the create seen before the deadline")
            .expect("the watch goes on")
            .unwrap();
        assert!(
            e.revision > revision,
            "{} at {}",
            e.object.meta().name,
            e.revision
        );
        if e.object.meta().name == "after" {
            assert_eq!(e.event, "ADDED");
            break;
        }
        assert_eq!(e.event, "MODIFIED", "{}", e.object.meta().name);
    }
    // A master stops while a client still watches it.
    c.stop_all().await;
    drop(watch);
}
