//! `bosun master`, `bosun agent` and `bosun up`: the cluster's own processes.
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use bosun_agent::agent::{Agent, AgentConfig};
use bosun_agent::runtime::docker::DockerRuntime;
use bosun_master::server::{Master, MasterConfig};
use bosun_shared::pki::JoinToken;
use tokio_util::sync::CancellationToken;

use crate::config;
use crate::Context;

#[derive(clap::Args)]
pub struct MasterArgs {
    /// Name of this master [default: the host name].
    #[arg(long)]
    pub name: Option<String>,
    /// Address for clients and agents (port 0: any free port).
    #[arg(long, default_value = config::DEFAULT_SERVER)]
    pub listen: SocketAddr,
    /// Where the store lives [default: ~/.local/share/bosun/master].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Join the cluster of these masters (host:port, comma-separated) when the data directory
    /// is new; ignored once this master is a member.
    #[arg(long, value_delimiter = ',')]
    pub join: Vec<String>,
    /// Address other masters, agents and clients reach this master at [default: --listen,
    /// or this machine's address when listening on 0.0.0.0].
    #[arg(long)]
    pub advertise: Option<String>,
    /// Master join token (with --join, until this master holds a certificate): the first
    /// master's <data-dir>/master-token, or `bosun token create --role master`.
    #[arg(long, env = "BOSUN_TOKEN")]
    pub token: Option<JoinToken>,
}

#[derive(clap::Args)]
pub struct AgentArgs {
    /// The masters' addresses (host:port, comma-separated); the agent follows the leader.
    #[arg(long, env = "BOSUN_MASTER", value_delimiter = ',', required = true)]
    pub master: Vec<String>,
    /// Node name [default: the host name].
    #[arg(long)]
    pub name: Option<String>,
    /// Where assignments are kept [default: ~/.local/share/bosun/agent].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Node label, k=v (repeatable).
    #[arg(long = "label", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
    /// Address other machines reach this node at [default: the one used to reach the master].
    #[arg(long)]
    pub address: Option<String>,
    /// Join token, needed until the node holds a certificate: the first master's
    /// <data-dir>/node-token, or `bosun token create`.
    #[arg(long, env = "BOSUN_TOKEN")]
    pub token: Option<JoinToken>,
}

#[derive(clap::Args)]
pub struct UpArgs {
    /// Where the master's store and the agent's state live [default: ~/.local/share/bosun].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address for clients and agents (port 0: any free port).
    #[arg(long, default_value = config::DEFAULT_SERVER)]
    pub listen: SocketAddr,
    /// Node name [default: the host name].
    #[arg(long)]
    pub name: Option<String>,
    /// Node label, k=v (repeatable).
    #[arg(long = "label", value_parser = parse_label)]
    pub labels: Vec<(String, String)>,
}

pub(crate) fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s
        .split_once('=')
        .ok_or_else(|| format!("label {s:?}: expected key=value"))?;
    bosun_shared::names::validate_label_key(k).map_err(|e| format!("label {s:?}: {e}"))?;
    bosun_shared::names::validate_label_value(v).map_err(|e| format!("label {s:?}: {e}"))?;
    Ok((k.to_string(), v.to_string()))
}

/// The host name, lower-cased, as a default node or master name.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_ascii_lowercase())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

fn check_name(what: &str, name: &str) -> anyhow::Result<()> {
    bosun_shared::names::validate_dns1123_subdomain(name)
        .map_err(|e| anyhow::anyhow!("{what} {name:?}: {e}"))
}

/// Cancels `token` on SIGINT or SIGTERM.
pub(crate) fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = async { match term.as_mut() { Some(t) => { t.recv().await; } None => std::future::pending().await } } => {}
        }
        token.cancel();
    });
}

