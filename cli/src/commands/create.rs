//! `bosun create namespace NAME` and `bosun create -f FILE` (fails for objects that exist,
//! where `apply` would update them).
use bosun_shared::namespace::Namespace;
use bosun_shared::Object;

use crate::commands::apply::read_manifests;
use crate::commands::{emit, error_text, Usage};
use crate::Context;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    pub what: Option<CreateCommand>,
    /// Manifest file, directory of manifests, or - for standard input.
    #[arg(short = 'f', long = "filename")]
    pub files: Vec<String>,
}

#[derive(clap::Subcommand)]
pub enum CreateCommand {
    /// A namespace.
    #[command(alias = "ns")]
    Namespace { name: String },
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let objects: Vec<Object> = match args.what {
        Some(CreateCommand::Namespace { name }) => vec![Namespace::new(&name).into()],
        None if !args.files.is_empty() => read_manifests(&args.files, &ctx.namespace)?
            .into_iter()
            .map(|p| p.object)
            .collect(),
        None => {
            return Err(Usage(
                "must specify one of -f or a kind to create (namespace); see 'bosun create -h'"
                    .into(),
            )
            .into())
        }
    };
    let client = ctx.client().await?;
    let mut failed = 0;
    for o in objects {
        match client.create(&o).await {
            Ok(_) => emit(&format!(
                "{}/{} created\n",
                o.kind().resource_name(),
                o.meta().name
            ))?,
            Err(e) => {
                eprintln!("{}", error_text(&anyhow::Error::new(e)));
                failed += 1;
            }
        }
    }
    if failed > 0 {
        anyhow::bail!("{failed} object(s) could not be created");
    }
    Ok(())
}
