//! The store on a real sled directory: restarts keep every acknowledged write, watches resume.
use std::time::Duration;

use bosun_master::store::{Change, EventType, Store, StoreError};
use bosun_shared::pod::{Pod, PodPhase};
use bosun_shared::{Kind, Object};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

fn pod(name: &str) -> Object {
    let mut p = Pod::default();
    p.metadata.name = name.into();
    p.metadata.namespace = "default".into();
    p.metadata.labels.insert("app".into(), "web".into());
    p.into()
}

async fn open(dir: &std::path::Path) -> (Store, CancellationToken) {
    let shutdown = CancellationToken::new();
    let store = Store::open_single(dir, shutdown.clone()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), store.wait_leader())
        .await
        .expect("single master becomes leader");
    (store, shutdown)
}

/// Stops the Raft thread and waits until it has released the data directory.
async fn close(store: Store, shutdown: CancellationToken, _dir: &std::path::Path) {
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), store.wait_closed())
        .await
        .expect("store closes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_master_keeps_every_acknowledged_object_and_revision() {
    let dir = tempfile::tempdir().unwrap();
    let (store, shutdown) = open(dir.path()).await;
    let mut written = Vec::new();
    for i in 0..50 {
        written.push(store.create(pod(&format!("p{i}"))).await.unwrap());
    }
    let deleted = store.delete(Kind::Pod, "default", "p7").await.unwrap();
    let rev = store.revision();
    assert_eq!(deleted.meta().revision(), rev);
    close(store, shutdown, dir.path()).await;

    let (store, _shutdown) = open(dir.path()).await;
    assert!(store.revision() >= rev, "revision survives a restart");
    let (pods, _) = store.list(Kind::Pod, Some("default"), None);
    assert_eq!(pods.len(), 49);
    for w in written.iter().filter(|w| w.meta().name != "p7") {
        let got = store.get(Kind::Pod, "default", &w.meta().name).unwrap();
        assert_eq!(&got, w, "object and its resourceVersion survive");
    }
    // Revisions keep growing after the restart.
    let next = store.create(pod("after")).await.unwrap();
    assert!(next.meta().revision() > rev);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_is_compare_and_swap_on_resource_version() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _s) = open(dir.path()).await;
    let created = store.create(pod("a")).await.unwrap();
    let rv = created.meta().revision();
    let mut changed = (*created).clone();
    changed.meta_mut().labels.insert("v".into(), "2".into());
    let updated = store.update(changed.clone(), Some(rv)).await.unwrap();
    assert!(updated.meta().revision() > rv);
    let err = store.update(changed, Some(rv)).await.unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_resumed_from_a_revision_sees_every_later_change_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _s) = open(dir.path()).await;
    for i in 0..5 {
        store.create(pod(&format!("before{i}"))).await.unwrap();
    }
    let from = store.revision();
    // Changes both before the watch starts (history) and after (live).
    for i in 0..5 {
        store.create(pod(&format!("mid{i}"))).await.unwrap();
    }
    let mut watch = store.watch(Some(Kind::Pod), None, from).unwrap();
    for i in 0..5 {
        store.create(pod(&format!("late{i}"))).await.unwrap();
    }
    store.delete(Kind::Pod, "default", "mid0").await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 11 {
        let c = tokio::time::timeout(Duration::from_secs(5), watch.next())
            .await
            .expect("change arrives")
            .unwrap()
            .unwrap();
        seen.push((c.event, c.object.meta().name.clone(), c.revision));
    }
    let names: Vec<_> = seen.iter().map(|(_, n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "mid0", "mid1", "mid2", "mid3", "mid4", "late0", "late1", "late2", "late3", "late4",
            "mid0"
        ]
    );
    assert_eq!(seen[10].0, EventType::Deleted);
    assert!(
        seen.windows(2).all(|w| w[0].2 < w[1].2),
        "revisions increase"
    );
    assert!(seen.iter().all(|(_, _, r)| *r > from));
    // Nothing more: each change exactly once.
    let extra = tokio::time::timeout(Duration::from_millis(300), watch.next()).await;
    assert!(extra.is_err(), "no duplicate change");
}