async fn start_master(
    ctx: &Context,
    config: MasterConfig,
    shutdown: CancellationToken,
) -> anyhow::Result<Master> {
    check_name("master name", &config.name)?;
    let data_dir = &config.data_dir.clone();
    let master = Master::start(config, shutdown).await?;
    let mut servers: Vec<String> = master
        .store
        .members()
        .all()
        .into_values()
        .map(|m| m.address)
        .filter(|a| !a.is_empty() && *a != master.advertised)
        .collect();
    servers.insert(0, master.advertised.clone());
    // The administrator's credentials come from the CA; a master that joined has it once it
    // has caught up with the store, so it may keep what the file already holds.
    let context = ctx
        .context
        .as_deref()
        .unwrap_or(bosun_shared::client_config::DEFAULT_CONTEXT);
    match master.pki.admin_credentials(&master.store, "admin") {
        Ok(c) => config::save(&ctx.config_path, context, &servers, Some(&c))?,
        Err(e) => {
            config::save(&ctx.config_path, context, &servers, None)?;
            eprintln!("no administrator credentials written to the client config yet: {e}");
        }
    }
    println!(
        "bosun master listening on {} (advertised as {})",
        master.addr, master.advertised
    );
    for (role, token) in bosun_master::pki::MasterPki::initial_tokens(data_dir) {
        println!("{role} join token: {token}");
    }
    Ok(master)
}

pub async fn master(ctx: &Context, args: MasterArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let data_dir = args
        .data_dir
        .unwrap_or_else(|| config::default_data_dir().join("master"));
    let mut config = MasterConfig::new(&args.name.unwrap_or_else(hostname), args.listen, data_dir);
    config.join = args.join;
    config.advertise = args.advertise;
    config.token = args.token;
    let m = start_master(ctx, config, shutdown).await?;
    println!("client config written to {}", ctx.config_path.display());
    m.stopped().await;
    Ok(())
}

/// The local address used to reach `master`: what other machines most likely reach us at.
fn local_address_towards(master: &str) -> String {
    let target = master
        .trim_start_matches("http://")
        .trim_start_matches("https://");
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect(target)?;
            s.local_addr()
        })
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|_| "127.0.0.1".to_string())
}

async fn run_agent(config: AgentConfig, shutdown: CancellationToken) -> anyhow::Result<()> {
    check_name("node name", &config.name)?;
    let runtime = DockerRuntime::connect()
        .await
        .context("connecting to the Docker engine (is it running, and may this user use it?)")?;
    Agent {
        config,
        runtime: Arc::new(runtime),
    }
    .run(shutdown)
    .await?;
    Ok(())
}

pub async fn agent(args: AgentArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let address = args
        .address
        .unwrap_or_else(|| local_address_towards(args.master.first().map_or("", String::as_str)));
    let config = AgentConfig {
        name: args.name.unwrap_or_else(hostname),
        masters: args.master.clone(),
        data_dir: args
            .data_dir
            .unwrap_or_else(|| config::default_data_dir().join("agent")),
        labels: args.labels.into_iter().collect::<BTreeMap<_, _>>(),
        address,
        token: args.token,
        credentials: None,
        simulated: false,
    };
    run_agent(config, shutdown).await
}

pub async fn up(ctx: &Context, args: UpArgs) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    cancel_on_signal(shutdown.clone());
    let data_dir = args.data_dir.unwrap_or_else(config::default_data_dir);
    let name = args.name.unwrap_or_else(hostname);
    let master = start_master(
        ctx,
        MasterConfig::new(&name, args.listen, data_dir.join("master")),
        shutdown.clone(),
    )
    .await?;
    // The master in this process issues the node's certificate directly.
    let credentials = master
        .pki
        .ca(&master.store)
        .and_then(|ca| {
            ca.issue_key(
                bosun_shared::pki::Role::Node,
                &name,
                bosun_master::pki::NODE_CERT_VALIDITY,
            )
        })
        .map(|id| bosun_shared::pki::tls::Credentials {
            ca_pem: master.pki.ca_pem(),
            identity: Some(id),
        })
        .context("issuing the node's certificate")?;
    let config = AgentConfig {
        name: name.clone(),
        masters: vec![master.addr.to_string()],
        data_dir: data_dir.join("agent"),
        labels: args.labels.into_iter().collect(),
        address: master.addr.ip().to_string(),
        token: None,
        credentials: Some(credentials),
        simulated: false,
    };
    println!("bosun agent running node {name} on the local Docker engine");
    println!(
        "data in {}; client config in {}",
        data_dir.display(),
        ctx.config_path.display()
    );
    println!("try: bosun get nodes   |   bosun apply -f examples/   |   bosun get pods");
    let agent = tokio::spawn(run_agent(config, shutdown.clone()));
    let result = agent.await.context("agent task")?;
    if let Err(e) = &result {
        shutdown.cancel();
        master.stopped().await;
        return Err(anyhow::anyhow!("{e:#}"));
    }
    master.stopped().await;
    result
}
