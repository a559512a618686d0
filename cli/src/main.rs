//! `bosun`: the one binary. Client verbs in the style of kubectl (`apply`, `get`, `describe`,
//! `delete`, `logs`, `scale`, `version`) and the cluster itself (`master`, `agent`, `up`).
//!
//! - [`config`]: the client config file and default paths.
//! - [`compose`]: Docker Compose files converted into manifests (`bosun compose`).
//! - [`commands`]: one file per verb.
//! - [`output`]: tables, `-o json|yaml|name|wide|jsonpath=`, `describe` text.
//! - [`terminal`]: raw mode for `exec -it`, the terminal's size, whether to decorate.
#![forbid(unsafe_code)]

/// jemalloc, not glibc's malloc: a leader with 1,000 nodes and 30,000 pods held 860 MiB
/// resident with glibc (its per-thread arenas keep freed memory) and 519 MiB with jemalloc,
/// and every bench-scale figure was faster (docs/benchmarks.md, session 13). Its run-time
/// options (pages back to the system after 1 s) are built in by `.cargo/config.toml`.
#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod commands;
mod compose;
mod config;
mod output;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Bosun: a lightweight container orchestrator with a kubectl-style CLI.
#[derive(Parser)]
#[command(name = "bosun", version, about, propagate_version = true)]
struct Cli {
    /// Masters to talk to (host:port, comma-separated); overrides the config file.
    #[arg(long, global = true, env = "BOSUN_SERVER")]
    server: Option<String>,
    /// Serve reads from the master the client reached, without confirming they are current.
    #[arg(long, global = true)]
    stale: bool,
    /// Client config file [default: ~/.config/bosun/config.yaml].
    #[arg(long, global = true, env = "BOSUN_CONFIG")]
    config: Option<PathBuf>,
    /// Cluster (context of the config file) to use; `bosun master` and `bosun up` write
    /// theirs under this name [default: the current context; masters write "default"].
    #[arg(long, global = true, env = "BOSUN_CONTEXT")]
    context: Option<String>,
    /// Namespace of namespaced objects.
    #[arg(short, long, global = true, default_value = "default")]
    namespace: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create or update objects from manifests (files, directories or - for stdin).
    Apply(commands::apply::Args),
    /// Create objects: `bosun create namespace NAME`, or from manifests with -f.
    Create(commands::create::Args),
    /// Show what `apply -f` would change, as a unified diff.
    Diff(commands::diff::Args),
    /// Run a Docker Compose file on the cluster: up, down, convert.
    #[command(subcommand)]
    Compose(commands::compose::ComposeCommand),
    /// List objects, or show one.
    Get(commands::get::Args),
    /// Show details of an object.
    Describe(commands::describe::Args),
    /// Delete objects by kind and name, or those of manifests.
    Delete(commands::delete::Args),
    /// Print a container's logs (or merge those of a workload's pods).
    Logs(commands::logs::Args),
    /// Run a command in a container: `bosun exec -it web-1 -- sh`.
    Exec(commands::exec::Args),
    /// CPU and memory of nodes or pods, measured now.
    #[command(subcommand)]
    Top(commands::top::TopCommand),
    /// Set the number of replicas of a Deployment.
    Scale(commands::scale::Args),
    /// Follow or restart the rollout of a Deployment.
    #[command(subcommand)]
    Rollout(commands::rollout::RolloutCommand),
    /// Print client and server versions.
    Version,
    /// The kinds of object Bosun serves, with their short names.
    ApiResources,
    /// Documentation of a kind or field: `bosun explain pods.spec.containers`.
    Explain(commands::explain::Args),
    /// Shell completion script: `source <(bosun completion bash)`.
    Completion(commands::completion::Args),
    /// Mark a node unschedulable: no new pods go there.
    Cordon(commands::node::NodeArgs),
    /// Mark a node schedulable again.
    Uncordon(commands::node::NodeArgs),
    /// Cordon a node and delete its pods so their controllers run them elsewhere.
    Drain(commands::node::DrainArgs),
    /// Add or remove taints of a node: `bosun taint nodes n1 dedicated=gpu:NoSchedule`.
    Taint(commands::taint::TaintArgs),
    /// Run a master.
    Master(commands::run::MasterArgs),
    /// Run a node agent.
    Agent(commands::run::AgentArgs),
    /// Run a master and an agent in one process: a one-machine cluster.
    Up(commands::run::UpArgs),
    /// Simulate nodes in one process, for scale tests (only pods selecting
    /// bosun.dev/hollow=true run on them).
    Hollow(commands::hollow::HollowArgs),
    /// The masters: status, removal.
    #[command(subcommand)]
    Cluster(commands::cluster::ClusterCommand),
    /// Contexts of the config file (one per cluster): list, switch, show.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Nodes: remove one from the cluster for good.
    #[command(subcommand)]
    Node(commands::node::NodeCommand),
    /// Join tokens for nodes and masters: create, list, delete.
    #[command(subcommand)]
    Token(commands::token::TokenCommand),
}

