//! Benchmark: durable replicated writes per second and p50/p99 write latency on 3 local
//! `bosun master` processes, against a 3-member etcd on the same machine, in one run.
//!
//! For each client count (1, 16, 256 by default) `clients` tasks loop for a fixed duration, each
//! creating a new pod carrying a 256-byte annotation, and every write's latency is recorded.
//! etcd gets the same bytes: the JSON of the same pod is the value of a `put` under
//! `/registry/pods/default/<name>`. Both are driven from this process, connected to their
//! leader, with the tasks spread over a few connections. A write counts when it is acknowledged:
//! for both systems that means a quorum has it on disk (fsync); etcd runs with its defaults.
//!
//! ```sh
//! cargo build --release && cargo run --release -p bosun-tests --bin bench-store -- \
//!     [--duration 10] [--warmup 1] [--clients 1,16,256] [--connections 4] [--value-bytes 256] \
//!     [--bosun target/release/bosun] [--etcd etcd]
//! ```
//!
//! Every process and temporary directory is removed at the end, on error too (drop guards).
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use bosun_shared::client::Client;
use bosun_shared::Object;
use bosun_tests::bench::{self, padded_pod};
use bosun_tests::etcd::EtcdCluster;
use bosun_tests::masters::Joiners;
use bosun_tests::Masters;

/// A write still unanswered after this long counts as an error.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Command-line options.
struct Options {
    /// Measured seconds per client count.
    duration: Duration,
    /// Unmeasured seconds of the same load before each measurement.
    warmup: Duration,
    /// Client counts, in order.
    clients: Vec<usize>,
    /// Connections the client tasks are spread over (fewer when there are fewer tasks).
    connections: usize,
    /// Size of the annotation padding each pod.
    value_bytes: usize,
    /// The `bosun` binary.
    bosun: PathBuf,
    /// The `etcd` binary.
    etcd: PathBuf,
    /// Run etcd without TLS (for reference: Bosun has no plaintext mode).
    etcd_plaintext: bool,
}

const USAGE: &str = "usage: bench-store [--duration SECS] [--warmup SECS] [--clients 1,16,256] \
                     [--connections N] [--value-bytes N] [--bosun PATH] [--etcd PATH] \
                     [--etcd-plaintext]";

/// Parses the command line.
fn options() -> anyhow::Result<Options> {
    let mut o = Options {
        duration: Duration::from_secs(10),
        warmup: Duration::from_secs(1),
        clients: vec![1, 16, 256],
        connections: 4,
        value_bytes: 256,
        bosun: PathBuf::from("target/release/bosun"),
        etcd: PathBuf::from("etcd"),
        etcd_plaintext: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{a} needs a value; {USAGE}"))
        };
        match a.as_str() {
            "--etcd-plaintext" => o.etcd_plaintext = true,
            "--duration" => o.duration = Duration::from_secs_f64(value()?.parse()?),
            "--warmup" => o.warmup = Duration::from_secs_f64(value()?.parse()?),
            "--clients" => {
                o.clients = value()?
                    .split(',')
                    .map(|c| c.trim().parse())
                    .collect::<Result<_, _>>()?
            }
            "--connections" => o.connections = value()?.parse()?,
            "--value-bytes" => o.value_bytes = value()?.parse()?,
            "--bosun" => o.bosun = value()?.into(),
            "--etcd" => o.etcd = value()?.into(),
            other => bail!("unknown argument {other}; {USAGE}"),
        }
    }
    ensure!(
        o.connections > 0 && !o.clients.contains(&0),
        "counts must be positive"
    );
    ensure!(
        o.bosun.exists(),
        "{} does not exist: run `cargo build --release` first",
        o.bosun.display()
    );
    Ok(o)
}

// ---- the load ---------------------------------------------------------------------------------

/// One connection to the system under test; cloned into the tasks that share it.
#[derive(Clone)]
enum Writer {
    Bosun(Client),
    Etcd(etcd_client::KvClient),
}

impl Writer {
    /// Writes `pod`: a create through Bosun's API, or a put of its JSON into etcd.
    async fn write(&mut self, pod: &Object) -> anyhow::Result<()> {
        match self {
            Writer::Bosun(c) => {
                c.create(pod).await?;
            }
            Writer::Etcd(kv) => {
                let key = format!("/registry/pods/default/{}", pod.meta().name);
                kv.put(key, pod.to_json(), None).await?;
            }
        }
        Ok(())
    }
}

