//! Benchmark: scale on hollow nodes. Three `bosun master` processes and one `bosun hollow`
//! process of `--nodes` simulated nodes, on this machine.
//!
//! - **schedule**: `--pods` pods that select the hollow nodes are created by `--clients`
//!   concurrent writers; the figure is pods bound per second (binding committed through Raft),
//!   from the first create to the last binding seen on a watch; then the time until every pod
//!   is reported Running by its node.
//! - **api**: with every scheduled pod still stored, write and list latency at a steady
//!   churn with watchers, for `--api-seconds` ([`api`]).
//! - **delete**: every pod is deleted (by `--clients` writers); the time until the last is
//!   gone, its containers stopped by its node.
//! - **deploy**: a Deployment of `--replicas` replicas is created; the time until every
//!   replica is bound (its ReplicaSet creates them in entries of 500 proposed together, so
//!   this is the controllers' and the scheduler's rate, not the clients'), and until its
//!   `readyReplicas` reaches them.
//! - **memory**: resident memory of each master and of the hollow process (and so per hollow
//!   node), sampled every second through the whole run: 95th percentile and peak.
//! - **CPU**: the cores each master, the hollow process and the benchmark's own clients used in
//!   each phase ([`cpu`]).
//! - **elections**: the leaders elected in each phase, from the masters' logs ([`elections`]).
//!
//! The figures are printed, then appended to `docs/benchmarks.md` with the machine, the commit
//! and the command line (`--no-record` to skip).
//!
//! ```sh
//! cargo build --release && cargo run --release -p bosun-tests --bin bench-scale -- \
//!     [--nodes 1000] [--pods 10000] [--replicas 10000] [--clients 64] [--api-seconds 30] \
//!     [--no-record] [--bosun target/release/bosun]
//! ```
mod api;
mod cpu;
mod elections;
mod memory;
mod schedule;

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use bosun_shared::client::Client;
use bosun_tests::bench;
use bosun_tests::masters::Joiners;
use bosun_tests::{BosunProcess, Masters};
use memory::{mib, Sampler};

const USAGE: &str = "usage: bench-scale [--nodes N] [--pods N] [--replicas N] [--clients N] \
                     [--api-seconds N] [--no-record] [--bosun PATH]";
/// How long any one phase may take.
pub const DEADLINE: Duration = Duration::from_secs(600);

pub struct Options {
    pub nodes: usize,
    pub pods: usize,
    pub replicas: usize,
    pub clients: usize,
    pub api_seconds: u64,
    pub record: bool,
    pub bosun: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        nodes: 1000,
        pods: 10_000,
        replicas: 10_000,
        clients: 64,
        api_seconds: 30,
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
            "--api-seconds" => o.api_seconds = value()?.parse()?,
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

/// Copies the processes' logs out of the run's directory (removed when the run ends), so that
/// a run can be read afterwards (why it failed, what an election was about): into
/// `bench-scale-logs` under the system's temporary directory.
fn keep_logs(dir: &Path) {
    let keep = std::env::temp_dir().join("bench-scale-logs");
    let _ = std::fs::remove_dir_all(&keep);
    let _ = std::fs::create_dir_all(&keep);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "log") {
            let _ = std::fs::copy(&path, keep.join(entry.file_name()));
        }
    }
    eprintln!("logs kept in {}", keep.display());
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
    let result = phases(&o, &masters, sampler, pids).await;
    keep_logs(&dir);
    drop(hollow);
    result
}

/// Runs the scenarios and reports them.
async fn phases(
    o: &Options,
    masters: &Masters,
    sampler: Sampler,
    pids: Vec<u32>,
) -> anyhow::Result<()> {
    let (leader, _) = tokio::task::block_in_place(|| masters.leader())?;
    let credentials = masters.credentials()?;
    let client = Client::connect(&masters.addr(leader), &credentials).await?;

    // The masters, the hollow process, and this benchmark's own clients.
    let cpu_pids = pids.iter().copied().chain([std::process::id()]).collect();
    let mut cpu = cpu::PhaseCpu::start(cpu_pids);
    let logs = (0..pids.len() - 1).map(|i| masters.log_path(i)).collect();
    let mut elections = elections::PhaseElections::start(logs);
    let mut end = |phase| {
        cpu.end(phase);
        elections.end(phase);
    };
    let joined = schedule::nodes_ready(&client, o.nodes).await?;
    end("join");
    println!(
        "{} hollow nodes Ready in {:.1} s",
        o.nodes,
        joined.as_secs_f64()
    );
    let (created, bound_rate, all_running) = schedule::schedule(&client, o).await?;
    end("schedule");
    println!(
        "schedule: {} pods created in {created:.1} s; bound {bound_rate:.0} pods/s; all Running after {all_running:.1} s",
        o.pods
    );
    let latency = api::run(&masters.addr(leader), &credentials, o.api_seconds).await?;
    end("api");
    for row in latency.rows(o.api_seconds) {
        println!("{row}");
    }
    let deleted = schedule::delete_all(&client, o).await?;
    end("delete");
    println!(
        "delete: {} pods gone {deleted:.1} s after the first delete",
        o.pods
    );
    let (deploy_bound, deployed) = schedule::deploy(&client, o).await?;
    end("deploy");
    // The clients create one Deployment: this is the controllers' and the scheduler's rate.
    let deploy_rate = o.replicas as f64 / deploy_bound;
    println!(
        "deploy: {} replicas bound {deploy_bound:.1} s after create ({deploy_rate:.0} pods/s), ready after {deployed:.1} s",
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
    ];
    rows.extend(latency.rows(o.api_seconds));
    rows.extend([
        format!(
            "| delete: {} pods gone after the first delete | {deleted:.1} s |",
            o.pods
        ),
        format!(
            "| deploy: {} replicas bound after create | {deploy_bound:.1} s ({deploy_rate:.0} pods/s) |",
            o.replicas
        ),
        format!(
            "| deploy: {} replicas ready after create | {deployed:.1} s |",
            o.replicas
        ),
    ]);
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
    let who: Vec<String> = (1..pids.len())
        .map(|i| format!("m{i}"))
        .chain(["hollow".to_string(), "bench clients".to_string()])
        .collect();
    rows.extend(cpu.rows(&who.join(" / ")));
    rows.push(elections.row());
    let table = format!("| measure | figure |\n|---|---|\n{}\n", rows.join("\n"));
    println!("\n{table}");
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
