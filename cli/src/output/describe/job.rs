//! `describe job`, as kubectl's.
use std::time::SystemTime;

use bosun_shared::job::Job;
use bosun_shared::pod::Pod;

use super::deployment::{pod_template, pods_table};
use super::timestamp::rfc1123z_or_unknown;
use super::{ConditionColumn, Writer};

pub(super) fn describe(w: &mut Writer, job: &Job, pods: &[&Pod], now: SystemTime) {
    let meta = &job.metadata;
    let status = job.status.clone().unwrap_or_default();
    w.field(0, "Name", &meta.name);
    w.field(0, "Namespace", &meta.namespace);
    w.labels(0, "Labels", &meta.labels);
    w.annotations(0, "Annotations", &meta.annotations);
    w.field(0, "Parallelism", job.parallelism().to_string());
    let completions = match job.spec.completions {
        Some(c) => c.to_string(),
        None => "<unset>".into(),
    };
    w.field(0, "Completions", completions);
    w.field(
        0,
        "Completion Mode",
        format!("{:?}", job.spec.completion_mode.unwrap_or_default()),
    );
    w.field(0, "Backoff Limit", job.backoff_limit().to_string());
    w.field(
        0,
        "Start Time",
        rfc1123z_or_unknown(status.start_time.as_deref()),
    );
    if let Some(done) = status.completion_time.as_deref() {
        w.field(0, "Completed At", rfc1123z_or_unknown(Some(done)));
    }
    w.field(
        0,
        "Duration",
        crate::output::columns::job_duration(job, now),
    );
    w.field(
        0,
        "Pods Statuses",
        format!(
            "{} Active / {} Succeeded / {} Failed",
            status.active, status.succeeded, status.failed
        ),
    );
    if job.indexed() {
        let done = status
            .completed_indexes
            .clone()
            .unwrap_or_else(|| "<none>".into());
        w.field(0, "Completed Indexes", done);
    }
    pod_template(w, &job.spec.template);
    w.conditions(&status.conditions, &[ConditionColumn::Reason]);
    pods_table(w, pods, now);
}

/// `describe cronjob`, as kubectl's; `related` holds its Jobs.
pub(super) fn describe_cron_job(
    w: &mut Writer,
    cj: &bosun_shared::cronjob::CronJob,
    related: &[bosun_shared::Object],
    now: SystemTime,
) {
    let meta = &cj.metadata;
    let s = cj.status.clone().unwrap_or_default();
    w.field(0, "Name", &meta.name);
    w.field(0, "Namespace", &meta.namespace);
    w.labels(0, "Labels", &meta.labels);
    w.annotations(0, "Annotations", &meta.annotations);
    w.field(0, "Schedule", &cj.spec.schedule);
    w.field(
        0,
        "Time Zone",
        cj.spec.time_zone.as_deref().unwrap_or("<unset>"),
    );
    w.field(0, "Concurrency Policy", format!("{:?}", cj.policy()));
    w.field(
        0,
        "Suspend",
        if cj.spec.suspend == Some(true) {
            "True"
        } else {
            "False"
        },
    );
    w.field(
        0,
        "Successful Job History Limit",
        cj.successful_history().to_string(),
    );
    w.field(
        0,
        "Failed Job History Limit",
        cj.failed_history().to_string(),
    );
    let deadline = cj
        .spec
        .starting_deadline_seconds
        .map_or("<unset>".into(), |d| format!("{d}s"));
    w.field(0, "Starting Deadline Seconds", deadline);
    pod_template(w, &cj.spec.job_template.spec.template);
    w.field(
        0,
        "Last Schedule Time",
        rfc1123z_or_unknown(s.last_schedule_time.as_deref()),
    );
    let active: Vec<&str> = s.active.iter().map(|a| a.name.as_str()).collect();
    w.field(
        0,
        "Active Jobs",
        if active.is_empty() {
            "<none>".into()
        } else {
            active.join(", ")
        },
    );
    let mut jobs: Vec<&Job> = related.iter().filter_map(|o| o.as_job()).collect();
    jobs.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
    if jobs.is_empty() {
        return w.field(0, "Jobs", "<none>");
    }
    w.line(0, "Jobs:");
    let mut rows = vec![["NAME", "STATUS", "COMPLETIONS", "DURATION"]
        .map(str::to_string)
        .to_vec()];
    for j in jobs {
        rows.push(vec![
            j.metadata.name.to_string(),
            crate::output::columns::job_status(j),
            crate::output::columns::job_completions(j),
            crate::output::columns::job_duration(j, now),
        ]);
    }
    for line in crate::output::table::align(&rows).lines() {
        w.line(1, line);
    }
}
