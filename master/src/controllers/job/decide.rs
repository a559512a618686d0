//! One reconcile of a Job as a pure function of the Job, its pods and the time: which pods to
//! create (with their index, for Indexed Jobs) or delete, the new status, whether the Job
//! itself goes (`ttlSecondsAfterFinished`), and when to look again.
//!
//! Kubernetes' rules: at most `parallelism` pods run, and no more than the completions still
//! missing; a Job is `Complete` once `completions` pods succeeded (one per index when
//! Indexed), and `Failed` once its failures (failed pods, plus container restarts under
//! `restartPolicy: OnFailure`) exceed `backoffLimit` (`BackoffLimitExceeded`) or it ran longer
//! than `activeDeadlineSeconds` (`DeadlineExceeded`); the pods of a finished Job stop. A pod
//! that failed delays the next one by 10 s, doubling with each further failure since the last
//! success, up to 6 minutes.
//!
//! A Job without `completions` is a work queue: its `parallelism` pods take work from
//! elsewhere, and once one of them succeeds no new pod starts; the Job is `Complete` when one
//! succeeded and none is still running.
use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use bosun_shared::job::{
    format_indexes, parse_indexes, Job, JobStatus, COMPLETE, COMPLETION_INDEX_ANNOTATION,
    COUNTED_ANNOTATION, FAILED,
};
use bosun_shared::meta::{set_condition, Condition};
use bosun_shared::pod::{Pod, PodPhase, RestartPolicy};
use bosun_shared::time::{parse_rfc3339, to_rfc3339};

/// Delay before a pod replaces the first failed one; doubles per failure.
const BACKOFF_BASE: Duration = Duration::from_secs(10);
const BACKOFF_MAX: Duration = Duration::from_secs(360);

#[derive(Debug, Default)]
pub struct Decision<'a> {
    /// Pods to create: `Some(index)` for an Indexed Job.
    pub create: Vec<Option<i32>>,
    pub delete: Vec<&'a Pod>,
    /// Finished pods `status` counts for the first time: marked counted in the same write.
    pub count: Vec<&'a Pod>,
    pub status: JobStatus,
    /// The Job's time after finishing ran out: delete it (its pods follow).
    pub delete_job: bool,
    /// Look again then even if nothing changes (back-off, deadline, TTL).
    pub requeue: Option<Duration>,
}

/// The index of an Indexed Job's pod.
pub fn index_of(p: &Pod) -> Option<i32> {
    p.metadata
        .annotations
        .get(COMPLETION_INDEX_ANNOTATION)?
        .parse()
        .ok()
}

fn finished_at(p: &Pod) -> Option<SystemTime> {
    let s = p.status.as_ref()?;
    let t = s
        .container_statuses
        .iter()
        .filter_map(|c| c.state.terminated.as_deref())
        .filter_map(|t| t.finished_at.as_deref())
        .max()?;
    parse_rfc3339(t)
}

fn restarts(p: &Pod) -> i32 {
    p.status.as_ref().map_or(0, |s| {
        s.container_statuses.iter().map(|c| c.restart_count).sum()
    })
}

fn condition(type_: &str, reason: &str, message: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: "True".into(),
        reason: Some(reason.into()),
        message: Some(message.into()),
        ..Default::default()
    }
}

/// What [`count`] found.
struct Counts<'a> {
    /// Succeeded indexes (below `completions`) of an Indexed Job.
    indexes: BTreeSet<i32>,
    newly_counted: Vec<&'a Pod>,
}

fn is_counted(p: &Pod) -> bool {
    p.metadata.annotations.contains_key(COUNTED_ANNOTATION)
}

/// Brings `status`'s `succeeded` and `failed` up to date with the finished pods `done`.
///
/// A Job counted by marks (`uncountedTerminatedPods` set; a new Job, `no_pods` and nothing
/// counted yet, becomes one) adds the pods not yet marked to its counts, which therefore
/// never go down when finished pods are deleted, and keeps the indexes it recorded. A Job
/// written before that is counted from the pods it has, as it was.
fn count<'a>(job: &Job, status: &mut JobStatus, done: &[&'a Pod], no_pods: bool) -> Counts<'a> {
    let completions = job.completions().max(0);
    let phase_is = |phase| move |p: &&&'a Pod| p.phase() == phase;
    let mut indexes: BTreeSet<i32> = done
        .iter()
        .filter(phase_is(PodPhase::Succeeded))
        .filter_map(|p| index_of(p))
        .filter(|i| (0..completions).contains(i))
        .collect();
    let fresh = no_pods && status.succeeded == 0 && status.failed == 0;
    if status.uncounted_terminated_pods.is_none() && !fresh {
        status.succeeded = if job.indexed() {
            indexes.len() as i32
        } else {
            done.iter().filter(phase_is(PodPhase::Succeeded)).count() as i32
        };
        status.failed = done.iter().filter(phase_is(PodPhase::Failed)).count() as i32;
        return Counts {
            indexes,
            newly_counted: vec![],
        };
    }
    status
        .uncounted_terminated_pods
        .get_or_insert_with(Default::default);
    let newly_counted: Vec<&'a Pod> = done.iter().copied().filter(|p| !is_counted(p)).collect();
    let new = |phase| newly_counted.iter().filter(|p| p.phase() == phase).count() as i32;
    status.succeeded += new(PodPhase::Succeeded);
    status.failed += new(PodPhase::Failed);
    let recorded = status.completed_indexes.as_deref().unwrap_or_default();
    indexes.extend(parse_indexes(recorded, completions));
    Counts {
        indexes,
        newly_counted,
    }
}