/// What every client verb needs.
pub struct Context {
    pub server: Option<String>,
    pub stale: bool,
    pub config_path: PathBuf,
    /// `--context`: which cluster of the config file.
    pub context: Option<String>,
    pub namespace: String,
}

impl Context {
    /// Connects to the master the flags, environment or config file name.
    pub async fn client(&self) -> anyhow::Result<bosun_shared::client::Client> {
        let context = self.context.as_deref();
        let servers = config::resolve_servers(self.server.as_deref(), context, &self.config_path)?;
        let credentials = config::renewed_if_due(
            &self.config_path,
            context,
            &servers,
            config::load(&self.config_path)?.credentials(context, &self.config_path)?,
        )
        .await;
        Ok(
            bosun_shared::client::Client::connect_any(&servers, &credentials)
                .await?
                .with_stale(self.stale),
        )
    }
}

fn init_tracing(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let ctx = Context {
        server: cli.server,
        stale: cli.stale,
        config_path: cli.config.unwrap_or_else(config::default_path),
        context: cli.context,
        namespace: cli.namespace,
    };
    let server_side = matches!(
        cli.command,
        Command::Master(_) | Command::Agent(_) | Command::Up(_)
    );
    init_tracing(match cli.command {
        _ if server_side => "info",
        // A thousand agents' routine messages stay quiet; the hollow process's census shows.
        Command::Hollow(_) => "warn,bosun::commands::hollow=info",
        _ => "warn",
    });
    let result = match cli.command {
        Command::Apply(a) => commands::apply::run(&ctx, a).await,
        Command::Create(a) => commands::create::run(&ctx, a).await,
        Command::Diff(a) => commands::diff::run(&ctx, a).await,
        Command::Compose(c) => commands::compose::run(&ctx, c).await,
        Command::ApiResources => commands::api_resources::run(),
        Command::Explain(a) => commands::explain::run(a),
        Command::Completion(a) => commands::completion::run::<Cli>(a),
        Command::Get(a) => commands::get::run(&ctx, a).await,
        Command::Describe(a) => commands::describe::run(&ctx, a).await,
        Command::Delete(a) => commands::delete::run(&ctx, a).await,
        Command::Logs(a) => commands::logs::run(&ctx, a).await,
        Command::Exec(a) => commands::exec::run(&ctx, a).await,
        Command::Top(c) => commands::top::run(&ctx, c).await,
        Command::Scale(a) => commands::scale::run(&ctx, a).await,
        Command::Rollout(c) => commands::rollout::run(&ctx, c).await,
        Command::Version => commands::version::run(&ctx).await,
        Command::Cordon(a) => commands::node::cordon(&ctx, a, true).await,
        Command::Uncordon(a) => commands::node::cordon(&ctx, a, false).await,
        Command::Drain(a) => commands::node::drain(&ctx, a).await,
        Command::Taint(a) => commands::taint::taint(&ctx, a).await,
        Command::Master(a) => commands::run::master(&ctx, a).await,
        Command::Agent(a) => commands::run::agent(a).await,
        Command::Up(a) => commands::run::up(&ctx, a).await,
        Command::Hollow(a) => commands::hollow::run(a).await,
        Command::Cluster(c) => commands::cluster::run(&ctx, c).await,
        Command::Token(c) => commands::token::run(&ctx, c).await,
        Command::Config(c) => commands::config::run(&ctx, c),
        Command::Node(commands::node::NodeCommand::Remove(a)) => {
            commands::node::remove(&ctx, a).await
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let text = commands::error_text(&e);
            if !text.is_empty() {
                eprintln!("{text}");
            }
            ExitCode::from(u8::try_from(commands::exit_code(&e)).unwrap_or(1))
        }
    }
}
