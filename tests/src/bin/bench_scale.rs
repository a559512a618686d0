//! Benchmark: scale on hollow nodes. Three `bosun master` processes and one `bosun hollow`
//! process of `--nodes` simulated nodes, on this machine.
//!
//! - **schedule**: `--pods` pods that select the hollow nodes are created by `--clients`
//!   concurrent writers; the figure is pods bound per second (binding committed through Raft),
//!   from the first create to the last binding seen on a watch; then the time until every pod
//!   is reported Running by its node.
//! - **deploy**: a Deployment of `--replicas` replicas is created; the time until its
//!   `readyReplicas` reaches them.
//! - **memory**: resident memory of each master and of the hollow process (and so per hollow
//!   node), sampled every second through the whole run: 95th percentile and peak.
//!
//! The figures are printed, then appended to `docs/benchmarks.md` with the machine, the commit
//! and the command line (`--no-record` to skip).
//!
//! ```sh
//! cargo build --release && cargo run --release -p bosun-tests --bin bench-scale -- \
//!     [--nodes 1000] [--pods 10000] [--replicas 10000] [--clients 64] [--no-record] \
//!     [--bosun target/release/bosun]
//! ```
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bosun_shared::client::Client;
use bosun_shared::deployment::Deployment;
use bosun_shared::node::HOLLOW_LABEL;
use bosun_shared::pod::{Container, Pod, PodPhase};
use bosun_shared::{Kind, Object};
use bosun_tests::bench::{self, quantile};
use bosun_tests::masters::Joiners;
use bosun_tests::{BosunProcess, Masters};
use futures::StreamExt;

const USAGE: &str = "usage: bench-scale [--nodes N] [--pods N] [--replicas N] [--clients N] \
                     [--no-record] [--bosun PATH]";
/// How long any one phase may take.
const DEADLINE: Duration = Duration::from_secs(600);

struct Options {
    nodes: usize,
    pods: usize,
    replicas: usize,
    clients: usize,
    record: bool,
    bosun: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        nodes: 1000,
        pods: 10_000,
        replicas: 10_000,
        clients: 64,
        record: true,
        bosun: PathBuf::from("target/release/bosun"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{a} needs a value; {USAGE}"))
        };
        match a.as_str() {
            "--nodes" => o.nodes = value()?.parse()?,
            "--pods" => o.pods = value()?.parse()?,
            "--replicas" => o.replicas = value()?.parse()?,
            "--clients" => o.clients = value()?.parse()?,
            "--no-record" => o.record = false,
            "--bosun" => o.bosun = value()?.into(),
            other => bail!("unknown argument {other}; {USAGE}"),
        }
    }
    if !o.bosun.exists() {
        bail!(
            "{} does not exist: run `cargo build --release` first",
            o.bosun.display()
        );
    }
    Ok(o)
}

/// A pod for the hollow nodes, not yet bound.
fn hollow_pod(name: String) -> Object {
    let mut p = Pod::default();
    p.metadata.name = name;
    p.metadata.namespace = "default".into();
    p.metadata.labels.insert("bench".into(), "schedule".into());
    p.spec
        .node_selector
        .insert(HOLLOW_LABEL.into(), "true".into());
    p.spec.containers.push(Container {
        name: "c".into(),
        image: "simulated:1".into(),
        ..Default::default()
    });
    p.into()
}

