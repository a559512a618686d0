//! `bosun delete KIND NAME...`, `bosun delete KIND -l SELECTOR | --all` and
//! `bosun delete -f FILE`.
use bosun_shared::client::ClientError;
use bosun_shared::meta::Propagation;

use crate::commands::{apply::read_manifests, namespace_for, split_kind_name, Usage};
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// Kind (or KIND/NAME).
    pub kind: Option<String>,
    /// Names of the objects.
    pub names: Vec<String>,
    /// Delete the objects of these manifests.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<String>,
    /// Delete the objects of KIND this label selector matches.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,
    /// Delete every object of KIND in the namespace.
    #[arg(long)]
    pub all: bool,
    /// Do not fail when an object does not exist.
    #[arg(long)]
    pub ignore_not_found: bool,
    /// What happens to what the objects own: background (deleted after), foreground
    /// (deleted with them) or orphan (kept).
    #[arg(long, default_value = "background")]
    pub cascade: Propagation,
    /// Seconds the deleted pods' containers get between SIGTERM and SIGKILL; negative: each
    /// pod's own terminationGracePeriodSeconds.
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let mut targets = Vec::new();
    if !args.files.is_empty() {
        for p in read_manifests(&args.files, &ctx.namespace)? {
            let m = p.object.meta();
            targets.push((p.object.kind(), m.namespace.clone(), m.name.clone()));
        }
    } else {
        let kind = args.kind.as_deref().ok_or_else(|| {
            Usage("you must provide one or more resources by argument or filename".into())
        })?;
        let (kind, first) = split_kind_name(kind, None)?;
        let mut names: Vec<String> = first.into_iter().chain(args.names).collect();
        let ns = namespace_for(kind, &ctx.namespace);
        if args.selector.is_some() || args.all {
            if !names.is_empty() {
                return Err(Usage("names cannot be given with --selector or --all".into()).into());
            }
            let client = ctx.client().await?;
            let namespace = kind.namespaced().then_some(ns.as_str());
            let (found, _) = client
                .list(kind, namespace, args.selector.as_deref())
                .await?;
            names = found.iter().map(|o| o.meta().name.to_string()).collect();
            if names.is_empty() {
                eprintln!("No resources found");
                return Ok(());
            }
        } else if names.is_empty() {
            return Err(
                Usage("resource(s) were provided, but no name was specified".into()).into(),
            );
        }
        for n in names {
            targets.push((kind, ns.clone().into(), n.into()));
        }
    }
    let client = ctx.client().await?;
    let mut failed = None;
    for (kind, ns, name) in targets {
        let grace = (args.grace_period >= 0).then_some(args.grace_period);
        match client
            .delete_opts(kind, &ns, &name, args.cascade, grace)
            .await
        {
            Ok(_) => println!("{} \"{name}\" deleted", kind.resource_name()),
            Err(ClientError::NotFound(_)) if args.ignore_not_found => {}
            Err(e) => {
                eprintln!("{}", crate::commands::error_text(&anyhow::Error::new(e)));
                failed = Some(());
            }
        }
    }
    match failed {
        Some(()) => Err(anyhow::anyhow!("error: some objects could not be deleted")),
        None => Ok(()),
    }
}
