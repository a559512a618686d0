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
        Object::Deployment(d) => {
            // The pods of its ReplicaSets.
            let sets = controlled_by(&client, Kind::ReplicaSet, &ns, &[&d.metadata.uid]).await?;
            let uids: Vec<&str> = sets.iter().map(|r| r.meta().uid.as_str()).collect();
            controlled_by(&client, Kind::Pod, &ns, &uids).await?
        }
        Object::Job(j) => controlled_by(&client, Kind::Pod, &ns, &[&j.metadata.uid]).await?,
        Object::DaemonSet(d) => controlled_by(&client, Kind::Pod, &ns, &[&d.metadata.uid]).await?,
        Object::CronJob(cj) => controlled_by(&client, Kind::Job, &ns, &[&cj.metadata.uid]).await?,
        Object::ReplicaSet(rs) => {
            controlled_by(&client, Kind::Pod, &ns, &[&rs.metadata.uid]).await?
        }
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
        Object::Pod(_)
        | Object::Event(_)
        | Object::Secret(_)
        | Object::Namespace(_)
        | Object::ConfigMap(_)
        | Object::PersistentVolumeClaim(_) => vec![],
    };
    let now = SystemTime::now();
    let (events, _) = client
        .list(Kind::Event, Some(&ns_of_events(&obj)), None)
        .await?;
    let about: Vec<&bosun_shared::event::Event> = {
        let m = obj.meta();
        let mut about: Vec<&bosun_shared::event::Event> = events
            .iter()
            .filter_map(Object::as_event)
            .filter(|e| {
                let o = &e.involved_object;
                if o.uid.is_empty() {
                    o.kind == obj.kind().as_str() && o.name == m.name
                } else {
                    o.uid == m.uid
                }
            })
            .collect();
        about.sort_by_key(|e| crate::output::table::event_order(e));
        about
    };
    crate::commands::emit(&describe(&obj, &related, &about, now))?;
    Ok(())
}

/// Where the events about `obj` are: its namespace, `default` for cluster-scoped objects.
fn ns_of_events(obj: &Object) -> String {
    match obj.meta().namespace.as_str() {
        "" => "default".into(),
        ns => ns.into(),
    }
}

/// Objects of `kind` in `ns` whose controller is one of `owners` (by uid).
async fn controlled_by(
    client: &bosun_shared::client::Client,
    kind: Kind,
    ns: &str,
    owners: &[&str],
) -> anyhow::Result<Vec<Object>> {
    let (objects, _) = client.list(kind, Some(ns), None).await?;
    Ok(objects
        .into_iter()
        .filter(|o| {
            o.meta()
                .controller()
                .is_some_and(|c| owners.contains(&c.uid.as_str()))
        })
        .collect())
}
