//! `bosun cordon`, `uncordon` and `drain`: node maintenance; `bosun node remove`.
use bosun_shared::client::{Client, ClientError};
use bosun_shared::meta::Propagation;
use bosun_shared::{Kind, Object};

use crate::Context;

#[derive(clap::Args)]
pub struct NodeArgs {
    /// The node's name.
    pub name: String,
}

#[derive(clap::Subcommand)]
pub enum NodeCommand {
    /// Remove a node for good: revoke its certificate, delete it and its pods.
    Remove(NodeArgs),
}

#[derive(clap::Args)]
pub struct DrainArgs {
    /// The node's name.
    pub name: String,
    /// Also delete pods that no controller will re-create elsewhere.
    #[arg(long)]
    pub force: bool,
    /// Seconds each evicted pod's containers get between SIGTERM and SIGKILL; negative: each
    /// pod's own terminationGracePeriodSeconds.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
}

/// Attempts when the node changes under the update (its agent reports often).
const RETRIES: usize = 5;

/// Reads node `name`, lets `change` edit it and writes it back, again from a fresh read when
/// the node changed meanwhile; `change` returns `None` when there is nothing to write.
pub(crate) async fn update_node<T>(
    client: &Client,
    name: &str,
    mut change: impl FnMut(&mut bosun_shared::node::Node) -> anyhow::Result<Option<T>>,
) -> anyhow::Result<Option<T>> {
    for _ in 0..RETRIES {
        let Object::Node(mut node) = client.get(Kind::Node, "", name).await? else {
            anyhow::bail!("node {name} is not a Node");
        };
        let Some(done) = change(&mut node)? else {
            return Ok(None);
        };
        match client.update(&node.into()).await {
            Ok(_) => return Ok(Some(done)),
            Err(ClientError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("node/{name} kept changing; try again")
}

/// Sets `spec.unschedulable`; returns false when it already had that value.
async fn set_unschedulable(client: &Client, name: &str, value: bool) -> anyhow::Result<bool> {
    let changed = update_node(client, name, |node| {
        Ok((node.spec.unschedulable != value).then(|| node.spec.unschedulable = value))
    })
    .await?;
    Ok(changed.is_some())
}

pub async fn cordon(ctx: &Context, args: NodeArgs, value: bool) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let changed = set_unschedulable(&client, &args.name, value).await?;
    let verb = if value { "cordoned" } else { "uncordoned" };
    if changed {
        println!("node/{} {verb}", args.name);
    } else {
        println!("node/{} already {verb}", args.name);
    }
    Ok(())
}

pub async fn drain(ctx: &Context, args: DrainArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    set_unschedulable(&client, &args.name, true).await?;
    println!("node/{} cordoned", args.name);
    let (all, _) = client.list(Kind::Pod, None, None).await?;
    let (daemons, on_node): (Vec<_>, Vec<_>) = all
        .iter()
        .filter_map(Object::as_pod)
        .filter(|p| {
            p.spec.node_name.as_deref() == Some(args.name.as_str()) && !p.phase().is_terminal()
        })
        .partition(|p| {
            p.metadata
                .controller()
                .is_some_and(|c| c.kind == "DaemonSet")
        });
    // DaemonSet pods stay: their controller would put them right back (they tolerate the
    // cordon), as kubectl's --ignore-daemonsets.
    if !daemons.is_empty() {
        let names: Vec<String> = daemons.iter().map(|p| p.key()).collect();
        println!(
            "Warning: ignoring DaemonSet-managed Pods: {}",
            names.join(", ")
        );
    }
    let unmanaged: Vec<String> = on_node
        .iter()
        .filter(|p| p.metadata.controller().is_none())
        .map(|p| p.key())
        .collect();
    if !unmanaged.is_empty() && !args.force {
        anyhow::bail!(
            "cannot delete Pods that declare no controller (use --force to override): {}",
            unmanaged.join(", ")
        );
    }
    let grace = (args.grace_period >= 0).then_some(args.grace_period);
    for p in on_node {
        println!("evicting pod {}", p.key());
        let (ns, name) = (&p.metadata.namespace, &p.metadata.name);
        match client
            .delete_opts(Kind::Pod, ns, name, Propagation::Background, grace)
            .await
        {
            Ok(_) | Err(ClientError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    println!("node/{} drained", args.name);
    Ok(())
}

/// `bosun node remove NAME`: the node leaves the cluster for good. Its certificate is revoked
/// (the Secret `bosun-system/revoked-node-NAME`, created now: certificates of that node
/// issued before it are refused, so its session ends and it cannot come back without a new
/// join token), then the Node and the pods bound to it are deleted (controllers replace them).
pub async fn remove(ctx: &Context, args: NodeArgs) -> anyhow::Result<()> {
    let client = ctx.client().await?;
    let name = &args.name;
    let record = bosun_shared::pki::revoke::revocation_secret(name);
    let ns = &record.metadata.namespace;
    // Created anew, so its creation time (stamped by the master) is the revocation time.
    match client.delete(Kind::Secret, ns, &record.metadata.name).await {
        Ok(_) | Err(ClientError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    client.create(&Object::Secret(record)).await?;
    match client.delete(Kind::Node, "", name).await {
        Ok(_) | Err(ClientError::NotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let (pods, _) = client.list(Kind::Pod, None, None).await?;
    let mut deleted = 0;
    for p in pods.iter().filter_map(Object::as_pod) {
        if p.spec.node_name.as_deref() != Some(name.as_str()) {
            continue;
        }
        match client
            .delete(Kind::Pod, &p.metadata.namespace, &p.metadata.name)
            .await
        {
            Ok(_) => deleted += 1,
            Err(ClientError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    println!("node/{name} removed: its certificate is revoked, {deleted} pod(s) deleted");
    Ok(())
}