/// Opens `n` connections to the Bosun master at `addr`.
async fn bosun_writers(
    addr: &str,
    credentials: &bosun_shared::pki::tls::Credentials,
    n: usize,
) -> anyhow::Result<Vec<Writer>> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(Writer::Bosun(Client::connect(addr, credentials).await?));
    }
    Ok(out)
}

/// Opens `n` connections to the etcd member at `endpoint`.
async fn etcd_writers(
    endpoint: &str,
    options: Option<etcd_client::ConnectOptions>,
    n: usize,
) -> anyhow::Result<Vec<Writer>> {
    let mut out = Vec::new();
    for _ in 0..n {
        let c = etcd_client::Client::connect([endpoint], options.clone()).await?;
        out.push(Writer::Etcd(c.kv_client()));
    }
    Ok(out)
}

/// What one measured load produced.
#[derive(Debug, Default)]
struct LoadResult {
    /// Latency of every acknowledged write, sorted.
    latencies: Vec<Duration>,
    /// Writes that failed or timed out.
    errors: usize,
    /// The first error seen, for the report.
    first_error: Option<String>,
    /// From the start until the last task finished its last write.
    elapsed: Duration,
    /// CPU time the servers used meanwhile (all members together).
    server_cpu: Duration,
}

impl LoadResult {
    /// Acknowledged writes per second.
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// Server CPU time per acknowledged write, in microseconds: what a write costs, steadier
    /// than throughput on a machine whose speed varies between runs.
    fn cpu_per_write_us(&self) -> f64 {
        self.server_cpu.as_secs_f64() * 1e6 / self.latencies.len().max(1) as f64
    }

    /// The `q` quantile (nearest rank) of the latencies.
    fn quantile(&self, q: f64) -> Duration {
        bench::quantile(&self.latencies, q)
    }
}

/// What one client task recorded.
#[derive(Default)]
struct TaskRecord {
    latencies: Vec<Duration>,
    errors: usize,
    first_error: Option<String>,
}

/// Runs `clients` tasks for `duration`, task `t` writing through `writers[t % len]`, each
/// looping on the creation of a new pod named `<tag>-<t>-<seq>`.
async fn run_load(
    writers: &[Writer],
    clients: usize,
    duration: Duration,
    tag: &str,
    value_bytes: usize,
) -> anyhow::Result<LoadResult> {
    let start = Instant::now();
    let end = start + duration;
    let mut tasks = Vec::new();
    for t in 0..clients {
        let writer = writers[t % writers.len()].clone();
        let prefix: Arc<str> = format!("{tag}-{t}").into();
        tasks.push(tokio::spawn(client_task(writer, prefix, end, value_bytes)));
    }
    let mut result = LoadResult::default();
    for task in tasks {
        let rec = task.await.context("client task panicked")?;
        result.latencies.extend(rec.latencies);
        result.errors += rec.errors;
        result.first_error = result.first_error.or(rec.first_error);
    }
    result.elapsed = start.elapsed();
    result.latencies.sort_unstable();
    Ok(result)
}

/// One client: writes new pods one after the other until `end`, timing each.
async fn client_task(
    mut writer: Writer,
    prefix: Arc<str>,
    end: Instant,
    value_bytes: usize,
) -> TaskRecord {
    let mut rec = TaskRecord::default();
    let mut seq = 0u64;
    while Instant::now() < end {
        seq += 1;
        let obj = padded_pod(format!("{prefix}-{seq}"), value_bytes);
        let t0 = Instant::now();
        let outcome = tokio::time::timeout(WRITE_TIMEOUT, writer.write(&obj)).await;
        match outcome {
            Ok(Ok(())) => rec.latencies.push(t0.elapsed()),
            Ok(Err(e)) => record_error(&mut rec, format!("{e:#}")),
            Err(_) => record_error(&mut rec, "write timed out".into()),
        }
    }
    rec
}

/// Counts an error, keeping the first message.
fn record_error(rec: &mut TaskRecord, message: String) {
    rec.errors += 1;
    rec.first_error.get_or_insert(message);
}

