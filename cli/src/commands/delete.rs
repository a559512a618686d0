//! `bosun delete KIND NAME...` and `bosun delete -f FILE`.
use bosun_shared::client::ClientError;
use bosun_shared::meta::Propagation;

use crate::commands::{apply::read_manifests, namespace_for, split_kind_name};
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
            anyhow::anyhow!("you must provide one or more resources by argument or filename")
        })?;
        let (kind, first) = split_kind_name(kind, None)?;
        let names: Vec<String> = first.into_iter().chain(args.names).collect();
        if names.is_empty() {
            anyhow::bail!("resource(s) were provided, but no name was specified");
        }
        for n in names {
            targets.push((kind, namespace_for(kind, &ctx.namespace), n));
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
