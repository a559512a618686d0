//! `bosun rollout status|restart deployment/NAME`, as kubectl's.
use std::time::{Duration, Instant};

use bosun_shared::client::{Client, ClientError};
use bosun_shared::deployment::{Deployment, DEADLINE_EXCEEDED, PROGRESSING};
use bosun_shared::replicaset::{ReplicaSet, CHANGE_CAUSE_ANNOTATION};
use bosun_shared::{Kind, Object};

use crate::commands::split_kind_name;
use crate::Context;

#[derive(clap::Subcommand)]
pub enum RolloutCommand {
    /// Wait until a Deployment's rollout is done; fails when it exceeds its progress deadline
    /// or --timeout.
    Status(StatusArgs),
    /// Replace every pod of a Deployment with a new one, by its rollout strategy.
    Restart(TargetArgs),
    /// List a Deployment's revisions, or show one.
    History(HistoryArgs),
    /// Go back to the previous revision of a Deployment's template, or to --to-revision.
    Undo(UndoArgs),
}

#[derive(clap::Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Show the pod template of this revision.
    #[arg(long)]
    pub revision: Option<i64>,
}

#[derive(clap::Args)]
pub struct UndoArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// The revision to go back to (default: the one before the current).
    #[arg(long)]
    pub to_revision: Option<i64>,
}

#[derive(clap::Args)]
pub struct TargetArgs {
    /// deployment/NAME, or the kind followed by the name.
    pub target: String,
    pub name: Option<String>,
}

#[derive(clap::Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    /// Give up after this long (e.g. 30s, 5m); 0 waits for ever.
    #[arg(long, default_value = "0s", value_parser = humantime::parse_duration)]
    pub timeout: Duration,
    /// Keep watching until the rollout ends (`--watch=false` reports once).
    #[arg(short, long, default_value_t = true, action = clap::ArgAction::Set)]
    pub watch: bool,
}

/// How often `rollout status` reads the Deployment while it waits.
const POLL: Duration = Duration::from_millis(250);
/// Annotation `rollout restart` sets on the template, as kubectl does.
const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// Attempts when another writer changes the Deployment at the same moment.
const RETRIES: usize = 5;

pub async fn run(ctx: &Context, cmd: RolloutCommand) -> anyhow::Result<()> {
    match cmd {
        RolloutCommand::Status(a) => status(ctx, a).await,
        RolloutCommand::Restart(a) => restart(ctx, a).await,
        RolloutCommand::History(a) => history(ctx, a).await,
        RolloutCommand::Undo(a) => undo(ctx, a).await,
    }
}

/// The Deployment's ReplicaSets, newest revision first.
async fn revisions(client: &Client, d: &Deployment) -> anyhow::Result<Vec<ReplicaSet>> {
    let ns = &d.metadata.namespace;
    let (objects, _) = client.list(Kind::ReplicaSet, Some(ns), None).await?;
    let mut sets: Vec<ReplicaSet> = objects
        .into_iter()
        .filter_map(|o| match o {
            Object::ReplicaSet(rs) => Some(rs),
            _ => None,
        })
        .filter(|rs| {
            rs.metadata
                .controller()
                .is_some_and(|c| c.uid == d.metadata.uid)
        })
        .collect();
    sets.sort_by_key(|rs| std::cmp::Reverse(rs.revision()));
    Ok(sets)
}

async fn history(ctx: &Context, a: HistoryArgs) -> anyhow::Result<()> {
    let name = deployment_name(&a.target)?;
    let client = ctx.client().await?;
    let d = get(&client, &ctx.namespace, &name).await?;
    let sets = revisions(&client, &d).await?;
    if let Some(n) = a.revision {
        let rs = sets
            .iter()
            .find(|rs| rs.revision() == n)
            .ok_or_else(|| anyhow::anyhow!("unable to find the specified revision {n}"))?;
        println!("deployment.apps/{name} with revision #{n}");
        print!("{}", crate::output::pod_template(&rs.deployment_template()));
        return Ok(());
    }
    println!("deployment.apps/{name}");
    let mut rows = vec![vec!["REVISION".to_string(), "CHANGE-CAUSE".to_string()]];
    for rs in sets.iter().rev() {
        let cause = rs.metadata.annotations.get(CHANGE_CAUSE_ANNOTATION);
        rows.push(vec![
            rs.revision().to_string(),
            cause
                .cloned()
                .unwrap_or_else(|| "<none>".into())
                .to_string(),
        ]);
    }
    print!("{}", crate::output::align(&rows));
    Ok(())
}

