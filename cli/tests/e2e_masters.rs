//! Three `bosun master` processes: SIGKILL the leader under a write load, SIGSTOP a master
//! past an election timeout. Nothing acknowledged is lost, and no term has two leaders.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bosun_shared::client::Client;
use bosun_shared::pod::{Container, Pod};
use bosun_shared::Kind;
use bosun_tests::{free_port, wait_for_blocking, BosunProcess};
use tokio_util::sync::CancellationToken;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

struct Masters {
    procs: Vec<Option<BosunProcess>>,
    ports: Vec<u16>,
    dir: tempfile::TempDir,
}

impl Masters {
    fn args(&self, i: usize) -> Vec<String> {
        let mut a = vec![
            "--config".into(),
            self.dir
                .path()
                .join(format!("c{i}.yaml"))
                .display()
                .to_string(),
            "master".into(),
            "--name".into(),
            format!("m{}", i + 1),
            "--listen".into(),
            format!("127.0.0.1:{}", self.ports[i]),
            "--data-dir".into(),
            self.dir.path().join(format!("m{i}")).display().to_string(),
        ];
        if i > 0 {
            a.push("--join".into());
            a.push(format!("127.0.0.1:{}", self.ports[0]));
        }
        a
    }

    fn log(&self, i: usize) -> PathBuf {
        self.dir.path().join(format!("m{i}.log"))
    }

    fn start(&mut self, i: usize) -> anyhow::Result<()> {
        let args = self.args(i);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.procs[i] = Some(BosunProcess::spawn(
            bin(),
            &args,
            &[("RUST_LOG", "info"), ("NO_COLOR", "1")],
            &self.log(i),
        )?);
        Ok(())
    }

    fn launch() -> anyhow::Result<Masters> {
        let mut m = Masters {
            procs: vec![None, None, None],
            ports: (0..3).map(|_| free_port()).collect(),
            dir: tempfile::tempdir()?,
        };
        for i in 0..3 {
            m.start(i)?;
            if i == 0 {
                m.wait_status("the first master to lead", |s| {
                    s.values().any(|r| r == "leader")
                })?;
            }
        }
        m.wait_status("3 voters and a leader", |s| {
            s.len() == 3
                && s.values().filter(|r| *r == "leader").count() == 1
                && s.values().all(|r| r == "leader" || r == "follower")
        })?;
        Ok(m)
    }

    fn servers(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Member name -> role, as `bosun cluster status` prints it through any live master.
    fn status(&self) -> anyhow::Result<BTreeMap<String, String>> {
        let out = std::process::Command::new(bin())
            .args(["--server", &self.servers(), "cluster", "status"])
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .skip(1)
            .filter_map(|l| {
                let c: Vec<&str> = l.split_whitespace().collect();
                Some((c.first()?.to_string(), c.get(3)?.to_string()))
            })
            .collect())
    }

    fn wait_status(
        &self,
        what: &str,
        ok: impl Fn(&BTreeMap<String, String>) -> bool,
    ) -> anyhow::Result<()> {
        wait_for_blocking(what, DEADLINE, || {
            Ok(self.status().ok().filter(|s| ok(s)).map(drop))
        })
        .map_err(|e| {
            let logs: Vec<String> = (0..3)
                .map(|i| {
                    format!(
                        "--- m{} ---\n{}",
                        i + 1,
                        bosun_tests::tail_log(&self.log(i), 30)
                    )
                })
                .collect();
            e.context(format!(
                "last status: {:?}\n{}",
                self.status().ok(),
                logs.join("\n")
            ))
        })
    }

    fn leader(&self) -> anyhow::Result<usize> {
        wait_for_blocking("a leader", DEADLINE, || {
            Ok(self.status().ok().and_then(|s| {
                s.iter()
                    .find(|(_, r)| *r == "leader")
                    .and_then(|(n, _)| n.trim_start_matches('m').parse::<usize>().ok())
                    .map(|n| n - 1)
            }))
        })
    }

    /// Terms in which each master logged "became raft leader".
    fn leader_terms(&self) -> BTreeMap<usize, Vec<u64>> {
        (0..3)
            .map(|i| {
                let log = std::fs::read_to_string(self.log(i)).unwrap_or_default();
                let terms = log
                    .lines()
                    .filter(|l| l.contains("became raft leader"))
                    .filter_map(|l| {
                        l.split("term=")
                            .nth(1)?
                            .split_whitespace()
                            .next()?
                            .parse()
                            .ok()
                    })
                    .collect();
                (i, terms)
            })
            .collect()
    }

