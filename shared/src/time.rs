//! Timestamps: RFC 3339 strings in objects, ages as `get` prints them.
use std::time::{Duration, SystemTime};

use compact_str::{CompactString, ToCompactString};

/// Now, as an RFC 3339 string with second precision (`2026-11-29T13:31:38Z`).
/// A `CompactString`, as the objects' timestamp fields: 20 bytes, held inline.
pub fn now_rfc3339() -> CompactString {
    to_rfc3339(SystemTime::now())
}

pub fn to_rfc3339(t: SystemTime) -> CompactString {
    humantime::format_rfc3339_seconds(t).to_compact_string()
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

/// A duration as kubectl prints ages (apimachinery's `HumanDuration`): `45s`, `3m12s`,
/// `42m`, `5h10m`, `20h`, `3d4h`, `30d`, `2y45d`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 120 {
        return format!("{s}s");
    }
    let minutes = s / 60;
    if minutes < 10 {
        return match s % 60 {
            0 => format!("{minutes}m"),
            rest => format!("{minutes}m{rest}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = s / 3600;
    let days = hours / 24;
    let with = |big: u64, unit: &str, small: u64, small_unit: &str| match small {
        0 => format!("{big}{unit}"),
        n => format!("{big}{unit}{n}{small_unit}"),
    };
    match hours {
        0..=7 => with(hours, "h", minutes % 60, "m"),
        8..=47 => format!("{hours}h"),
        48..=191 => with(days, "d", hours % 24, "h"),
        _ if days < 365 * 2 => format!("{days}d"),
        _ if days < 365 * 8 => with(days / 365, "y", days % 365, "d"),
        _ => format!("{}y", days / 365),
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
        assert_eq!(age(Some(&at(5 * 3600 + 600)), now), "5h10m");
        assert_eq!(age(Some(&at(20 * 3600 + 600)), now), "20h");
        assert_eq!(age(Some(&at(3 * 86400 + 4 * 3600)), now), "3d4h");
        assert_eq!(format_duration(Duration::from_secs(30 * 86400)), "30d");
        assert_eq!(
            format_duration(Duration::from_secs((2 * 365 + 45) * 86400)),
            "2y45d"
        );
        assert_eq!(format_duration(Duration::from_secs(9 * 365 * 86400)), "9y");
        assert_eq!(age(None, now), "<unknown>");
    }
}
