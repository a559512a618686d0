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
    w.field(0, "Completions", job.completions().to_string());
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
