//! One reconcile of a CronJob as a pure function of it, its Jobs and the time, by Kubernetes'
//! rules (the `cronjob_controllerv2`):
//! - the run due is the latest scheduled time after the last one started (or the creation),
//!   within `startingDeadlineSeconds` when set: a master that was down catches up by starting
//!   that one run, never every missed one;
//! - `Forbid` does not start a run while a Job is active (it stays due, and starts once the
//!   active Job ends if still within the starting deadline); `Replace` deletes the active Jobs
//!   first; `Allow` runs them side by side;
//! - the Job's name is derived from the scheduled time (`<cronjob>-<minutes since epoch>`), so
//!   a run is created at most once even across leader changes;
//! - finished Jobs beyond `successfulJobsHistoryLimit` / `failedJobsHistoryLimit` go, oldest
//!   first.
use std::time::{Duration, SystemTime};

use bosun_shared::cronjob::{ActiveJob, ConcurrencyPolicy, CronJob, CronJobStatus};
use bosun_shared::job::{Job, COMPLETE};
use bosun_shared::time::{parse_rfc3339, to_rfc3339};

/// More missed times than this are not walked one by one (Kubernetes' limit).
pub const MISSED_CAP: usize = 100;

#[derive(Debug, Default)]
pub struct Decision<'a> {
    /// Start the run scheduled at this time.
    pub run: Option<SystemTime>,
    /// Jobs to delete (replaced, or beyond the history limits).
    pub delete: Vec<&'a Job>,
    pub status: CronJobStatus,
    /// When the next run is due.
    pub requeue: Option<Duration>,
    /// More than [`MISSED_CAP`] runs were missed.
    pub too_many_missed: bool,
}

/// The name of the Job of the run scheduled at `t`.
pub fn job_name(cj: &CronJob, t: SystemTime) -> String {
    let minutes = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        / 60;
    format!("{}-{minutes}", cj.metadata.name)
}

fn started(j: &Job) -> Option<SystemTime> {
    let s = j.status.as_ref()?.start_time.as_deref();
    s.or(j.metadata.creation_timestamp.as_deref())
        .and_then(parse_rfc3339)
}

pub fn decide<'a>(cj: &CronJob, jobs: &[&'a Job], now: SystemTime) -> Decision<'a> {
    let mut d = Decision {
        status: cj.status.clone().unwrap_or_default(),
        ..Default::default()
    };
    let (finished, active): (Vec<&Job>, Vec<&Job>) =
        jobs.iter().partition(|j| j.finished().is_some());
    let is_complete = |j: &&Job| j.finished().is_some_and(|c| c.type_ == COMPLETE);
    let (mut complete, mut failed): (Vec<&Job>, Vec<&Job>) =
        finished.into_iter().partition(is_complete);
    if let Some(t) = complete
        .iter()
        .filter_map(|j| j.status.as_ref()?.completion_time.clone())
        .max()
    {
        d.status.last_successful_time = Some(t);
    }
    for (list, keep) in [
        (&mut complete, cj.successful_history()),
        (&mut failed, cj.failed_history()),
    ] {
        list.sort_by_key(|j| started(j));
        let extra = list.len().saturating_sub(keep);
        d.delete.extend(list.iter().take(extra).copied());
    }
    d.status.active = active.iter().map(|j| reference(j)).collect();
    if cj.spec.suspend == Some(true) {
        return d;
    }
    let Ok(schedule) = cj.schedule() else {
        return d; // refused at apply; an old stored object changes nothing
    };
    d.requeue = schedule
        .next_after(now)
        .and_then(|t| t.duration_since(now).ok());
    let mut earliest = d
        .status
        .last_schedule_time
        .as_deref()
        .or(cj.metadata.creation_timestamp.as_deref())
        .and_then(parse_rfc3339)
        .unwrap_or(now);
    if let Some(deadline) = cj.spec.starting_deadline_seconds {
        let window = now
            .checked_sub(Duration::from_secs(deadline.max(0) as u64))
            .unwrap_or(now);
        earliest = earliest.max(window);
    }
    let (missed, latest) = schedule.missed(earliest, now, MISSED_CAP);
    d.too_many_missed = missed > MISSED_CAP;
    let Some(due) = latest else {
        return d;
    };
    match cj.policy() {
        ConcurrencyPolicy::Forbid if !active.is_empty() => {
            // Still due: looked at again when the active Job changes, or at the next tick.
            d.requeue = Some(
                d.requeue
                    .map_or(Duration::from_secs(1), |r| r.min(Duration::from_secs(10))),
            );
            return d;
        }
        ConcurrencyPolicy::Replace => {
            d.delete.extend(active.iter().copied());
            d.status.active.clear();
        }
        _ => {}
    }
    d.run = Some(due);
    d.status.last_schedule_time = Some(to_rfc3339(due).to_string());
    d
}

fn reference(j: &Job) -> ActiveJob {
    ActiveJob {
        kind: "Job".into(),
        namespace: j.metadata.namespace.to_string(),
        name: j.metadata.name.to_string(),
        uid: j.metadata.uid.to_string(),
    }
}

#[cfg(test)]
mod tests;