pub fn decide<'a>(job: &Job, pods: &[&'a Pod], now: SystemTime) -> Decision<'a> {
    let mut d = Decision {
        status: job.status.clone().unwrap_or_default(),
        ..Default::default()
    };
    let stamp = to_rfc3339(now);
    let suspended = job.spec.suspend == Some(true);
    if d.status.start_time.is_none() && !suspended {
        d.status.start_time = Some(stamp.to_string());
    }
    let (active, done): (Vec<&Pod>, Vec<&Pod>) =
        pods.iter().partition(|p| !p.phase().is_terminal());
    let succeeded: Vec<&Pod> = done
        .iter()
        .copied()
        .filter(|p| p.phase() == PodPhase::Succeeded)
        .collect();
    let failed: Vec<&Pod> = done
        .iter()
        .copied()
        .filter(|p| p.phase() == PodPhase::Failed)
        .collect();
    let completions = job.completions().max(0);
    let on_failure = job.spec.template.spec.restart_policy == Some(RestartPolicy::OnFailure);
    let restarts_now: i32 = if on_failure {
        active.iter().map(|p| restarts(p)).sum()
    } else {
        0
    };
    let counts = count(job, &mut d.status, &done, pods.is_empty());
    d.count = counts.newly_counted;
    let indexes = counts.indexes;
    let done_count = if job.indexed() {
        indexes.len() as i32
    } else {
        d.status.succeeded
    };
    let failures = d.status.failed + restarts_now;
    d.status.active = active.len() as i32;
    d.status.completed_indexes = job
        .indexed()
        .then(|| format_indexes(&indexes.iter().copied().collect::<Vec<_>>()))
        .filter(|s| !s.is_empty());

    if let Some(end) = job.finished() {
        // A finished Job keeps no pod running, and goes once its TTL ran out.
        d.delete = active;
        d.status.active = 0;
        if let Some(ttl) = job.spec.ttl_seconds_after_finished {
            let ttl = Duration::from_secs(ttl.max(0) as u64);
            let at = end
                .last_transition_time
                .as_deref()
                .and_then(parse_rfc3339)
                .unwrap_or(now);
            match now.duration_since(at) {
                Ok(elapsed) if elapsed >= ttl => d.delete_job = true,
                Ok(elapsed) => d.requeue = Some(ttl - elapsed),
                Err(_) => d.requeue = Some(ttl),
            }
        }
        return d;
    }
    let started = d
        .status
        .start_time
        .as_deref()
        .and_then(parse_rfc3339)
        .unwrap_or(now);
    let ran = now.duration_since(started).unwrap_or_default();
    let deadline = job
        .spec
        .active_deadline_seconds
        .map(|s| Duration::from_secs(s.max(0) as u64));
    let work_queue = job.work_queue();
    let complete = if work_queue {
        done_count > 0 && active.is_empty()
    } else {
        done_count >= completions
    };
    let finish = if complete {
        d.status.completion_time = Some(stamp.to_string());
        Some(condition(
            COMPLETE,
            "CompletionsReached",
            "Reached expected number of succeeded pods",
        ))
    } else if failures > job.backoff_limit() {
        Some(condition(
            FAILED,
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ))
    } else if !suspended && deadline.is_some_and(|dl| ran >= dl) {
        Some(condition(
            FAILED,
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ))
    } else {
        None
    };
    if let Some(c) = finish {
        set_condition(&mut d.status.conditions, c, &stamp);
        d.delete = active;
        d.status.active = 0;
        // The TTL, if any, counts from now.
        d.requeue = job
            .spec
            .ttl_seconds_after_finished
            .map(|t| Duration::from_secs(t.max(0) as u64));
        return d;
    }
    if suspended {
        // The deadline does not run while suspended: it starts again on resume.
        d.delete = active;
        d.status.active = 0;
        d.status.start_time = None;
        return d;
    }
    if let Some(dl) = deadline {
        d.requeue = Some(dl.saturating_sub(ran));
    }
    if work_queue && done_count > 0 {
        // A worker found the queue empty: the others finish their work, none starts.
        return d;
    }
    let still_needed = if work_queue {
        i32::MAX
    } else {
        completions - done_count
    };
    let want = job.parallelism().max(0).min(still_needed).max(0) as usize;
    if active.len() > want {
        d.delete = super::super::pods::least_useful_first(active.clone())
            .into_iter()
            .take(active.len() - want)
            .collect();
        return d;
    }
    let missing = want - active.len();
    if missing == 0 {
        return d;
    }
    // Back-off after failures since the last success.
    let last_success = succeeded.iter().filter_map(|p| finished_at(p)).max();
    let recent: Vec<SystemTime> = failed
        .iter()
        .filter_map(|p| finished_at(p))
        .filter(|t| last_success.is_none_or(|s| *t > s))
        .collect();
    if let Some(last) = recent.iter().max() {
        let delay = BACKOFF_BASE
            .saturating_mul(1 << (recent.len() - 1).min(16))
            .min(BACKOFF_MAX);
        let waited = now.duration_since(*last).unwrap_or_default();
        if waited < delay {
            d.requeue = Some(d.requeue.map_or(delay - waited, |r| r.min(delay - waited)));
            return d;
        }
    }
    if job.indexed() {
        let running: BTreeSet<i32> = active.iter().filter_map(|p| index_of(p)).collect();
        d.create = (0..completions)
            .filter(|i| !indexes.contains(i) && !running.contains(i))
            .take(missing)
            .map(Some)
            .collect();
    } else {
        d.create = vec![None; missing];
    }
    d
}

#[cfg(test)]
mod tests;