/// Lists, gets and watches send each version's JSON, encoded once and shared; a version
/// that changed is never sent in its old form.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_share_one_encoding_per_version_and_never_a_stale_one() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _s) = open(dir.path()).await;
    let mut watch = store
        .watch(Some(Kind::Pod), None, store.revision())
        .unwrap();
    let created = store.create(pod("web")).await.unwrap();
    let listed = store.list_stored(Kind::Pod, Some("default"), None).0[0].json();
    assert_eq!(listed, created.to_json());
    let watched = next_change(&mut watch).await.json();
    assert_eq!(
        watched.as_ptr(),
        listed.as_ptr(),
        "one encoding for list and watch"
    );

    let Object::Pod(mut running) = (*created).clone() else {
        unreachable!("a pod")
    };
    running.status.get_or_insert_default().phase = PodPhase::Running;
    let updated = store.update_status(running.into(), None).await.unwrap();
    let listed = store.list_stored(Kind::Pod, Some("default"), None).0[0].json();
    assert_eq!(listed, updated.to_json(), "the list sends the new version");
    let got = store
        .get_stored(Kind::Pod, "default", "web")
        .0
        .unwrap()
        .json();
    assert_eq!(got.as_ptr(), listed.as_ptr());
    assert_eq!(next_change(&mut watch).await.json(), listed);
    let decoded = Object::from_json(&listed).unwrap();
    assert_eq!(decoded.as_pod().unwrap().phase(), PodPhase::Running);
}

async fn next_change(watch: &mut bosun_master::store::WatchStream) -> Change {
    tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("change arrives")
        .unwrap()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_from_before_a_restart_is_too_old() {
    let dir = tempfile::tempdir().unwrap();
    let (store, shutdown) = open(dir.path()).await;
    store.create(pod("a")).await.unwrap();
    let rev = store.revision();
    store.create(pod("b")).await.unwrap();
    close(store, shutdown, dir.path()).await;
    let (store, _s) = open(dir.path()).await;
    let err = store
        .watch(None, None, rev)
        .err()
        .expect("history is gone after restart");
    assert!(matches!(err, StoreError::TooOld { .. }), "{err}");
}

/// Opens a single master that checkpoints and compacts often: every few hundred entries.
async fn open_compacting(dir: &std::path::Path) -> (Store, CancellationToken) {
    use bosun_master::store::{Compaction, Member, Membership, NoPeers, SledStorage};
    let shutdown = CancellationToken::new();
    let me = Member {
        id: 1,
        name: "master".into(),
        address: String::new(),
    };
    let storage = SledStorage::open(dir).unwrap();
    let compaction = Compaction {
        threshold: 300,
        keep: 50,
        ..Compaction::default()
    };
    let membership = Some(Membership::Bootstrap(me));
    let store = Store::open(
        storage,
        membership,
        |_, _, _| NoPeers,
        compaction,
        shutdown.clone(),
    )
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), store.wait_leader())
        .await
        .expect("single master becomes leader");
    (store, shutdown)
}

/// Background checkpoints (every 1,000 changed keys) and compaction behind them: after
/// thousands of writes, some updated and deleted, a restart has exactly the same objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_background_checkpoints_and_compaction_keeps_every_object() {
    let dir = tempfile::tempdir().unwrap();
    let (store, shutdown) = open_compacting(dir.path()).await;
    for chunk in 0..30 {
        let writes = (0..100).map(|i| store.create(pod(&format!("p{}", chunk * 100 + i))));
        for w in futures::future::join_all(writes).await {
            w.unwrap();
        }
    }
    for i in (0..3000).step_by(7) {
        store
            .delete(Kind::Pod, "default", &format!("p{i}"))
            .await
            .unwrap();
    }
    for i in (1..3000).step_by(11) {
        let Some(o) = store.get(Kind::Pod, "default", &format!("p{i}")) else {
            continue;
        };
        let mut changed = (*o).clone();
        changed.meta_mut().labels.insert("v".into(), "2".into());
        store.update(changed, None).await.unwrap();
    }
    let (before, rev) = store.list(Kind::Pod, None, None);
    close(store, shutdown, dir.path()).await;
    // The log was compacted: it holds a few hundred of the ~3,900 entries, not all of them.
    let wal = std::fs::metadata(dir.path().join("raft.wal"))
        .unwrap()
        .len();
    assert!(
        wal < 400 * 1024,
        "raft.wal is {wal} bytes: the log was not compacted"
    );

    let (store, _shutdown) = open_compacting(dir.path()).await;
    let (after, _) = store.list(Kind::Pod, None, None);
    assert!(store.revision() >= rev);
    assert_eq!(after.len(), before.len());
    assert_eq!(
        after, before,
        "every object and its resourceVersion survive"
    );
}

