//! Timestamps: RFC 3339 strings in objects, ages as `get` prints them.
use std::time::{Duration, SystemTime};

/// Now, as an RFC 3339 string with second precision (`2026-11-29T13:31:38Z`).
pub fn now_rfc3339() -> String {
    to_rfc3339(SystemTime::now())
}

pub fn to_rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    humantime::parse_rfc3339_weak(s).ok()
}

/// How long ago `ts` was, the way kubectl prints it: `45s`, `3m12s`, `5h`, `2d`.
pub fn age(ts: Option<&str>, now: SystemTime) -> String {
    let Some(t) = ts.and_then(parse_rfc3339) else {
        return "<unknown>".to_string();
    };
    format_duration(now.duration_since(t).unwrap_or(Duration::ZERO))
}

pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=119 => format!("{s}s"),
        120..=599 if s.is_multiple_of(60) => format!("{}m", s / 60),
        120..=599 => format!("{}m{}s", s / 60, s % 60),
        600..=10799 => format!("{}m", s / 60),
        10800..=172799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let at = |secs_ago: u64| to_rfc3339(now - Duration::from_secs(secs_ago));
        assert_eq!(age(Some(&at(45)), now), "45s");
        assert_eq!(age(Some(&at(192)), now), "3m12s");
        assert_eq!(age(Some(&at(300)), now), "5m");
        assert_eq!(age(Some(&at(3600)), now), "60m");
        assert_eq!(age(Some(&at(5 * 3600)), now), "5h");
        assert_eq!(age(Some(&at(3 * 86400)), now), "3d");
        assert_eq!(age(None, now), "<unknown>");
    }
}
