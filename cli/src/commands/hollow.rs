//! `bosun hollow --nodes N --master ADDR --token T`: N simulated nodes in one process, for
//! scale tests. Each is a real agent (its own certificate, session, heartbeats, reconciler and
//! status reports) on an in-memory engine whose containers start after `--start-delay-ms` and
//! exit after `--exit-after` seconds if given. Every hollow node carries
//! `bosun.dev/hollow=true`, and only pods that select that label run on one.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use bosun_agent::agent::{Agent, AgentConfig};
use bosun_agent::runtime::fake::{Behaviour, FakeRuntime};
use bosun_shared::node::HOLLOW_LABEL;
use bosun_shared::pki::JoinToken;
use bosun_shared::quantity::Quantity;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::run::{cancel_on_signal, parse_label};
use crate::config;

#[derive(clap::Args)]
pub struct HollowArgs {
    /// How many nodes to simulate.
    #[arg(long, default_value_t = 10)]
    pub nodes: usize,
    /// The masters' addresses (host:port, comma-separated).
    #[arg(long, env = "BOSUN_MASTER", value_delimiter = ',', required = true)]
    pub master: Vec<String>,
    /// Node join token (each node joins with it once, then keeps its certificate).
    #[arg(long, env = "BOSUN_TOKEN")]
    pub token: Option<JoinToken>,
    /// Node names are <prefix>-<number>.
    #[arg(long, default_value = "hollow")]
    pub name_prefix: String,
    /// Where the nodes keep their certificates and assignments, one directory each
    /// [default: ~/.local/share/bosun/hollow].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// CPU each node offers.
    #[arg(long, default_value = "4")]
    pub cpu: Quantity,
    /// Memory each node offers.
    #[arg(long, default_value = "16Gi")]
    pub memory: Quantity,
    /// Milliseconds a container takes to start.
    #[arg(long, default_value_t = 0)]
    pub start_delay_ms: u64,
    /// Containers exit on their own this many seconds after they start [default: they run
    /// until stopped].
    #[arg(long)]
    pub exit_after: Option<f64>,
    /// The code they exit with then.
    #[arg(long, default_value_t = 0)]
    pub exit_code: i64,
    /// More node labels, k=v (repeatable).
    #[arg(long = "label", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

/// Nodes started per second: joining makes a key pair and asks the master to sign it.
const STARTS_PER_SECOND: u64 = 200;

pub async fn run(args: HollowArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let cpu_millis = args.cpu.millis().context("--cpu")?;
    let memory_bytes = args.memory.value().context("--memory")?;
    let exit_after = args
        .exit_after
        .map(Duration::try_from_secs_f64)
        .transpose()
        .context("--exit-after")?;
    let behaviour = Behaviour {
        any_image: true,
        start_delay: Duration::from_millis(args.start_delay_ms),
        run_for: exit_after,
        exit_code: args.exit_code,
        // Init containers complete at once, so pods that have them run.
        init_run_for: Some(Duration::ZERO),
    };
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| config::default_data_dir().join("hollow"));
    let mut labels: std::collections::BTreeMap<String, String> = args.labels.into_iter().collect();
    labels.insert(HOLLOW_LABEL.into(), "true".into());
    let tasks = TaskTracker::new();
    let mut runtimes = Vec::with_capacity(args.nodes);
    let mut pace = tokio::time::interval(Duration::from_micros(1_000_000 / STARTS_PER_SECOND));
    for i in 0..args.nodes {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = pace.tick() => {}
        }
        let name = format!("{}-{i}", args.name_prefix);
        bosun_shared::names::validate_dns1123_subdomain(&name)
            .map_err(|e| anyhow::anyhow!("node name {name:?}: {e}"))?;
        let config = AgentConfig {
            name: name.clone(),
            masters: args.master.clone(),
            data_dir: data_dir.join(&name),
            labels: labels.clone(),
            address: "127.0.0.1".into(),
            token: args.token.clone(),
            credentials: None,
            simulated: true,
        };
        let runtime = FakeRuntime::new(cpu_millis, memory_bytes).with_behaviour(behaviour.clone());
        let runtime = Arc::new(runtime);
        runtimes.push(runtime.clone());
        let agent = Agent { config, runtime };
        let shutdown = shutdown.clone();
        tasks.spawn(async move {
            if let Err(e) = agent.run(shutdown).await {
                tracing::error!(node = %name, error = %e, "hollow node stopped");
            }
        });
    }
    tasks.spawn(census(runtimes, shutdown.clone()));
    tasks.close();
    println!(
        "{} hollow nodes ({}-0 to {}-{}) running against {}",
        args.nodes,
        args.name_prefix,
        args.name_prefix,
        args.nodes.saturating_sub(1),
        args.master.join(",")
    );
    tasks.wait().await;
    Ok(())
}

/// How often the hollow process logs what its nodes hold.
const CENSUS_EVERY: Duration = Duration::from_secs(10);

/// Logs, every [`CENSUS_EVERY`], how many containers the hollow nodes hold, by state, and the
/// most any one node holds: what the masters asked for, seen from the nodes.
async fn census(runtimes: Vec<Arc<FakeRuntime>>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(CENSUS_EVERY);
    tick.tick().await;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let (mut running, mut other, mut most) = (0usize, 0usize, 0usize);
        for r in &runtimes {
            let containers = r.containers();
            most = most.max(containers.len());
            for c in containers {
                if c.observed.state == bosun_agent::runtime::RunState::Running {
                    running += 1;
                } else {
                    other += 1;
                }
            }
        }
        tracing::info!(
            nodes = runtimes.len(),
            running,
            not_running = other,
            most_on_one_node = most,
            "hollow nodes' containers"
        );
    }
}