async fn undo(ctx: &Context, a: UndoArgs) -> anyhow::Result<()> {
    let name = deployment_name(&a.target)?;
    let client = ctx.client().await?;
    for _ in 0..RETRIES {
        let mut d = get(&client, &ctx.namespace, &name).await?;
        let sets = revisions(&client, &d).await?;
        let target = match a.to_revision {
            Some(n) => sets
                .iter()
                .find(|rs| rs.revision() == n)
                .ok_or_else(|| anyhow::anyhow!("unable to find the specified revision {n}"))?,
            None => sets.get(1).ok_or_else(|| {
                anyhow::anyhow!("no rollout history found for deployment {name:?}")
            })?,
        };
        let template = target.deployment_template();
        if template == d.spec.template {
            println!(
                "deployment.apps/{name} skipped rollback (current template already matches revision {})",
                target.revision()
            );
            return Ok(());
        }
        d.spec.template = template;
        // The revision's own change cause comes back with its template (Kubernetes copies
        // the ReplicaSet's annotations onto the Deployment on rollback).
        match target.metadata.annotations.get(CHANGE_CAUSE_ANNOTATION) {
            Some(cause) => {
                let cause = cause.clone();
                d.metadata
                    .annotations
                    .insert(CHANGE_CAUSE_ANNOTATION.into(), cause)
            }
            None => d.metadata.annotations.remove(CHANGE_CAUSE_ANNOTATION),
        };
        match client.update(&d.into()).await {
            Ok(_) => {
                println!("deployment.apps/{name} rolled back");
                return Ok(());
            }
            Err(ClientError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("deployment.apps/{name} kept changing; try again")
}

fn deployment_name(t: &TargetArgs) -> anyhow::Result<String> {
    let (kind, name) = split_kind_name(&t.target, t.name.as_deref())?;
    if kind != Kind::Deployment {
        anyhow::bail!(
            "no rollout for {}: only deployments roll out",
            kind.plural()
        );
    }
    name.ok_or_else(|| anyhow::anyhow!("you must specify the name of the deployment"))
}

async fn get(client: &Client, ns: &str, name: &str) -> anyhow::Result<Deployment> {
    match client.get(Kind::Deployment, ns, name).await? {
        Object::Deployment(d) => Ok(d),
        _ => anyhow::bail!("deployment {name} is not a Deployment"),
    }
}

/// Where a rollout stands: `Ok(Some(message))` while it moves, `Ok(None)` once done, and
/// `Err` when it failed. The messages are kubectl's.
pub fn progress(d: &Deployment) -> Result<Option<String>, String> {
    let name = &d.metadata.name;
    let s = d.status.clone().unwrap_or_default();
    if s.observed_generation < d.metadata.generation {
        return Ok(Some(
            "Waiting for deployment spec update to be observed...".into(),
        ));
    }
    if let Some(c) = d.condition(PROGRESSING) {
        if c.reason.as_deref() == Some(DEADLINE_EXCEEDED) {
            return Err(format!(
                "deployment {name:?} exceeded its progress deadline"
            ));
        }
    }
    let want = d.replicas();
    if s.updated_replicas < want {
        return Ok(Some(format!(
            "Waiting for deployment {name:?} rollout to finish: {} out of {want} new replicas have been updated...",
            s.updated_replicas
        )));
    }
    if s.replicas > s.updated_replicas {
        return Ok(Some(format!(
            "Waiting for deployment {name:?} rollout to finish: {} old replicas are pending termination...",
            s.replicas - s.updated_replicas
        )));
    }
    if s.available_replicas < s.updated_replicas {
        return Ok(Some(format!(
            "Waiting for deployment {name:?} rollout to finish: {} of {} updated replicas are available...",
            s.available_replicas, s.updated_replicas
        )));
    }
    Ok(None)
}

async fn status(ctx: &Context, a: StatusArgs) -> anyhow::Result<()> {
    let name = deployment_name(&a.target)?;
    let client = ctx.client().await?;
    let started = Instant::now();
    let mut last = String::new();
    let spinner = crate::terminal::spinner(&format!("waiting for deployment {name:?}"));
    loop {
        let d = get(&client, &ctx.namespace, &name).await?;
        match progress(&d) {
            Err(e) => {
                spinner.finish_and_clear();
                anyhow::bail!("{e}")
            }
            Ok(None) => {
                spinner.finish_and_clear();
                println!("deployment {name:?} successfully rolled out");
                return Ok(());
            }
            Ok(Some(msg)) => {
                if msg != last {
                    spinner.suspend(|| println!("{msg}"));
                    last = msg;
                }
            }
        }
        if !a.watch {
            return Ok(());
        }
        if !a.timeout.is_zero() && started.elapsed() >= a.timeout {
            anyhow::bail!("timed out waiting for the condition");
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn restart(ctx: &Context, a: TargetArgs) -> anyhow::Result<()> {
    let name = deployment_name(&a)?;
    let client = ctx.client().await?;
    for _ in 0..RETRIES {
        let mut d = get(&client, &ctx.namespace, &name).await?;
        d.spec
            .template
            .metadata
            .annotations
            .insert(RESTARTED_AT.into(), bosun_shared::time::now_rfc3339());
        match client.update(&d.into()).await {
            Ok(_) => {
                println!("deployment.apps/{name} restarted");
                return Ok(());
            }
            Err(ClientError::Conflict(_)) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    anyhow::bail!("deployment.apps/{name} kept changing; try again")
}