/// Resident memory of `pid` in bytes (`VmRSS`), if it runs.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Samples the resident memory of each process every second until `stop`.
struct Sampler {
    samples: Arc<Mutex<Vec<Vec<u64>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pids: Vec<u32>) -> Sampler {
        let samples = Arc::new(Mutex::new(vec![Vec::new(); pids.len()]));
        let stop = Arc::new(AtomicBool::new(false));
        let (s, st) = (samples.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                {
                    let mut s = s.lock().unwrap_or_else(|e| e.into_inner());
                    for (i, pid) in pids.iter().enumerate() {
                        if let Some(b) = rss(*pid) {
                            s[i].push(b);
                        }
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
        });
        Sampler {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// (p95, peak) per process, in bytes.
    fn finish(mut self) -> Vec<(u64, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let samples = self.samples.lock().unwrap_or_else(|e| e.into_inner());
        samples
            .iter()
            .map(|v| {
                let mut d: Vec<Duration> = v.iter().map(|b| Duration::from_nanos(*b)).collect();
                d.sort();
                let p95 = quantile(&d, 0.95).as_nanos() as u64;
                (p95, v.iter().copied().max().unwrap_or(0))
            })
            .collect()
    }
}

fn mib(b: u64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

/// Waits until every hollow node is Ready.
async fn nodes_ready(client: &Client, want: usize) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let selector = format!("{HOLLOW_LABEL}=true");
    loop {
        let (nodes, _) = client.list(Kind::Node, None, Some(&selector)).await?;
        let ready = nodes
            .iter()
            .filter_map(Object::as_node)
            .filter(|n| n.is_ready())
            .count();
        if ready >= want {
            return Ok(start.elapsed());
        }
        if start.elapsed() > DEADLINE {
            bail!("{ready} of {want} hollow nodes Ready after {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Schedule scenario: (creation seconds, bound pods/s, seconds until all Running).
async fn schedule(client: &Client, o: &Options) -> anyhow::Result<(f64, f64, f64)> {
    let (_, revision) = client.list(Kind::Pod, Some("default"), None).await?;
    let mut changes = Box::pin(
        client
            .watch(Some(Kind::Pod), Some("default"), revision)
            .await?,
    );
    let start = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = Vec::new();
    for _ in 0..o.clients {
        let (client, next, total) = (client.clone(), next.clone(), o.pods);
        writers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(());
                }
                create_retrying(&client, hollow_pod(format!("sched-{i}"))).await?;
            }
        }));
    }
    let mut bound = HashSet::new();
    let mut running = HashSet::new();
    let mut all_bound = None;
    let mut created_at = None;
    let mut report = tokio::time::interval(Duration::from_secs(1));
    let waiting = async {
        loop {
            let event = tokio::select! {
                e = changes.next() => e,
                _ = report.tick() => {
                    eprintln!(
                        "  {:>5.1} s: {} bound, {} running",
                        start.elapsed().as_secs_f64(),
                        bound.len(),
                        running.len()
                    );
                    continue;
                }
            };
            let Some(event) = event else { break };
            let event = match event {
                Ok(e) => e,
                // Fell behind the store's history, or the master changed: count from a fresh
                // list, watch from there.
                Err(e) => {
                    eprintln!("  watch: {e}; listing again");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    let (pods, revision) = client.list(Kind::Pod, Some("default"), None).await?;
                    for p in pods.iter().filter_map(Object::as_pod) {
                        note(p, &mut bound, &mut running);
                    }
                    changes = Box::pin(
                        client
                            .watch(Some(Kind::Pod), Some("default"), revision)
                            .await?,
                    );
                    continue;
                }
            };
            let Some(p) = event.object.as_pod() else {
                continue;
            };
            note(p, &mut bound, &mut running);
            if all_bound.is_none() && bound.len() == o.pods {
                all_bound = Some(start.elapsed());
            }
            if running.len() == o.pods {
                return anyhow::Ok(start.elapsed());
            }
        }
        bail!("the watch ended")
    };
    let writes = async {
        for w in writers {
            w.await??;
        }
        created_at = Some(start.elapsed());
        anyhow::Ok(())
    };
    let (all_running, written) =
        tokio::time::timeout(DEADLINE, async { tokio::join!(waiting, writes) })
            .await
            .context("schedule scenario timed out")?;
    written?;
    let all_running = all_running?;
    let bound_after = all_bound.context("never all bound")?;
    Ok((
        created_at.unwrap_or_default().as_secs_f64(),
        o.pods as f64 / bound_after.as_secs_f64(),
        all_running.as_secs_f64(),
    ))
}

/// Creates `obj`, retrying while the masters change leader (a create whose outcome was
/// unknown and that did land counts).
async fn create_retrying(client: &Client, obj: Object) -> anyhow::Result<()> {
    let mut last = None;
    for _ in 0..50 {
        match client.create(&obj).await {
            Ok(_) => return Ok(()),
            Err(e) if e.to_string().contains("already exists") && last.is_some() => return Ok(()),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Err(last
        .map(anyhow::Error::from)
        .unwrap_or_else(|| anyhow::anyhow!("create failed")))
}

/// Counts a benchmark pod as bound and as running when it is.
fn note(p: &Pod, bound: &mut HashSet<String>, running: &mut HashSet<String>) {
    if !p.metadata.name.starts_with("sched-") {
        return;
    }
    if p.spec.node_name.is_some() {
        bound.insert(p.metadata.name.clone());
    }
    if p.phase() == PodPhase::Running {
        running.insert(p.metadata.name.clone());
    }
}

/// Deploy scenario: seconds from the create until every replica is ready.
async fn deploy(client: &Client, o: &Options) -> anyhow::Result<f64> {
    let manifest = format!(
        r#"{{"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {{"name": "fleet", "namespace": "default"}},
            "spec": {{"replicas": {}, "selector": {{"matchLabels": {{"app": "fleet"}}}},
              "template": {{"metadata": {{"labels": {{"app": "fleet"}}}},
                "spec": {{"nodeSelector": {{"{HOLLOW_LABEL}": "true"}},
                  "containers": [{{"name": "app", "image": "simulated:1"}}]}}}}}}}}"#,
        o.replicas
    );
    let d: Deployment = serde_json::from_str(&manifest)?;
    let start = Instant::now();
    create_retrying(client, Object::Deployment(d)).await?;
    loop {
        let Ok(obj) = client.get(Kind::Deployment, "default", "fleet").await else {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let ready = obj
            .as_deployment()
            .and_then(|d| d.status.as_ref())
            .map_or(0, |s| s.ready_replicas);
        if ready as usize >= o.replicas {
            return Ok(start.elapsed().as_secs_f64());
        }
        if start.elapsed() > DEADLINE {
            bail!(
                "{ready} of {} replicas ready after {DEADLINE:?}",
                o.replicas
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Deletes every pod and Deployment the scenarios made, and waits until the pods are gone.
async fn clean(client: &Client) -> anyhow::Result<()> {
    let _ = client.delete(Kind::Deployment, "default", "fleet").await;
    let (pods, _) = client.list(Kind::Pod, Some("default"), None).await?;
    for p in pods {
        let _ = client.delete(Kind::Pod, "default", &p.meta().name).await;
    }
    Ok(())
}

/// `/proc/cpuinfo`'s model name, the number of CPUs and the memory: the machine, for the record.
fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cpus = cpu.lines().filter(|l| l.starts_with("processor")).count();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib: u64 = mem
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    format!(
        "{cpus} x {model}, {:.0} GiB",
        kib as f64 / (1024.0 * 1024.0)
    )
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    bench::print_revision(&o.bosun);
    bench::block_on(run(o))
}

async fn run(o: Options) -> anyhow::Result<()> {
    let masters = tokio::task::block_in_place(|| {
        Masters::launch(&o.bosun, "bench-scale-", Joiners::AllAtOnce)
    })?;
    let dir = masters
        .config_path(0)
        .parent()
        .context("masters dir")?
        .to_path_buf();
    let token = std::fs::read_to_string(dir.join("m1").join("node-token"))?;
    let nodes = o.nodes.to_string();
    let hollow_dir = dir.join("hollow");
    let servers = masters.servers();
    let hollow = BosunProcess::spawn(
        &o.bosun,
        &[
            "hollow",
            "--nodes",
            &nodes,
            "--master",
            &servers,
            "--token",
            token.trim(),
            "--data-dir",
            hollow_dir.to_str().context("hollow dir")?,
        ],
        &[],
        &dir.join("hollow.log"),
    )?;
    let mut pids = masters.pids();
    pids.push(hollow.pid());
    let sampler = Sampler::start(pids.clone());
    let (leader, _) = tokio::task::block_in_place(|| masters.leader())?;
    let credentials = masters.credentials()?;
    let client = Client::connect(&masters.addr(leader), &credentials).await?;

    let joined = nodes_ready(&client, o.nodes).await?;
    println!(
        "{} hollow nodes Ready in {:.1} s",
        o.nodes,
        joined.as_secs_f64()
    );
    let (created, bound_rate, all_running) = schedule(&client, &o).await?;
    println!(
        "schedule: {} pods created in {created:.1} s; bound {bound_rate:.0} pods/s; all Running after {all_running:.1} s",
        o.pods
    );
    clean(&client).await?;
    let deployed = deploy(&client, &o).await?;
    println!(
        "deploy: {} replicas ready {deployed:.1} s after create",
        o.replicas
    );
    let memory = sampler.finish();
    let mut rows = vec![
        format!(
            "| hollow nodes Ready after start | {:.1} s |",
            joined.as_secs_f64()
        ),
        format!(
            "| schedule: {} pods created by {} clients | {created:.1} s |",
            o.pods, o.clients
        ),
        format!("| schedule: bound and committed | {bound_rate:.0} pods/s |"),
        format!("| schedule: all Running after the first create | {all_running:.1} s |"),
        format!(
            "| deploy: {} replicas ready after create | {deployed:.1} s |",
            o.replicas
        ),
    ];
    for (i, (p95, peak)) in memory.iter().enumerate() {
        let what = if i < pids.len() - 1 {
            format!("master m{} RSS", i + 1)
        } else {
            format!("hollow process RSS ({} nodes)", o.nodes)
        };
        rows.push(format!(
            "| {what}, p95 / peak | {} / {} |",
            mib(*p95),
            mib(*peak)
        ));
    }
    if let Some((p95, _)) = memory.last() {
        let per = *p95 as f64 / o.nodes.max(1) as f64 / 1024.0;
        rows.push(format!("| per hollow node, p95 | {per:.0} KiB |"));
    }
    let table = format!("| measure | figure |\n|---|---|\n{}\n", rows.join("\n"));
    println!("\n{table}");
    drop(hollow);
    if o.record {
        record(&table)?;
    }
    Ok(())
}

/// Appends the figures to `docs/benchmarks.md` with the machine, the commit and the command.
fn record(table: &str) -> anyhow::Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/benchmarks.md");
    let command: Vec<String> = std::env::args().skip(1).collect();
    let entry = format!(
        "\n### bench-scale, {}\n\nMachine: {}. Commit {}. Command: `cargo run --release -p \
         bosun-tests --bin bench-scale -- {}`\n\n{table}",
        bosun_tests::bench::today(),
        machine(),
        bench::bosun_revision(),
        command.join(" ")
    );
    let mut text = std::fs::read_to_string(&path).with_context(|| format!("{}", path.display()))?;
    text.push_str(&entry);
    std::fs::write(&path, text)?;
    println!("recorded in {}", path.display());
    Ok(())
}
