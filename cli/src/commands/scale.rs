//! `bosun scale deployment/NAME --replicas N`.
use bosun_shared::client::ClientError;
use bosun_shared::{Kind, Object};

use crate::commands::split_kind_name;
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// deployment/NAME, or the kind followed by the name.
    pub target: String,
    pub name: Option<String>,
    /// New number of replicas.
    #[arg(long)]
    pub replicas: i32,
}

/// Attempts when another writer changes the Deployment at the same moment.
const SCALE_RETRIES: usize = 5;

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let (kind, name) = split_kind_name(&args.target, args.name.as_deref())?;
    if kind != Kind::Deployment {
        anyhow::bail!(
            "cannot scale {}: only deployments can be scaled",
            kind.plural()
        );
    }
    if args.replicas < 0 {
        anyhow::bail!(
            "--replicas: Invalid value: {}: must be greater than or equal to 0",
            args.replicas
        );
    }
    let name = name
        .ok_or_else(|| anyhow::anyhow!("you must specify the name of the deployment to scale"))?;
    let client = ctx.client().await?;
    for _ in 0..SCALE_RETRIES {
        let Object::Deployment(mut d) = client.get(kind, &ctx.namespace, &name).await? else {
            anyhow::bail!("deployment {name} is not a Deployment");
        };
        d.spec.replicas = Some(args.replicas);
        match client.update(&d.into()).await {
            Ok(_) => {
                println!("deployment.apps/{name} scaled");
                return Ok(());
            }
            Err(ClientError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("deployment.apps/{name} kept changing; try again")
}
