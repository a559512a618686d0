//! The CronJob decision over a simulated clock.
use bosun_shared::cronjob::CronJobSpec;
use bosun_shared::job::{JobStatus, FAILED};
use bosun_shared::meta::Condition;

use super::*;

fn at(hms: &str) -> SystemTime {
    parse_rfc3339(&format!("2026-01-01T{hms}Z")).unwrap()
}

fn cron(policy: ConcurrencyPolicy) -> CronJob {
    let mut cj = CronJob {
        spec: CronJobSpec {
            schedule: "* * * * *".into(),
            concurrency_policy: Some(policy),
            ..Default::default()
        },
        ..Default::default()
    };
    cj.metadata.name = "tick".into();
    cj.metadata.creation_timestamp = Some(to_rfc3339(at("10:00:30")));
    cj
}

fn job(name: &str, started: &str, end: Option<&str>) -> Job {
    let mut j = Job::default();
    j.metadata.name = name.into();
    let conditions = end
        .map(|t| {
            vec![Condition {
                type_: t.into(),
                status: "True".into(),
                ..Default::default()
            }]
        })
        .unwrap_or_default();
    j.status = Some(JobStatus {
        start_time: Some(to_rfc3339(at(started)).to_string()),
        conditions,
        ..Default::default()
    });
    j
}

#[test]
fn runs_the_due_time_once_with_a_name_from_it() {
    let cj = cron(ConcurrencyPolicy::Allow);
    let d = decide(&cj, &[], at("10:01:05"));
    assert_eq!(d.run, Some(at("10:01:00")));
    assert_eq!(
        job_name(&cj, at("10:01:00")),
        format!("tick-{}", 1_767_261_660 / 60)
    );
    assert_eq!(d.requeue, Some(Duration::from_secs(55)));
    let mut cj = cj;
    cj.status = Some(d.status);
    assert_eq!(
        decide(&cj, &[], at("10:01:40")).run,
        None,
        "already started"
    );
}

#[test]
fn forbid_waits_for_the_active_job_and_replace_stops_it() {
    let running = job("tick-1", "10:00:00", None);
    let cj = cron(ConcurrencyPolicy::Forbid);
    let d = decide(&cj, &[&running], at("10:01:05"));
    assert_eq!(d.run, None, "no overlap");
    assert_eq!(d.status.active.len(), 1);
    let done = job("tick-1", "10:00:00", Some(COMPLETE));
    assert_eq!(
        decide(&cj, &[&done], at("10:01:20")).run,
        Some(at("10:01:00"))
    );
    let cj = cron(ConcurrencyPolicy::Replace);
    let d = decide(&cj, &[&running], at("10:01:05"));
    assert_eq!(d.run, Some(at("10:01:00")));
    assert_eq!(d.delete.len(), 1, "the active job goes");
    let cj = cron(ConcurrencyPolicy::Allow);
    let d = decide(&cj, &[&running], at("10:01:05"));
    assert_eq!((d.run.is_some(), d.delete.len()), (true, 0));
}

#[test]
fn after_downtime_only_the_latest_missed_run_starts_within_the_deadline() {
    let mut cj = cron(ConcurrencyPolicy::Allow);
    cj.status = Some(CronJobStatus {
        last_schedule_time: Some(to_rfc3339(at("10:00:00")).to_string()),
        ..Default::default()
    });
    let d = decide(&cj, &[], at("10:30:30"));
    assert_eq!(d.run, Some(at("10:30:00")), "one catch-up run, the latest");
    cj.spec.starting_deadline_seconds = Some(60);
    assert_eq!(decide(&cj, &[], at("10:30:30")).run, Some(at("10:30:00")));
    cj.spec.starting_deadline_seconds = Some(10);
    assert_eq!(
        decide(&cj, &[], at("10:30:30")).run,
        None,
        "too late to start"
    );
    cj.spec.starting_deadline_seconds = None;
    cj.spec.suspend = Some(true);
    assert_eq!(decide(&cj, &[], at("10:30:30")).run, None, "suspended");
}

#[test]
fn finished_jobs_beyond_the_history_limits_go_oldest_first() {
    let mut cj = cron(ConcurrencyPolicy::Allow);
    cj.spec.successful_jobs_history_limit = Some(2);
    let jobs: Vec<Job> = (1..=4)
        .map(|i| job(&format!("ok-{i}"), &format!("10:0{i}:00"), Some(COMPLETE)))
        .chain([
            job("bad-1", "10:05:00", Some(FAILED)),
            job("bad-2", "10:06:00", Some(FAILED)),
        ])
        .collect();
    let refs: Vec<&Job> = jobs.iter().collect();
    let d = decide(&cj, &refs, at("10:06:30"));
    let mut gone: Vec<&str> = d.delete.iter().map(|j| j.metadata.name.as_str()).collect();
    gone.sort();
    assert_eq!(gone, ["bad-1", "ok-1", "ok-2"]);
}
