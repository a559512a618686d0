//! Three and five masters on real gRPC sockets: replication, failover, restart, catch-up by
//! snapshot, partitions, membership changes.
mod common;

use std::time::Duration;

use bosun_master::store::Compaction;
use bosun_shared::Kind;
use common::{pod, wait_for, Cluster, DEADLINE};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_masters_replicate_fail_over_and_catch_up() {
    let mut c = Cluster::start(3, Compaction::default()).await;
    let leader = c.leader().await;
    let follower = (leader + 1) % 3;
    // Writes through a follower are forwarded to the leader.
    let client = c.client(follower).await;
    for i in 0..20 {
        client
            .create(&pod(&format!("a{i}")))
            .await
            .expect("write through a follower");
    }
    // Linearizable reads on every master see every acknowledged write.
    for i in 0..3 {
        let (pods, _) = c
            .client(i)
            .await
            .list(Kind::Pod, Some("default"), None)
            .await
            .unwrap();
        assert_eq!(pods.len(), 20, "master {i}");
    }
    // Kill the leader: the others elect a new one and keep accepting writes.
    c.kill(leader).await;
    let new_leader = c.leader().await;
    assert_ne!(new_leader, leader);
    for i in 0..10 {
        c.create_retrying(&pod(&format!("b{i}"))).await;
    }
    // The killed master comes back on its data directory and catches up.
    c.restart(leader).await;
    let back = c.client(leader).await;
    wait_for("the restarted master to catch up", DEADLINE, || async {
        let (pods, _) = back
            .clone()
            .with_stale(true)
            .list(Kind::Pod, Some("default"), None)
            .await
            .ok()?;
        (pods.len() == 30).then_some(())
    })
    .await;
    let (pods, _) = back.list(Kind::Pod, Some("default"), None).await.unwrap();
    assert_eq!(pods.len(), 30);
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lagging_follower_catches_up_through_a_snapshot() {
    let compaction = Compaction {
        threshold: 30,
        keep: 5,
        lagging_bytes: 0,
        ..Compaction::default()
    };
    let first = lagging_follower_catches_up(compaction, 0).await;
    assert!(
        first > 50,
        "the leader's log was not compacted: from {first}"
    );
}

/// A log of few but large entries is compacted by its bytes, and a follower it left behind
/// catches up the same way.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_log_is_compacted_by_its_bytes() {
    let compaction = Compaction {
        threshold: u64::MAX,
        threshold_bytes: 8 << 10,
        keep: u64::MAX,
        keep_bytes: 2 << 10,
        lagging_bytes: 0,
    };
    let first = lagging_follower_catches_up(compaction, 0).await;
    assert!(
        first > 50,
        "the leader's log was not compacted: from {first}"
    );
}

/// While its log is small, the leader keeps what a lagging follower still needs: the follower
/// catches up from the log, without a snapshot of every object.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_keeps_entries_a_lagging_follower_needs() {
    let compaction = Compaction {
        threshold: 30,
        keep: 5,
        ..Compaction::default()
    };
    let first = lagging_follower_catches_up(compaction, 0).await;
    assert!(
        first < 50,
        "the leader compacted past its follower: from {first}"
    );
}

/// A follower that fell behind by more than the entries the leader holds in memory catches up
/// from the log all the same: the older entries are read back from the leader's log file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lagging_follower_catches_up_from_entries_read_back_from_the_log() {
    // 100 pods of 40 KiB: 4 MB of entries, twice what a master keeps in memory.
    let first = lagging_follower_catches_up(Compaction::default(), 40 << 10).await;
    assert!(first < 50, "the leader compacted its log: from {first}");
}

