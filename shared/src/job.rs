//! `batch/v1` Job: runs pods of a template until `completions` of them succeed, at most
//! `parallelism` at a time, retrying failures up to `backoffLimit`; Kubernetes' field names
//! and defaults.
use compact_str::CompactString;

use serde::{Deserialize, Serialize};

use crate::deployment::PodTemplateSpec;
use crate::meta::{find_condition, Condition, ObjectMeta};

/// Env var (and pod annotation) carrying an Indexed Job pod's index.
pub const COMPLETION_INDEX_ENV: &str = "JOB_COMPLETION_INDEX";
pub const COMPLETION_INDEX_ANNOTATION: &str = "batch.kubernetes.io/job-completion-index";
/// Label Kubernetes puts on a Job's pods.
pub const JOB_NAME_LABEL: &str = "batch.kubernetes.io/job-name";
/// Annotation the Job controller puts on a finished pod once its Job's status counts it, in
/// the same write: a Job's counts never go down when its finished pods are deleted.
pub const COUNTED_ANNOTATION: &str = "batch.bosun.dev/counted";
/// Condition types of a finished Job.
pub const COMPLETE: &str = "Complete";
pub const FAILED: &str = "Failed";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Job {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: JobSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<JobStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobSpec {
    /// Pods that must succeed (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<i32>,
    /// Pods running at once (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallelism: Option<i32>,
    /// Failures (failed pods, and container restarts under `OnFailure`) before the Job fails
    /// (default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_limit: Option<i32>,
    /// Seconds from the start after which the Job fails and its pods are stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_deadline_seconds: Option<i64>,
    /// Seconds after it finished that the Job (and its pods) are deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl_seconds_after_finished: Option<i32>,
    /// `NonIndexed` (default): any `completions` successes; `Indexed`: one success for each
    /// index `0..completions`, the index in `JOB_COMPLETION_INDEX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_mode: Option<CompletionMode>,
    /// Stop creating pods (running ones go) until false again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    #[serde(default)]
    pub template: PodTemplateSpec,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum CompletionMode {
    #[default]
    NonIndexed,
    Indexed,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<String>,
    #[serde(default)]
    pub active: i32,
    #[serde(default)]
    pub succeeded: i32,
    #[serde(default)]
    pub failed: i32,
    /// Indexed Jobs: the indexes that succeeded, as `0-2,4`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_indexes: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// Set (to `{}`) on Jobs whose counts are kept by marking their counted pods
    /// ([`COUNTED_ANNOTATION`]), as Kubernetes set it on Jobs tracked with finalizers. Jobs
    /// written before Bosun counted this way lack it and are counted from their pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uncounted_terminated_pods: Option<UncountedTerminatedPods>,
}

/// Finished pods not yet in a Job's counts. Bosun counts a pod in the write that marks it, so
/// the lists stay empty; the field's presence says how the Job is counted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UncountedTerminatedPods {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub succeeded: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<String>,
}

impl Job {
    pub fn completions(&self) -> i32 {
        self.spec.completions.unwrap_or(1)
    }

    /// No `completions`: a work queue (a Job with `parallelism` workers that is done once one
    /// of them succeeded and none runs), as in Kubernetes.
    pub fn work_queue(&self) -> bool {
        self.spec.completions.is_none() && !self.indexed()
    }

    pub fn parallelism(&self) -> i32 {
        self.spec.parallelism.unwrap_or(1)
    }

    pub fn backoff_limit(&self) -> i32 {
        self.spec.backoff_limit.unwrap_or(6)
    }

    pub fn indexed(&self) -> bool {
        self.spec.completion_mode == Some(CompletionMode::Indexed)
    }

    /// `Complete` or `Failed` once the Job has finished.
    pub fn finished(&self) -> Option<&Condition> {
        let conditions = &self.status.as_ref()?.conditions;
        [COMPLETE, FAILED]
            .into_iter()
            .filter_map(|t| find_condition(conditions, t))
            .find(|c| c.status == "True")
    }
}

/// The indexes below `below` of a `completedIndexes` string (`0-2,4`); parts that are not
/// indexes are skipped.
pub fn parse_indexes(s: &str, below: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        if let (Ok(a), Ok(b)) = (a.parse::<i32>(), b.parse::<i32>()) {
            out.extend(a.max(0)..=b.min(below - 1));
        }
    }
    out
}

/// Indexes as Kubernetes writes `completedIndexes`: sorted, runs joined, `0-2,4`.
pub fn format_indexes(indexes: &[i32]) -> String {
    let mut sorted = indexes.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_are_written_as_runs() {
        assert_eq!(format_indexes(&[4, 0, 1, 2, 2]), "0-2,4");
        assert_eq!(format_indexes(&[]), "");
        assert_eq!(format_indexes(&[3]), "3");
        assert_eq!(format_indexes(&[1, 3, 5, 6]), "1,3,5-6");
        assert_eq!(parse_indexes("0-2,4", 10), [0, 1, 2, 4]);
        assert_eq!(
            parse_indexes("1,3,5-6", 6),
            [1, 3, 5],
            "indexes past the Job's go"
        );
        assert_eq!(parse_indexes("", 3), Vec::<i32>::new());
        assert_eq!(parse_indexes("x,2-1,7", 10), [7]);
    }
}