/// A burst of large commands (~2.6 MB, beyond what the Raft thread applies in one step) is
/// applied whole, in order, and survives a restart: the steps go on without waiting for
/// another message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_larger_than_one_apply_step_is_applied_whole_and_in_order() {
    use bosun_master::store::{Command, Op};
    const COMMANDS: usize = 8;
    const PODS: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let (store, shutdown) = open(dir.path()).await;
    let from = store.revision();
    let mut watch = store.watch(Some(Kind::Pod), None, from).unwrap();
    let padding = "x".repeat(1024);
    let proposals = (0..COMMANDS).map(|c| {
        let ops = (0..PODS)
            .map(|i| {
                let mut p = pod(&format!("c{c}-p{i}"));
                p.meta_mut()
                    .annotations
                    .insert("padding".into(), padding.clone().into());
                bosun_master::store::stamp_new(&mut p);
                Op::Create(p)
            })
            .collect();
        store.propose(Command { ops })
    });
    for result in futures::future::join_all(proposals).await {
        assert_eq!(result.expect("command committed").len(), PODS);
    }
    let mut revisions = Vec::new();
    while revisions.len() < COMMANDS * PODS {
        let c = tokio::time::timeout(Duration::from_secs(10), watch.next())
            .await
            .expect("change arrives")
            .unwrap()
            .unwrap();
        revisions.push(c.revision);
    }
    assert!(
        revisions.windows(2).all(|w| w[0] <= w[1]),
        "changes in commit order"
    );
    close(store, shutdown, dir.path()).await;
    let (store, _shutdown) = open(dir.path()).await;
    let (pods, _) = store.list(Kind::Pod, Some("default"), None);
    assert_eq!(pods.len(), COMMANDS * PODS, "every pod after a restart");
}

/// One command creating `pods` pods named `c{c}-p{i}`.
fn creates(c: usize, pods: usize) -> bosun_master::store::Command {
    use bosun_master::store::{Command, Op};
    Command {
        ops: (0..pods)
            .map(|i| {
                let mut p = pod(&format!("c{c}-p{i}"));
                bosun_master::store::stamp_new(&mut p);
                Op::Create(p)
            })
            .collect(),
    }
}

/// A watcher further behind than the live buffer (a burst of thousands of changes, here in the
/// middle of one entry's changes) resumes from the history: every change exactly once, in
/// order, and no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watcher_behind_the_live_buffer_resumes_from_the_history() {
    use bosun_master::store::state::{HISTORY_CAPACITY, WATCH_BUFFER};
    const PODS: usize = 1_000;
    let commands = (WATCH_BUFFER + 2 * PODS) / PODS;
    assert!(commands * PODS < HISTORY_CAPACITY);
    let dir = tempfile::tempdir().unwrap();
    let (store, shutdown) = open(dir.path()).await;
    let mut watch = store
        .watch(Some(Kind::Pod), None, store.revision())
        .unwrap();
    let command = |c: usize| creates(c, PODS);
    store.propose(command(0)).await.unwrap();
    let mut names = Vec::new();
    let mut revisions = Vec::new();
    let mut take = |c: Change| {
        names.push(c.object.meta().name.clone());
        revisions.push(c.revision);
    };
    // Half of the first entry's changes, then a burst the live buffer cannot hold.
    for _ in 0..PODS / 2 {
        take(next_change(&mut watch).await);
    }
    for c in 1..commands {
        store.propose(command(c)).await.unwrap();
    }
    for _ in PODS / 2..commands * PODS {
        take(next_change(&mut watch).await);
    }
    let unique: std::collections::BTreeSet<_> = names.iter().collect();
    assert_eq!(unique.len(), commands * PODS, "every pod exactly once");
    assert!(revisions.windows(2).all(|w| w[0] <= w[1]), "in order");
    close(store, shutdown, dir.path()).await;
}

/// An object unchanged for longer than the watch history reaches cannot be watched from its own
/// resourceVersion; a get says the revision it was read at, and a watch from there works
/// (`bosun get pod NAME -w` on a busy cluster).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_get_gives_a_revision_to_watch_the_object_from() {
    use bosun_master::store::state::HISTORY_CAPACITY;
    const PODS: usize = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let (store, shutdown) = open(dir.path()).await;
    store.create(pod("old")).await.unwrap();
    let command = |c: usize| creates(c, PODS);
    for c in 0..HISTORY_CAPACITY / PODS + 1 {
        store.propose(command(c)).await.unwrap();
    }
    let (got, revision) = store.get_stored(Kind::Pod, "default", "old");
    let own = got.unwrap().object.meta().revision();
    assert!(matches!(
        store.watch(Some(Kind::Pod), None, own),
        Err(StoreError::TooOld { .. })
    ));
    assert_eq!(revision, store.revision());
    let mut watch = store.watch(Some(Kind::Pod), None, revision).unwrap();
    store.delete(Kind::Pod, "default", "old").await.unwrap();
    let c = next_change(&mut watch).await;
    assert_eq!(c.object.meta().name, "old");
    close(store, shutdown, dir.path()).await;
}