/// Isolates a follower, writes 100 pods (each with an annotation of `pad` bytes), heals the
/// network and waits for the follower to hold the leader's objects, also after a restart.
/// Returns the first index of the leader's log before the network healed.
async fn lagging_follower_catches_up(compaction: Compaction, pad: usize) -> u64 {
    let mut c = Cluster::start(3, compaction).await;
    let leader = c.leader().await;
    let lagging = (leader + 1) % 3;
    let all = c.ids();
    let lag_id = c.status(lagging).unwrap().id;
    c.faults.isolate(lag_id, &all);
    for i in 0..100 {
        let mut p = pod(&format!("p{i}"));
        if pad > 0 {
            p.meta_mut()
                .annotations
                .insert("bosun.dev/pad".into(), "x".repeat(pad).into());
        }
        c.create_retrying(&p).await;
    }
    let first = c.status(leader).unwrap().first_index;
    c.faults.heal();
    let lag_client = c.client(lagging).await.with_stale(true);
    wait_for("the lagging follower to catch up", DEADLINE, || async {
        let (pods, _) = lag_client
            .list(Kind::Pod, Some("default"), None)
            .await
            .ok()?;
        (pods.len() == 100).then_some(())
    })
    .await;
    // Restarted from its snapshot plus log, it has exactly the leader's objects once it has
    // applied its log again (it serves stale reads from the checkpoint meanwhile; entries
    // beyond the newest 2 MiB are read back from its log file).
    c.kill(lagging).await;
    c.restart(lagging).await;
    let (theirs, _) = c
        .client(leader)
        .await
        .list(Kind::Pod, None, None)
        .await
        .unwrap();
    let again = c.client(lagging).await.with_stale(true);
    let mut mine = vec![];
    // Waits for the two to agree, up to the deadline; after it the assertion shows the
    // difference.
    let _ = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok((pods, _)) = again.list(Kind::Pod, None, None).await {
                mine = pods;
                if mine == theirs {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(mine, theirs, "the restarted follower's objects");
    c.stop_all().await;
    first
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_isolated_leader_neither_writes_nor_serves_linearizable_reads() {
    let mut c = Cluster::start(3, Compaction::default()).await;
    let old = c.leader().await;
    let all = c.ids();
    let old_id = c.status(old).unwrap().id;
    c.client(old).await.create(&pod("before")).await.unwrap();
    c.faults.isolate(old_id, &all);
    // The majority elects a new leader and accepts writes.
    let new = wait_for("a new leader on the majority side", DEADLINE, || async {
        (0..3).find(|i| *i != old && c.status(*i).is_some_and(|s| s.is_leader))
    })
    .await;
    c.client(new)
        .await
        .create(&pod("during"))
        .await
        .expect("majority write");
    // The old leader, cut off, accepts no write and serves no linearizable read.
    let isolated = c.client(old).await;
    let write = tokio::time::timeout(Duration::from_secs(10), isolated.create(&pod("lost"))).await;
    assert!(
        !matches!(write, Ok(Ok(_))),
        "an isolated master must not accept a write"
    );
    let read = tokio::time::timeout(
        Duration::from_secs(10),
        isolated.get(Kind::Pod, "default", "during"),
    )
    .await;
    assert!(
        !matches!(read, Ok(Ok(_))),
        "an isolated master must not serve a linearizable read"
    );
    c.faults.heal();
    wait_for(
        "the old leader to see the majority's write",
        DEADLINE,
        || async { isolated.get(Kind::Pod, "default", "during").await.ok() },
    )
    .await;
    assert!(
        c.client(new)
            .await
            .get(Kind::Pod, "default", "lost")
            .await
            .is_err(),
        "no write from the minority"
    );
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn five_masters_survive_loss_delay_and_a_membership_change_during_a_partition() {
    let mut c = Cluster::start(5, Compaction::default()).await;
    c.faults.drop_share(0.2);
    c.faults.delay(Duration::from_millis(5));
    let leader = c.leader().await;
    let client = c.client(leader).await;
    for i in 0..20 {
        // Writes may fail while leadership moves under message loss; retry each.
        wait_for("a write under message loss", DEADLINE, || async {
            let cl = c.client(c.leader().await).await;
            match cl.create(&pod(&format!("x{i}"))).await {
                Ok(_) => Some(()),
                Err(bosun_shared::client::ClientError::AlreadyExists(_)) => Some(()),
                Err(_) => None,
            }
        })
        .await;
    }
    drop(client);
    c.faults.heal();
    // Partition one follower, then remove another master while it is cut off.
    let leader = c.leader().await;
    let all = c.ids();
    let cut = (leader + 1) % 5;
    let removed = (leader + 2) % 5;
    c.faults.isolate(c.status(cut).unwrap().id, &all);
    let removed_name = c.nodes[removed].name.clone();
    let mut cl =
        bosun_proto::v1::cluster_client::ClusterClient::new(c.client(leader).await.channel());
    cl.remove_master(bosun_proto::v1::RemoveMasterRequest { name: removed_name })
        .await
        .expect("removal with a member partitioned");
    let removed_id = c.status(removed).unwrap().id;
    wait_for("the removal to apply", DEADLINE, || async {
        let s = c.status(c.leader().await)?;
        (!s.voters.contains(&removed_id) && s.voters.len() == 4).then_some(())
    })
    .await;
    c.faults.heal();
    // The cut-off member catches up with the new configuration and every write.
    let cut_client = c.client(cut).await.with_stale(true);
    wait_for("the partitioned member to catch up", DEADLINE, || async {
        let (pods, _) = cut_client.list(Kind::Pod, None, None).await.ok()?;
        let s = c.status(cut)?;
        (pods.len() == 20 && !s.voters.contains(&removed_id)).then_some(())
    })
    .await;
    c.stop_all().await;
}
