//! The Job decision over time: parallelism, completions, back-off, limits, indexes, TTL.
use bosun_shared::job::{CompletionMode, JobSpec};
use bosun_shared::pod::{ContainerState, ContainerStatus, PodStatus, StateTerminated};
use bosun_shared::ToCompactString;

use super::*;

fn t(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + secs)
}

fn job(completions: i32, parallelism: i32, policy: RestartPolicy) -> Job {
    let mut j = Job {
        spec: JobSpec {
            completions: Some(completions),
            parallelism: Some(parallelism),
            ..Default::default()
        },
        ..Default::default()
    };
    j.spec.template.spec.restart_policy = Some(policy);
    j
}

/// A pod in `phase`, its container finished at `finished` (seconds after t(0)).
fn pod(phase: PodPhase, finished: Option<u64>, index: Option<i32>) -> Pod {
    let mut p = Pod::default();
    if let Some(i) = index {
        p.metadata
            .annotations
            .insert(COMPLETION_INDEX_ANNOTATION.into(), i.to_compact_string());
    }
    let terminated = finished.map(|f| {
        Box::new(StateTerminated {
            exit_code: if phase == PodPhase::Succeeded { 0 } else { 1 },
            finished_at: Some(to_rfc3339(t(f))),
            ..Default::default()
        })
    });
    p.status = Some(PodStatus {
        phase,
        container_statuses: vec![ContainerStatus {
            state: ContainerState {
                terminated,
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    });
    p
}

fn reason(s: &JobStatus, type_: &str) -> Option<String> {
    bosun_shared::meta::find_condition(&s.conditions, type_)
        .and_then(|c| c.reason.as_deref().map(str::to_string))
}

#[test]
fn runs_parallelism_pods_until_completions_succeeded() {
    let j = job(6, 2, RestartPolicy::Never);
    assert_eq!(decide(&j, &[], t(0)).create.len(), 2);
    let ok = pod(PodPhase::Succeeded, Some(1), None);
    let running = pod(PodPhase::Running, None, None);
    let d = decide(&j, &[&ok, &ok, &ok, &ok, &ok, &running], t(2));
    assert!(d.create.is_empty(), "one missing completion is running");
    assert_eq!((d.status.active, d.status.succeeded), (1, 5));
    let d = decide(&j, &[&ok, &ok, &ok, &ok, &ok, &ok], t(3));
    assert_eq!(
        reason(&d.status, COMPLETE).as_deref(),
        Some("CompletionsReached")
    );
    assert!(d.status.completion_time.is_some());
}

#[test]
fn a_failed_pod_is_replaced_after_a_back_off_that_doubles() {
    let j = job(1, 1, RestartPolicy::Never);
    let f1 = pod(PodPhase::Failed, Some(0), None);
    let d = decide(&j, &[&f1], t(5));
    assert!(d.create.is_empty(), "within 10 s of the failure");
    assert_eq!(d.requeue, Some(Duration::from_secs(5)));
    assert_eq!(decide(&j, &[&f1], t(10)).create.len(), 1);
    let f2 = pod(PodPhase::Failed, Some(20), None);
    assert!(
        decide(&j, &[&f1, &f2], t(35)).create.is_empty(),
        "20 s after a second failure"
    );
    assert_eq!(decide(&j, &[&f1, &f2], t(40)).create.len(), 1);
    assert_eq!(decide(&j, &[&f1, &f2], t(40)).status.failed, 2);
}

#[test]
fn failures_beyond_the_backoff_limit_fail_the_job_and_stop_its_pods() {
    let mut j = job(3, 2, RestartPolicy::OnFailure);
    j.spec.backoff_limit = Some(1);
    let mut restarted = pod(PodPhase::Running, None, None);
    restarted.status.as_mut().unwrap().container_statuses[0].restart_count = 2;
    let d = decide(&j, &[&restarted], t(1));
    assert_eq!(
        reason(&d.status, FAILED).as_deref(),
        Some("BackoffLimitExceeded")
    );
    assert_eq!(d.delete.len(), 1, "the running pod stops");
}

#[test]
fn an_active_deadline_fails_the_job() {
    let mut j = job(1, 1, RestartPolicy::Never);
    j.spec.active_deadline_seconds = Some(30);
    let first = decide(&j, &[], t(0));
    assert_eq!(first.requeue, Some(Duration::from_secs(30)));
    j.status = Some(first.status);
    let running = pod(PodPhase::Running, None, None);
    let d = decide(&j, &[&running], t(31));
    assert_eq!(
        reason(&d.status, FAILED).as_deref(),
        Some("DeadlineExceeded")
    );
    assert_eq!(d.delete.len(), 1);
}

#[test]
fn indexed_jobs_run_each_missing_index_once() {
    let mut j = job(4, 3, RestartPolicy::Never);
    j.spec.completion_mode = Some(CompletionMode::Indexed);
    assert_eq!(decide(&j, &[], t(0)).create, [Some(0), Some(1), Some(2)]);
    let done1 = pod(PodPhase::Succeeded, Some(1), Some(1));
    let run0 = pod(PodPhase::Running, None, Some(0));
    let d = decide(&j, &[&done1, &done1, &run0], t(2));
    assert_eq!(d.create, [Some(2), Some(3)], "index 1 counts once");
    assert_eq!(d.status.succeeded, 1);
    assert_eq!(d.status.completed_indexes.as_deref(), Some("1"));
}

#[test]
fn a_finished_job_goes_after_its_ttl() {
    let mut j = job(1, 1, RestartPolicy::Never);
    j.spec.ttl_seconds_after_finished = Some(5);
    let ok = pod(PodPhase::Succeeded, Some(0), None);
    let d = decide(&j, &[&ok], t(1));
    assert_eq!(d.requeue, Some(Duration::from_secs(5)));
    let mut status = d.status;
    status.conditions[0].last_transition_time = Some(to_rfc3339(t(1)));
    j.status = Some(status);
    assert!(!decide(&j, &[&ok], t(4)).delete_job);
    assert!(decide(&j, &[&ok], t(6)).delete_job);
}

#[test]
fn a_suspended_job_does_not_run_out_its_deadline() {
    let mut j = job(1, 1, RestartPolicy::Never);
    j.spec.active_deadline_seconds = Some(30);
    j.status = Some(decide(&j, &[], t(0)).status);
    j.spec.suspend = Some(true);
    let running = pod(PodPhase::Running, None, None);
    let d = decide(&j, &[&running], t(60));
    assert_eq!(
        reason(&d.status, FAILED),
        None,
        "not failed while suspended"
    );
    assert_eq!(d.delete.len(), 1, "its pods stop");
    assert_eq!(
        d.status.start_time, None,
        "the deadline starts again on resume"
    );
}

#[test]
fn restarts_of_finished_pods_do_not_count_against_the_backoff_limit() {
    let mut j = job(10, 1, RestartPolicy::OnFailure);
    j.spec.backoff_limit = Some(2);
    let mut done = pod(PodPhase::Succeeded, Some(1), None);
    done.status.as_mut().unwrap().container_statuses[0].restart_count = 1;
    let d = decide(&j, &[&done, &done, &done, &done], t(2));
    assert_eq!(reason(&d.status, FAILED), None);
    assert_eq!(d.create.len(), 1);
}

#[test]
fn a_work_queue_runs_its_workers_until_one_succeeded_and_all_ended() {
    let mut j = job(1, 3, RestartPolicy::Never);
    j.spec.completions = None;
    assert_eq!(decide(&j, &[], t(0)).create.len(), 3, "parallelism workers");
    let running = pod(PodPhase::Running, None, None);
    let ok = pod(PodPhase::Succeeded, Some(5), None);
    // One worker found the queue empty: no new worker, none stopped, not yet complete.
    let d = decide(&j, &[&ok, &running, &running], t(6));
    assert!(d.create.is_empty() && d.delete.is_empty(), "{d:?}");
    assert_eq!(reason(&d.status, COMPLETE), None);
    assert_eq!((d.status.active, d.status.succeeded), (2, 1));
    // A worker that fails before any success is replaced, as in any Job.
    let failed = pod(PodPhase::Failed, Some(1), None);
    let d = decide(&j, &[&failed, &running, &running], t(20));
    assert_eq!(d.create.len(), 1);
    // All ended, one succeeded: Complete.
    let d = decide(&j, &[&ok, &ok, &failed], t(30));
    assert_eq!(
        reason(&d.status, COMPLETE).as_deref(),
        Some("CompletionsReached")
    );
    assert_eq!((d.status.succeeded, d.status.failed), (2, 1));
}

/// `p` as the controller leaves it once counted.
fn counted(mut p: Pod) -> Pod {
    p.metadata
        .annotations
        .insert(COUNTED_ANNOTATION.into(), "true".into());
    p
}

#[test]
fn counts_survive_the_deletion_of_counted_pods() {
    let mut j = job(4, 2, RestartPolicy::Never);
    let d = decide(&j, &[], t(0));
    assert!(
        d.status.uncounted_terminated_pods.is_some(),
        "a new Job counts by marks"
    );
    j.status = Some(d.status);

    let ok = pod(PodPhase::Succeeded, Some(1), None);
    let failed = pod(PodPhase::Failed, Some(1), None);
    let d = decide(&j, &[&ok, &failed], t(20));
    assert_eq!(d.count.len(), 2, "both are counted now, and marked");
    assert_eq!((d.status.succeeded, d.status.failed), (1, 1));
    j.status = Some(d.status);

    // Marked pods are not counted again; once deleted, the counts stay.
    let (ok, failed) = (counted(ok), counted(failed));
    let d = decide(&j, &[&ok, &failed], t(21));
    assert!(d.count.is_empty());
    assert_eq!((d.status.succeeded, d.status.failed), (1, 1));
    let d = decide(&j, &[], t(40));
    assert_eq!((d.status.succeeded, d.status.failed), (1, 1));
    assert_eq!(
        d.create.len(),
        2,
        "3 completions missing, at most 2 at a time"
    );
    j.status = Some(d.status);
    let more: Vec<Pod> = (0..3)
        .map(|_| pod(PodPhase::Succeeded, Some(41), None))
        .collect();
    let refs: Vec<&Pod> = more.iter().collect();
    let d = decide(&j, &refs, t(42));
    assert_eq!(d.status.succeeded, 4);
    assert_eq!(
        reason(&d.status, COMPLETE).as_deref(),
        Some("CompletionsReached")
    );
}

#[test]
fn an_indexed_job_keeps_the_indexes_it_recorded() {
    let mut j = job(3, 3, RestartPolicy::Never);
    j.spec.completion_mode = Some(CompletionMode::Indexed);
    j.status = Some(decide(&j, &[], t(0)).status);
    let zero = pod(PodPhase::Succeeded, Some(1), Some(0));
    let d = decide(&j, &[&zero], t(2));
    assert_eq!(d.status.completed_indexes.as_deref(), Some("0"));
    j.status = Some(d.status);
    // Index 0's pod deleted: it is not run again.
    let d = decide(&j, &[], t(3));
    assert_eq!(d.status.completed_indexes.as_deref(), Some("0"));
    assert_eq!(d.create, vec![Some(1), Some(2)]);
}

#[test]
fn a_job_written_before_counting_by_marks_is_counted_from_its_pods() {
    let mut j = job(4, 2, RestartPolicy::Never);
    j.status = Some(JobStatus {
        succeeded: 1,
        active: 1,
        ..Default::default()
    });
    let ok = pod(PodPhase::Succeeded, Some(1), None);
    let running = pod(PodPhase::Running, None, None);
    let d = decide(&j, &[&ok, &running], t(2));
    assert!(d.count.is_empty(), "nothing marked");
    assert!(d.status.uncounted_terminated_pods.is_none());
    assert_eq!(d.status.succeeded, 1, "not counted twice");
}
