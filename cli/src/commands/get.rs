//! `bosun get KIND [NAME] [-l SELECTOR] [-o FORMAT] [-A]`.
use std::time::SystemTime;

use crate::commands::{namespace_for, split_kind_name};
use crate::output::{render, Format};
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// pods (po), deployments (deploy), nodes (no); or KIND/NAME.
    pub kind: String,
    pub name: Option<String>,
    /// Label selector, e.g. app=web,tier!=db.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Output format: wide, json, yaml, name.
    #[arg(short = 'o', long, default_value = "")]
    pub output: String,
    /// List across all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let format: Format = args.output.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let (kind, name) = split_kind_name(&args.kind, args.name.as_deref())?;
    let ns = namespace_for(kind, &ctx.namespace);
    let client = ctx.client().await?;
    let now = SystemTime::now();
    if let Some(name) = name {
        let obj = client.get(kind, &ns, &name).await?;
        crate::commands::emit(&render(kind, &[obj], format, true, false, now))?;
        return Ok(());
    }
    let all = args.all_namespaces || !kind.namespaced();
    let namespace = (!all).then_some(ns.as_str());
    let (objects, _) = client
        .list(kind, namespace, args.selector.as_deref())
        .await?;
    if objects.is_empty() && matches!(format, Format::Table | Format::Wide) {
        if all {
            eprintln!("No resources found");
        } else {
            eprintln!("No resources found in {ns} namespace.");
        }
        return Ok(());
    }
    let all = args.all_namespaces && kind.namespaced();
    crate::commands::emit(&render(kind, &objects, format, false, all, now))
}
