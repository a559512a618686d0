//! `batch/v1` CronJob: a Job made from `jobTemplate` at every time of a 5-field cron
//! `schedule` (or `@hourly`-style macro) in `timeZone` (default UTC); Kubernetes' field names
//! and defaults.
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use croner::parser::{CronParser, Seconds, Year};
use croner::Cron;
use serde::{Deserialize, Serialize};

use crate::deployment::TemplateMeta;
use crate::job::JobSpec;
use crate::meta::ObjectMeta;

/// Annotation on a CronJob's Job: the time it was scheduled for.
pub const SCHEDULED_AT_ANNOTATION: &str = "batch.kubernetes.io/cronjob-scheduled-timestamp";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronJob {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: CronJobSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CronJobStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronJobSpec {
    /// `*/5 * * * *`, `@hourly`, ...
    #[serde(default)]
    pub schedule: String,
    /// An IANA time zone (`Europe/Paris`); default UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// A run may start at most this late (a master was down, a Forbid run was waiting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_deadline_seconds: Option<i64>,
    /// `Allow` (default), `Forbid` (skip a run while one is active), `Replace` (stop it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_policy: Option<ConcurrencyPolicy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Finished Jobs kept (defaults 3 and 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub successful_jobs_history_limit: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_jobs_history_limit: Option<i32>,
    #[serde(default)]
    pub job_template: JobTemplateSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct JobTemplateSpec {
    #[serde(default)]
    pub metadata: TemplateMeta,
    #[serde(default)]
    pub spec: JobSpec,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum ConcurrencyPolicy {
    #[default]
    Allow,
    Forbid,
    Replace,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CronJobStatus {
    /// Names of the Jobs still running.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub active: Vec<ActiveJob>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_schedule_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_successful_time: Option<String>,
}

/// A reference to an active Job (Kubernetes' `ObjectReference`, the fields Bosun fills).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveJob {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub uid: String,
}

impl CronJob {
    pub fn policy(&self) -> ConcurrencyPolicy {
        self.spec.concurrency_policy.unwrap_or_default()
    }

    pub fn successful_history(&self) -> usize {
        self.spec.successful_jobs_history_limit.unwrap_or(3).max(0) as usize
    }

    pub fn failed_history(&self) -> usize {
        self.spec.failed_jobs_history_limit.unwrap_or(1).max(0) as usize
    }

    /// The parsed schedule in its time zone.
    pub fn schedule(&self) -> Result<Schedule, String> {
        Schedule::parse(&self.spec.schedule, self.spec.time_zone.as_deref())
    }
}

/// A parsed cron schedule in a time zone.
#[derive(Debug, Clone)]
pub struct Schedule {
    cron: Cron,
    tz: chrono_tz::Tz,
}

impl Schedule {
    /// A standard 5-field schedule or macro (`@yearly`, `@monthly`, `@weekly`, `@daily`,
    /// `@hourly`) in IANA time zone `tz` (UTC when `None`).
    pub fn parse(schedule: &str, tz: Option<&str>) -> Result<Schedule, String> {
        let parser = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build();
        let cron = parser
            .parse(schedule)
            .map_err(|e| format!("unparseable schedule {schedule:?}: {e}"))?;
        let tz = match tz {
            None => chrono_tz::UTC,
            Some(name) => name
                .parse()
                .map_err(|_| format!("unknown time zone {name:?}"))?,
        };
        Ok(Schedule { cron, tz })
    }

    /// The first scheduled time strictly after `t`.
    pub fn next_after(&self, t: SystemTime) -> Option<SystemTime> {
        // Around a DST fall-back the search (on local time) can answer a time of the repeated
        // hour that is earlier in real time: search on from a minute later until it is after.
        let mut from = t;
        for _ in 0..180 {
            let local = DateTime::<Utc>::from(from).with_timezone(&self.tz);
            let next = self.cron.find_next_occurrence(&local, false).ok()?;
            let next = SystemTime::from(next.with_timezone(&Utc));
            if next > t {
                return Some(next);
            }
            from += Duration::from_secs(60);
        }
        None
    }

    /// The scheduled times in `(after, upto]`: how many (counting at most `cap + 1`) and the
    /// latest one.
    pub fn missed(
        &self,
        after: SystemTime,
        upto: SystemTime,
        cap: usize,
    ) -> (usize, Option<SystemTime>) {
        let mut count = 0;
        let mut last = None;
        let mut t = after;
        while let Some(next) = self.next_after(t) {
            if next > upto {
                break;
            }
            count += 1;
            last = Some(next);
            if count > cap {
                // Too many to walk: jump to the latest one before `upto`.
                let back = upto.checked_sub(Duration::from_secs(1)).unwrap_or(upto);
                let local = DateTime::<Utc>::from(back).with_timezone(&self.tz);
                if let Ok(prev) = self.cron.find_previous_occurrence(&local, true) {
                    last = Some(SystemTime::from(prev.with_timezone(&Utc))).filter(|p| *p > after);
                }
                break;
            }
            t = next;
        }
        (count, last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SystemTime {
        SystemTime::from(DateTime::parse_from_rfc3339(s).unwrap())
    }

    #[test]
    fn schedules_macros_and_time_zones() {
        let s = Schedule::parse("*/15 * * * *", None).unwrap();
        assert_eq!(
            s.next_after(at("2026-01-01T10:07:00Z")),
            Some(at("2026-01-01T10:15:00Z"))
        );
        let s = Schedule::parse("@hourly", None).unwrap();
        assert_eq!(
            s.next_after(at("2026-01-01T10:07:00Z")),
            Some(at("2026-01-01T11:00:00Z"))
        );
        // 09:00 in Paris is 08:00 UTC in winter.
        let s = Schedule::parse("0 9 * * *", Some("Europe/Paris")).unwrap();
        assert_eq!(
            s.next_after(at("2026-01-01T10:00:00Z")),
            Some(at("2026-01-02T08:00:00Z"))
        );
        assert!(
            Schedule::parse("0 0 9 * * *", None).is_err(),
            "no seconds field"
        );
        assert!(Schedule::parse("61 * * * *", None).is_err());
        assert!(Schedule::parse("* * * * *", Some("Mars/Olympus"))
            .unwrap_err()
            .contains("time zone"));
    }

    #[test]
    fn the_next_time_is_always_later_across_a_dst_change() {
        // New York falls back at 06:00 UTC on 2026-11-01 (01:00-01:59 happens twice).
        let s = Schedule::parse("*/5 * * * *", Some("America/New_York")).unwrap();
        let mut t = at("2026-11-01T04:00:00Z");
        while t < at("2026-11-01T08:00:00Z") {
            let next = s.next_after(t).unwrap();
            assert!(next > t, "{t:?} -> {next:?}");
            assert!(
                next <= t + Duration::from_secs(3600 + 300),
                "{t:?} -> {next:?}"
            );
            t += Duration::from_secs(60);
        }
    }

    #[test]
    fn missed_times_are_counted_and_the_latest_kept() {
        let s = Schedule::parse("* * * * *", None).unwrap();
        let (n, last) = s.missed(at("2026-01-01T10:00:30Z"), at("2026-01-01T10:05:10Z"), 100);
        assert_eq!((n, last), (5, Some(at("2026-01-01T10:05:00Z"))));
        let (n, last) = s.missed(at("2026-01-01T00:00:00Z"), at("2026-01-02T00:00:30Z"), 100);
        assert_eq!(n, 101, "counting stops past the cap");
        assert_eq!(last, Some(at("2026-01-02T00:00:00Z")));
        assert_eq!(
            s.missed(at("2026-01-01T10:00:00Z"), at("2026-01-01T10:00:30Z"), 100),
            (0, None)
        );
    }
}
