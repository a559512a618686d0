//! Benchmark: node failure to replacement running, with Bosun's default settings (500 ms
//! heartbeats, NotReady after 3 s, pods tolerate `unreachable` for 1 s); and whether any node
//! is wrongly declared lost while both cores are fully loaded.
//!
//! A master and two agents (two nodes sharing the Docker engine) run as separate processes.
//! Per try: a Deployment of 4 replicas is spread 2 and 2; agent B is frozen with SIGSTOP; the
//! time until 4 of its containers run on node A is the figure; then B is resumed, stops the
//! pods that were replaced, and the Deployment is deleted. Then `--load-minutes` of load: one
//! spinning thread per core in this process while the cluster runs a Deployment, and the
//! nodes' Ready condition read every second; a node not Ready counts as wrongly lost.
//!
//! ```sh
//! cargo build --release && cargo run --release -p bosun-tests --bin bench-node-failure -- \
//!     [--tries 10] [--load-minutes 10] [--bosun target/release/bosun]
//! ```
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bosun_tests::agent::ExtraAgent;
use bosun_tests::bench::quantile;
use bosun_tests::docker::containers_with_label;
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};
use serde_json::Value;

const REPLICAS: usize = 4;
const DEADLINE: Duration = Duration::from_secs(120);

struct Options {
    tries: usize,
    load: Duration,
    bosun: PathBuf,
}

fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        tries: 10,
        load: Duration::from_secs(600),
        bosun: PathBuf::from("target/release/bosun"),
    };
    let mut args = std::env::args().skip(1);
    let usage = "usage: bench-node-failure [--tries N] [--load-minutes M] [--bosun PATH]";
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{a} needs a value; {usage}"))
        };
        match a.as_str() {
            "--tries" => o.tries = value()?.parse()?,
            "--load-minutes" => o.load = Duration::from_secs_f64(value()?.parse::<f64>()? * 60.0),
            "--bosun" => o.bosun = value()?.into(),
            other => bail!("unknown argument {other}; {usage}"),
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
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: spread}}\nspec:\n  replicas: {REPLICAS}\n  selector: {{matchLabels: {{app: spread}}}}\n  template:\n    metadata: {{labels: {{app: spread}}}}\n    spec:\n      terminationGracePeriodSeconds: 0\n      containers:\n      - name: sleep\n        image: {image}\n        command: [/bin/busybox, sleep, '3600']\n"
    )
}

fn running_on(node: &str) -> anyhow::Result<usize> {
    let label = format!("bosun.node={node}");
    Ok(containers_with_label(&label)?
        .iter()
        .filter(|c| c.is_running())
        .count())
}

/// Names of nodes whose Ready condition is not True.
fn not_ready(c: &TestCluster) -> anyhow::Result<Vec<String>> {
    let out = c.try_bosun_ok(&["get", "nodes", "-o", "json"])?;
    let v: Value = serde_json::from_str(&out)?;
    Ok(v["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|n| {
            !n["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .map(|n| {
            n["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect())
}

/// One try: spread, freeze B, time until A runs all replicas, resume B, clean up.
fn try_once(c: &TestCluster, b: &mut ExtraAgent, manifest: &str) -> anyhow::Result<Duration> {
    let a = c.node_name().to_string();
    c.try_bosun_ok(&["apply", "-f", manifest])?;
    wait_for_blocking("2 replicas on each node", DEADLINE, || {
        Ok((running_on(&a)? == 2 && running_on(&b.name)? == 2).then_some(()))
    })?;
    let agent = b.process.as_mut().context("agent b")?;
    agent.pause()?;
    let frozen = Instant::now();
    wait_for_blocking("every replica running on node A", DEADLINE, || {
        Ok((running_on(&a)? == REPLICAS).then_some(()))
    })?;
    let took = frozen.elapsed();
    b.process.as_mut().context("agent b")?.resume()?;
    wait_for_blocking("node B stopped what was replaced", DEADLINE, || {
        Ok((running_on(&b.name)? == 0).then_some(()))
    })?;
    wait_for_blocking("both nodes Ready again", DEADLINE, || {
        Ok(not_ready(c)?.is_empty().then_some(()))
    })?;
    c.try_bosun_ok(&["delete", "deployment", "spread"])?;
    wait_for_blocking("containers removed", DEADLINE, || {
        Ok((running_on(&a)? + running_on(&b.name)? == 0).then_some(()))
    })?;
    Ok(took)
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1000.0)
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    let image = busybox_image()?;
    let c = TestCluster::start_split(&o.bosun)?;
    c.wait_node_ready(DEADLINE)?;
    let mut b = ExtraAgent::start(&c, "b", &[])?;
    wait_for_blocking("both nodes Ready", DEADLINE, || {
        let out = c.try_bosun_ok(&["get", "nodes", "-o", "name"])?;
        Ok((out.lines().count() == 2 && not_ready(&c)?.is_empty()).then_some(()))
    })?;
    let manifest = c.write_file("spread.yaml", &deployment(&image))?;

    let mut times = Vec::new();
    for i in 0..o.tries {
        let t = try_once(&c, &mut b, &manifest)?;
        eprintln!("try {}: replaced in {}", i + 1, ms(t));
        times.push(t);
    }
    times.sort();

    // Both cores busy, the cluster running a Deployment: no node may be declared lost.
    c.try_bosun_ok(&["apply", "-f", &manifest])?;
    let stop = Arc::new(AtomicBool::new(false));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let spinners: Vec<_> = (0..cores)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let started = Instant::now();
    let (mut checks, mut lost) = (0, Vec::new());
    while started.elapsed() < o.load {
        let down = not_ready(&c)?;
        checks += 1;
        if !down.is_empty() {
            eprintln!(
                "at {:.0} s: not Ready: {down:?}",
                started.elapsed().as_secs_f64()
            );
            lost.push((started.elapsed(), down));
        }
        std::thread::sleep(Duration::from_secs(1));
    }
    stop.store(true, Ordering::Relaxed);
    for s in spinners {
        let _ = s.join();
    }
    let moved = running_on(c.node_name())? + running_on(&b.name)?;
    c.try_bosun_ok(&["delete", "deployment", "spread"])?;

    println!("node failure to replacement running, {} tries (SIGSTOP of an agent with 2 of {REPLICAS} replicas)", o.tries);
    println!("| min | median | p99 | max |");
    println!("| ---: | ---: | ---: | ---: |");
    println!(
        "| {} | {} | {} | {} |",
        ms(times[0]),
        ms(quantile(&times, 0.5)),
        ms(quantile(&times, 0.99)),
        ms(times[times.len() - 1])
    );
    println!(
        "load run: {:.1} min with {cores} spinning threads, {checks} checks of the nodes' Ready condition, {} found a node not Ready; {moved} of {REPLICAS} replicas running at the end",
        o.load.as_secs_f64() / 60.0,
        lost.len()
    );
    bosun_tests::bench::print_revision(&o.bosun);
    Ok(())
}