/// Warm-up, then the measured load, for each client count in turn.
async fn measure_all(
    system: &str,
    writers: &[Writer],
    pids: &[u32],
    o: &Options,
) -> anyhow::Result<Vec<LoadResult>> {
    let mut out = Vec::new();
    for &clients in &o.clients {
        let conns = &writers[..o.connections.min(clients)];
        let tag = format!("c{clients}");
        run_load(
            conns,
            clients,
            o.warmup,
            &format!("{tag}-warm"),
            o.value_bytes,
        )
        .await?;
        let cpu_before = bench::cpu_time(pids);
        let mut r = run_load(conns, clients, o.duration, &tag, o.value_bytes).await?;
        r.server_cpu = bench::cpu_time(pids).saturating_sub(cpu_before);
        eprintln!(
            "{system:>5} {clients:>4} clients: {:>8.0} writes/s  p50 {}  p99 {}  \
             server CPU {:.0} us/write  errors {}{}",
            r.rate(),
            ms(r.quantile(0.50)),
            ms(r.quantile(0.99)),
            r.cpu_per_write_us(),
            r.errors,
            r.first_error
                .as_deref()
                .map(|e| format!(" (first: {e})"))
                .unwrap_or_default()
        );
        out.push(r);
    }
    Ok(out)
}

// ---- report -----------------------------------------------------------------------------------

/// Milliseconds with two decimals.
fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// The first line of `program args…`'s output, or what went wrong.
fn first_line(program: &Path, args: &[&str]) -> String {
    match Command::new(program).args(args).output() {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .chain(String::from_utf8_lossy(&out.stderr).lines())
            .next()
            .unwrap_or("")
            .trim()
            .to_string(),
        Err(e) => format!("<{} {}: {e}>", program.display(), args.join(" ")),
    }
}

/// Prints the table of both systems with the ratio of their throughputs.
fn print_table(o: &Options, bosun: &[LoadResult], etcd: &[LoadResult], pod_bytes: usize) {
    println!(
        "durable writes, 3 members on 127.0.0.1, {} s per client count, value {pod_bytes} bytes \
         (pod JSON with a {}-byte annotation); Bosun with mutual TLS, etcd {}",
        o.duration.as_secs_f64(),
        o.value_bytes,
        if o.etcd_plaintext {
            "in plaintext (--etcd-plaintext)"
        } else {
            "with mutual TLS (clients and peers)"
        }
    );
    println!(
        "| clients | Bosun writes/s | Bosun p50 | Bosun p99 | etcd writes/s | etcd p50 | etcd p99 \
         | Bosun / etcd writes/s | server CPU per write, Bosun / etcd |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for ((clients, b), e) in o.clients.iter().zip(bosun).zip(etcd) {
        println!(
            "| {clients} | {:.0} | {} | {} | {:.0} | {} | {} | {:.2} | {:.0} / {:.0} us |",
            b.rate(),
            ms(b.quantile(0.5)),
            ms(b.quantile(0.99)),
            e.rate(),
            ms(e.quantile(0.5)),
            ms(e.quantile(0.99)),
            b.rate() / e.rate(),
            b.cpu_per_write_us(),
            e.cpu_per_write_us()
        );
    }
    let errors: usize = bosun.iter().chain(etcd).map(|r| r.errors).sum();
    println!("failed writes: {errors}");
    bench::print_revision(&o.bosun);
    println!("{}", first_line(&o.etcd, &["--version"]));
}

/// Measures Bosun, stops it, then measures etcd.
async fn run(o: &Options) -> anyhow::Result<()> {
    let pod_bytes = padded_pod("c256-255-100000".into(), o.value_bytes)
        .to_json()
        .len();
    let conns = o
        .connections
        .min(o.clients.iter().copied().max().unwrap_or(1));

    // Each joiner a voter before the next starts (two masters joining at the same moment were
    // both given the same member id).
    let bosun_cluster = tokio::task::block_in_place(|| {
        Masters::launch(&o.bosun, "bench-store-bosun-", Joiners::OneAtATime)
    })?;
    let (_, leader) = tokio::task::block_in_place(|| bosun_cluster.leader())?;
    let leader = leader.address;
    eprintln!("bosun: 3 masters up, leader {leader}");
    let pids = bosun_cluster.pids();
    let credentials = bosun_cluster.credentials()?;
    let writers = bosun_writers(&leader, &credentials, conns).await?;
    let bosun = measure_all("bosun", &writers, &pids, o).await?;
    drop(bosun_cluster);

    let etcd_cluster = EtcdCluster::launch(&o.etcd, o.etcd_plaintext).await?;
    let leader = etcd_cluster
        .leader()
        .await?
        .context("etcd lost its leader")?;
    eprintln!("etcd: 3 members up, leader {leader}");
    let pids = etcd_cluster.pids();
    let writers = etcd_writers(&leader, etcd_cluster.connect_options(), conns).await?;
    let etcd = measure_all("etcd", &writers, &pids, o).await?;
    drop(etcd_cluster);

    print_table(o, &bosun, &etcd, pod_bytes);
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let o = options()?;
    bench::block_on(run(&o))
}
