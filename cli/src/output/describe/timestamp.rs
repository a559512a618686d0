//! Times as `kubectl describe` prints them: Go's RFC 1123 with a numeric zone, in UTC.
use std::time::UNIX_EPOCH;

use bosun_shared::time::parse_rfc3339;

const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `Thu, 01 Jan 2026 00:00:00 +0000` for `2026-01-01T00:00:00Z`; the text itself when it is not
/// an RFC 3339 time after 1970.
pub(super) fn rfc1123z(ts: &str) -> String {
    let Some(secs) = parse_rfc3339(ts)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs())
    else {
        return ts.to_string();
    };
    let (days, secs) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = WEEKDAYS[((days + 4) % 7) as usize];
    format!(
        "{weekday}, {day:02} {} {year} {:02}:{:02}:{:02} +0000",
        MONTHS[month - 1],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// [`rfc1123z`] of an optional time, `<unknown>` when unset.
pub(super) fn rfc1123z_or_unknown(ts: Option<&str>) -> String {
    ts.map_or_else(|| "<unknown>".to_string(), rfc1123z)
}

/// (year, month 1-12, day 1-31) of a day count since 1970-01-01, by Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch.
fn civil_from_days(days: u64) -> (u64, usize, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month as usize, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_go_rfc1123z() {
        let cases = [
            ("1970-01-01T00:00:00Z", "Thu, 01 Jan 1970 00:00:00 +0000"),
            ("2026-01-01T00:00:00Z", "Thu, 01 Jan 2026 00:00:00 +0000"),
            ("2024-02-29T13:04:05Z", "Thu, 29 Feb 2024 13:04:05 +0000"),
            ("2000-03-01T21:59:59Z", "Wed, 01 Mar 2000 21:59:59 +0000"),
            ("2023-12-31T08:00:00Z", "Sun, 31 Dec 2023 08:00:00 +0000"),
            ("not a time", "not a time"),
        ];
        for (input, want) in cases {
            assert_eq!(rfc1123z(input), want, "{input}");
        }
        assert_eq!(rfc1123z_or_unknown(None), "<unknown>");
    }
}