    fn assert_one_leader_per_term(&self) {
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for (i, terms) in self.leader_terms() {
            for t in terms {
                if let Some(other) = seen.insert(t, i) {
                    panic!("term {t} had two leaders: m{} and m{}", other + 1, i + 1);
                }
            }
        }
        assert!(!seen.is_empty(), "leader elections are logged");
    }
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
async fn write_load(servers: String, stop: CancellationToken, acked: Arc<Mutex<BTreeSet<String>>>) {
    let mut list: Vec<String> = servers.split(',').map(str::to_string).collect();
    let mut client: Option<Client> = None;
    for n in 0.. {
        if stop.is_cancelled() {
            return;
        }
        if client.is_none() {
            client = Client::connect_any(&list).await.ok();
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
    for i in 0..3 {
        let c = Client::connect(&format!("127.0.0.1:{}", m.ports[i]))
            .await
            .expect("master reachable");
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let names: BTreeSet<String> = match c.list(Kind::Pod, Some("default"), None).await {
                Ok((pods, _)) => pods.iter().map(|p| p.meta().name.clone()).collect(),
                Err(_) => BTreeSet::new(),
            };
            let missing: Vec<_> = acked.difference(&names).collect();
            if missing.is_empty() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "m{}: acknowledged writes missing: {missing:?}",
                i + 1
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_of_the_leader_under_load_loses_no_acknowledged_write() -> anyhow::Result<()> {
    let mut m = tokio::task::block_in_place(Masters::launch)?;
    let stop = CancellationToken::new();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let load = tokio::spawn(write_load(m.servers(), stop.clone(), acked.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await; // load runs before the fault
    let leader = tokio::task::block_in_place(|| m.leader())?;
    m.procs[leader].as_mut().expect("running").kill()?;
    let before = acked.lock().unwrap().len();
    // The others elect a leader and accept writes again.
    let survivors = m.clone_status_waiter(leader);
    tokio::task::block_in_place(|| survivors(&m))?;
    wait_for_blocking("writes to resume", DEADLINE, || {
        Ok((acked.lock().unwrap().len() > before + 10).then_some(()))
    })?;
    // The killed master restarts with the same command line and catches up.
    m.start(leader)?;
    tokio::task::block_in_place(|| {
        m.wait_status("the killed master to rejoin", |s| {
            s.values().filter(|r| *r == "follower").count() == 2
        })
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
    let mut m = tokio::task::block_in_place(Masters::launch)?;
    let stop = CancellationToken::new();
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let load = tokio::spawn(write_load(m.servers(), stop.clone(), acked.clone()));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let leader = tokio::task::block_in_place(|| m.leader())?;
    m.procs[leader].as_mut().expect("running").pause()?;
    // Longer than an election timeout (1-2 s): the others elect a new leader meanwhile.
    let before = acked.lock().unwrap().len();
    wait_for_blocking(
        "writes to continue without the paused master",
        DEADLINE,
        || Ok((acked.lock().unwrap().len() > before + 20).then_some(())),
    )?;
    m.procs[leader].as_mut().expect("running").resume()?;
    tokio::task::block_in_place(|| {
        m.wait_status("one leader and two followers", |s| {
            s.len() == 3
                && s.values().filter(|r| *r == "leader").count() == 1
                && s.values().filter(|r| *r == "follower").count() == 2
        })
    })?;
    stop.cancel();
    load.await?;
    let acked = acked.lock().unwrap().clone();
    all_acked_present(&m, &acked).await;
    m.assert_one_leader_per_term();
    Ok(())
}

impl Masters {
    /// A waiter for "a leader among the masters other than `dead`".
    fn clone_status_waiter(&self, dead: usize) -> impl Fn(&Masters) -> anyhow::Result<()> {
        let dead_name = format!("m{}", dead + 1);
        move |m: &Masters| {
            m.wait_status("a new leader among the survivors", |s| {
                s.iter().any(|(n, r)| *n != dead_name && r == "leader")
            })
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_the_leader_hands_over_and_the_cluster_keeps_working() -> anyhow::Result<()> {
    let m = tokio::task::block_in_place(Masters::launch)?;
    let leader = tokio::task::block_in_place(|| m.leader())?;
    let name = format!("m{}", leader + 1);
    let out = std::process::Command::new(bin())
        .args(["--server", &m.servers(), "cluster", "remove-master", &name])
        .output()?;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("master {name} removed")));
    let remaining: Vec<String> = (0..3)
        .filter(|i| *i != leader)
        .map(|i| format!("127.0.0.1:{}", m.ports[i]))
        .collect();
    // Asked through the remaining masters (the removed one may not know it was removed).
    tokio::task::block_in_place(|| {
        wait_for_blocking("two members, one leading", DEADLINE, || {
            let out = std::process::Command::new(bin())
                .args(["--server", &remaining.join(","), "cluster", "status"])
                .output()?;
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            let rows = text.lines().skip(1).count();
            let ok = rows == 2
                && !text.lines().any(|l| l.starts_with(&format!("{name} ")))
                && text.matches("leader").count() == 1;
            if !ok {
                anyhow::bail!("status: {text}{}", String::from_utf8_lossy(&out.stderr));
            }
            Ok(Some(()))
        })
    })?;
    let c = Client::connect_any(&remaining).await?;
    c.create(&pod("after-removal")).await?;
    Ok(())
}
