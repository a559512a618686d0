//! Three `bosun master` processes: SIGKILL the leader under a write load, SIGSTOP a master
//! past an election timeout. Nothing acknowledged is lost, and no term has two leaders.
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_shared::client::Client;
use bosun_shared::pki::tls::Credentials;
use bosun_shared::pod::{Container, Pod};
use bosun_shared::Kind;
use bosun_tests::masters::{Joiners, MASTERS};
use bosun_tests::{wait_for_blocking, Masters};
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

/// Three masters; the two joiners start together once the first leads.
fn launch() -> anyhow::Result<Masters> {
    Masters::launch(bin(), "e2e-masters-", Joiners::AllAtOnce)
}

fn pod(name: &str) -> bosun_shared::Object {
    let mut p = Pod::default();
    p.metadata.name = name.into();
    p.metadata.namespace = "default".into();
    p.spec.containers.push(Container {
        name: "c".into(),
        image: "img".into(),
        ..Default::default()
    });
    p.into()
}

/// Writes a new pod every 20 ms through whichever master answers; returns the acknowledged names.
async fn write_load(
    servers: String,
    credentials: Credentials,
    stop: CancellationToken,
    acked: Arc<Mutex<BTreeSet<String>>>,
) {
    let mut list: Vec<String> = servers.split(',').map(str::to_string).collect();
    let mut client: Option<Client> = None;
    for n in 0.. {
        if stop.is_cancelled() {
            return;
        }
        if client.is_none() {
            client = Client::connect_any(&list, &credentials).await.ok();
        }
        let name = format!("w-{n}");
        if let Some(c) = &client {
            match tokio::time::timeout(Duration::from_secs(3), c.create(&pod(&name))).await {
                Ok(Ok(_)) => {
                    acked.lock().unwrap().insert(name);
                }
                // Unknown outcome or refused: start with another master next time.
                _ => {
                    client = None;
                    list.rotate_left(1);
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn all_acked_present(m: &Masters, acked: &BTreeSet<String>) {
    for i in 0..MASTERS {
        let c = Client::connect(&m.addr(i), &m.credentials().expect("credentials"))
            .await
            .expect("master reachable");
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let names: BTreeSet<String> = match c.list(Kind::Pod, Some("default"), None).await {
                Ok((pods, _)) => pods.iter().map(|p| p.meta().name.to_string()).collect(),
                Err(_) => BTreeSet::new(),
            };
            let missing: Vec<_> = acked.difference(&names).collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{}: acknowledged writes missing: {missing:?}",
                m.name(i)
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_leader_under_load_loses_no_acknowledged_write() -> anyhow::Result<()> {
    let m = tokio::task::block_in_place(launch)?;
    let stop = CancellationToken::new();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let load = tokio::spawn(write_load(
        m.servers(),
        m.credentials()?,
        stop.clone(),
        acked.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await; // load runs before the fault
    let (leader, _) = tokio::task::block_in_place(|| m.leader())?;
    m.kill(leader)?;
    let before = acked.lock().unwrap().len();
    // The others elect a leader and accept writes again.
    tokio::task::block_in_place(|| {
        m.wait_status("a new leader among the survivors", |s| {
            s.members
                .iter()
                .any(|r| r.index() != Some(leader) && r.role == "leader")
        })
    })?;
    wait_for_blocking("writes to resume", DEADLINE, || {
        Ok((acked.lock().unwrap().len() > before + 10).then_some(()))
    })?;
    // The killed master restarts with the same command line and catches up.
    m.start(leader)?;
    tokio::task::block_in_place(|| {
        m.wait_status("the killed master to rejoin", |s| s.count("follower") == 2)
    })?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.cancel();
    load.await?;
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 20, "the load made progress: {}", acked.len());
    all_acked_present(&m, &acked).await;
    m.assert_one_leader_per_term();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_paused_past_an_election_timeout_comes_back_without_harm() -> anyhow::Result<()> {
    let m = tokio::task::block_in_place(launch)?;
    let stop = CancellationToken::new();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let load = tokio::spawn(write_load(
        m.servers(),
        m.credentials()?,
        stop.clone(),
        acked.clone(),
    ));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (leader, _) = tokio::task::block_in_place(|| m.leader())?;
    m.pause(leader)?;
    // Longer than an election timeout (1-2 s): the others elect a new leader meanwhile.
    let before = acked.lock().unwrap().len();
    wait_for_blocking(
        "writes to continue without the paused master",
        DEADLINE,
        || Ok((acked.lock().unwrap().len() > before + 20).then_some(())),
    )?;
    m.resume(leader)?;
    tokio::task::block_in_place(|| {
        m.wait_status("one leader and two followers", |s| {
            s.members.len() == 3 && s.count("leader") == 1 && s.count("follower") == 2
        })
    })?;
    stop.cancel();
    load.await?;
    let acked = acked.lock().unwrap().clone();
    all_acked_present(&m, &acked).await;
    m.assert_one_leader_per_term();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_leader_hands_over_and_the_cluster_keeps_working() -> anyhow::Result<()> {
    let m = tokio::task::block_in_place(launch)?;
    let (leader, _) = tokio::task::block_in_place(|| m.leader())?;
    let name = m.name(leader);
    let out = std::process::Command::new(bin())
        .arg("--config")
        .arg(m.config_path(0))
        .args(["--server", &m.servers(), "cluster", "remove-master", &name])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("master {name} removed")));
    let remaining: Vec<usize> = (0..MASTERS).filter(|i| *i != leader).collect();
    // Asked through the remaining masters (the removed one may not know it was removed).
    tokio::task::block_in_place(|| {
        wait_for_blocking("two members, one leading", DEADLINE, || {
            let s = m.status_via(&remaining)?;
            let ok = s.members.len() == 2
                && !s.members.iter().any(|r| r.name == name)
                && s.count("leader") == 1;
            if !ok {
                anyhow::bail!("status: {s}");
            }
            Ok(Some(()))
        })
    })?;
    let remaining: Vec<String> = remaining.iter().map(|i| m.addr(*i)).collect();
    let c = Client::connect_any(&remaining, &m.credentials()?).await?;
    c.create(&pod("after-removal")).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_every_master_at_once_loses_no_acknowledged_write() -> anyhow::Result<()> {
    // Applied objects are checkpointed to sled only now and then; everything after the last
    // checkpoint must come back from the Raft log of each master.
    let m = tokio::task::block_in_place(launch)?;
    let stop = CancellationToken::new();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let load = tokio::spawn(write_load(
        m.servers(),
        m.credentials()?,
        stop.clone(),
        acked.clone(),
    ));
    wait_for_blocking("writes to be acknowledged", DEADLINE, || {
        Ok((acked.lock().unwrap().len() > 30).then_some(()))
    })?;
    for i in 0..MASTERS {
        m.kill(i)?;
    }
    stop.cancel();
    load.await?;
    for i in 0..MASTERS {
        m.start(i)?;
    }
    tokio::task::block_in_place(|| {
        m.wait_status("the restarted masters to elect a leader", |s| {
            s.count("leader") == 1 && s.count("follower") == 2
        })
    })?;
    let acked = acked.lock().unwrap().clone();
    all_acked_present(&m, &acked).await;
    m.assert_one_leader_per_term();
    Ok(())
}
