//! `bosun describe KIND NAME`.
use std::time::SystemTime;

use bosun_shared::{Kind, Object};

use crate::commands::{namespace_for, split_kind_name};
use crate::output::describe;
use crate::Context;

#[derive(clap::Args)]
pub struct Args {
    /// pods, deployments, nodes; or KIND/NAME.
    pub kind: String,
    pub name: Option<String>,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<()> {
    let (kind, name) = split_kind_name(&args.kind, args.name.as_deref())?;
    let name = name.ok_or_else(|| {
        anyhow::anyhow!(
            "you must specify the name of the {} to describe",
            kind.resource_name()
        )
    })?;
    let ns = namespace_for(kind, &ctx.namespace);
    let client = ctx.client().await?;
    let obj = client.get(kind, &ns, &name).await?;
    let related: Vec<Object> = match &obj {
        Object::Deployment(d) => client
            .list(Kind::Pod, Some(&ns), None)
            .await?
            .0
            .into_iter()
            .filter(|p| {
                p.meta()
                    .controller()
                    .is_some_and(|o| o.uid == d.metadata.uid)
            })
            .collect(),
        Object::Node(n) => client
            .list(Kind::Pod, None, None)
            .await?
            .0
            .into_iter()
            .filter(|p| {
                p.as_pod().is_some_and(|p| {
                    p.spec.node_name.as_deref() == Some(n.metadata.name.as_str())
                        && !p.phase().is_terminal()
                })
            })
            .collect(),
        Object::Pod(_) => vec![],
    };
    crate::commands::emit(&describe(&obj, &related, SystemTime::now()))?;
    Ok(())
}
