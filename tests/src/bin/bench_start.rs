//! Benchmark: time from `bosun apply` of a 10-replica Deployment to 10 running containers,
//! against 10 plain `docker run -d` of the same image, in one run; and the resident memory of an
//! idle master and an idle agent.
//!
//! ```sh
//! cargo build --release && cargo run --release -p bosun-tests --bin bench-start -- [--rounds 5] [--bosun target/release/bosun]
//! ```
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bosun_tests::docker::{containers_with_label, remove_by_label};
use bosun_tests::{bench, busybox_image, wait_for_blocking, TestCluster};

const REPLICAS: usize = 10;
const DEADLINE: Duration = Duration::from_secs(120);
const PEER_LABEL: &str = "bosun-bench=docker-run";

struct Options {
    rounds: usize,
    bosun: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        rounds: 5,
        bosun: PathBuf::from("target/release/bosun"),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => o.rounds = args.next().context("--rounds N")?.parse()?,
            "--bosun" => o.bosun = args.next().context("--bosun PATH")?.into(),
            other => {
                bail!("unknown argument {other}; usage: bench-start [--rounds N] [--bosun PATH]")
            }
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

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: bench}}\nspec:\n  replicas: {REPLICAS}\n  selector: {{matchLabels: {{app: bench}}}}\n  template:\n    metadata: {{labels: {{app: bench}}}}\n    spec:\n      terminationGracePeriodSeconds: 0\n      containers:\n      - name: sleep\n        image: {image}\n        command: [/bin/busybox, sleep, '3600']\n"
    )
}

fn running_with_label(label: &str) -> anyhow::Result<usize> {
    Ok(containers_with_label(label)?
        .iter()
        .filter(|c| c.is_running())
        .count())
}

/// One Bosun round: apply, wait for 10 running containers, delete, wait for none.
fn bosun_round(c: &TestCluster, manifest: &str) -> anyhow::Result<Duration> {
    let label = c.node_label();
    let start = Instant::now();
    c.try_bosun_ok(&["apply", "-f", manifest])?;
    wait_for_blocking("10 running containers", DEADLINE, || {
        Ok((running_with_label(&label)? == REPLICAS).then_some(()))
    })?;
    let took = start.elapsed();
    c.try_bosun_ok(&["delete", "deployment", "bench"])?;
    wait_for_blocking("containers removed", DEADLINE, || {
        Ok(containers_with_label(&label)?.is_empty().then_some(()))
    })?;
    Ok(took)
}

fn docker_run(image: &str, i: usize) -> anyhow::Result<std::process::Child> {
    Ok(Command::new("docker")
        .args([
            "run",
            "-d",
            "--label",
            PEER_LABEL,
            "--name",
            &format!("bosun-bench-{i}"),
        ])
        .args([image, "/bin/busybox", "sleep", "3600"])
        .stdout(std::process::Stdio::null())
        .spawn()?)
}

/// One peer round: 10 `docker run -d` (one after the other, or all at once), then remove them.
fn docker_round(image: &str, parallel: bool) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let mut children = Vec::new();
    for i in 0..REPLICAS {
        let child = docker_run(image, i)?;
        if parallel {
            children.push(child);
        } else {
            children.push(child);
            let status = children.pop().context("child")?.wait()?;
            if !status.success() {
                bail!("docker run failed");
            }
        }
    }
    for mut child in children {
        if !child.wait()?.success() {
            bail!("docker run failed");
        }
    }
    wait_for_blocking("10 running", DEADLINE, || {
        Ok((running_with_label(PEER_LABEL)? == REPLICAS).then_some(()))
    })?;
    let took = start.elapsed();
    remove_by_label(PEER_LABEL)?;
    Ok(took)
}

fn resident(pid: u32) -> anyhow::Result<bench::Resident> {
    bench::resident(pid).with_context(|| format!("resident memory of process {pid}"))
}

/// "total KiB (anonymous KiB)".
fn kib(r: bench::Resident) -> String {
    format!("{} KiB ({} KiB anonymous)", r.total / 1024, r.anon / 1024)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    let image = busybox_image()?;
    remove_by_label(PEER_LABEL)?;

    let mut c = TestCluster::start_split(&o.bosun)?;
    c.wait_node_ready(DEADLINE)?;
    let manifest = c.write_file("bench.yaml", &deployment(&image))?;

    // Idle memory, before any pod ran.
    std::thread::sleep(Duration::from_secs(3));
    let master_pid = c.master_process().context("master")?.pid();
    let agent_pid = c.agent_process().context("agent")?.pid();
    let (master_idle, agent_idle) = (resident(master_pid)?, resident(agent_pid)?);

    let (mut bosun, mut docker, mut docker_par) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..o.rounds {
        // Alternate which goes first, so none always runs on a warmer engine.
        if round % 2 == 0 {
            bosun.push(bosun_round(&c, &manifest)?);
            docker.push(docker_round(&image, false)?);
            docker_par.push(docker_round(&image, true)?);
        } else {
            docker_par.push(docker_round(&image, true)?);
            docker.push(docker_round(&image, false)?);
            bosun.push(bosun_round(&c, &manifest)?);
        }
        eprintln!(
            "round {}: bosun {} / docker run {} / parallel docker run {}",
            round + 1,
            ms(bosun[round]),
            ms(docker[round]),
            ms(docker_par[round])
        );
    }
    let (b, d, p) = (median(bosun), median(docker), median(docker_par));
    // Memory after the rounds, with the 10 pods' history behind them.
    let (master_after, agent_after) = (resident(master_pid)?, resident(agent_pid)?);

    println!("start {REPLICAS} containers ({} rounds, median)", o.rounds);
    println!("  bosun apply -> {REPLICAS} running    {}", ms(b));
    println!("  {REPLICAS} x docker run -d          {}", ms(d));
    println!("  {REPLICAS} x docker run -d at once  {}", ms(p));
    println!(
        "  ratio bosun / docker run      {:.2}",
        b.as_secs_f64() / d.as_secs_f64()
    );
    println!(
        "  ratio bosun / parallel run    {:.2}",
        b.as_secs_f64() / p.as_secs_f64()
    );
    // VmRSS counts the pages of the bosun binary a process has mapped (shared by every process
    // running it, and reclaimable); RssAnon is the memory the process alone holds.
    println!("resident memory: VmRSS (RssAnon)");
    println!("  idle master                   {}", kib(master_idle));
    println!("  idle agent                    {}", kib(agent_idle));
    println!("  master after the rounds       {}", kib(master_after));
    println!("  agent after the rounds        {}", kib(agent_after));
    Ok(())
}
