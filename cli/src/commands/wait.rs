//! `apply --wait`: waits until what was applied is ready, as a user checks it: pods Running
//! and Ready (or Succeeded), Deployments rolled out, DaemonSets ready on every node, Jobs
//! complete. Other kinds are ready once stored.
use std::time::{Duration, Instant};

use bosun_shared::client::Client;
use bosun_shared::pod::PodPhase;
use bosun_shared::{Kind, Object};

use crate::commands::rollout::progress;

/// How often the objects are read while waiting.
const POLL: Duration = Duration::from_millis(500);

/// Where `o` stands: `Ok(None)` when ready, `Ok(Some(why not))` while not, `Err` when it
/// never will be (a failed pod or Job, a stalled rollout).
pub fn readiness(o: &Object) -> Result<Option<String>, String> {
    let name = &o.meta().name;
    match o {
        Object::Pod(p) => match p.phase() {
            PodPhase::Succeeded => Ok(None),
            PodPhase::Failed => Err(format!("pod {name:?} failed")),
            PodPhase::Running if p.is_ready() => Ok(None),
            phase => Ok(Some(format!("pod {name:?} is {phase:?}, not ready"))),
        },
        Object::Deployment(d) => progress(d),
        Object::DaemonSet(d) => {
            let s = d.status.clone().unwrap_or_default();
            if s.observed_generation < d.metadata.generation
                || s.number_ready < s.desired_number_scheduled
                || s.updated_number_scheduled < s.desired_number_scheduled
            {
                Ok(Some(format!(
                    "daemon set {name:?}: {} of {} pods ready",
                    s.number_ready, s.desired_number_scheduled
                )))
            } else {
                Ok(None)
            }
        }
        Object::Job(j) => match j.finished() {
            Some(c) if c.type_ == "Complete" => Ok(None),
            Some(_) => Err(format!("job {name:?} failed")),
            None => Ok(Some(format!("job {name:?} has not completed"))),
        },
        _ => Ok(None),
    }
}

/// Waits until every object of `targets` (kind, namespace, name) is ready, at most `timeout`
/// (zero: forever), with a spinner naming what it waits for.
pub async fn until_ready(
    client: &Client,
    targets: &[(Kind, String, String)],
    timeout: Duration,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let spinner = crate::terminal::spinner("waiting");
    loop {
        let mut waiting = None;
        for (kind, ns, name) in targets {
            let o = client.get(*kind, ns, name).await?;
            match readiness(&o) {
                Ok(None) => {}
                Ok(Some(why)) => {
                    waiting = Some(why);
                    break;
                }
                Err(e) => {
                    spinner.finish_and_clear();
                    anyhow::bail!("{e}");
                }
            }
        }
        let Some(why) = waiting else {
            spinner.finish_and_clear();
            return Ok(());
        };
        spinner.set_message(why.clone());
        if !timeout.is_zero() && started.elapsed() >= timeout {
            spinner.finish_and_clear();
            anyhow::bail!("timed out waiting for the condition: {why}");
        }
        tokio::time::sleep(POLL).await;
    }
}
