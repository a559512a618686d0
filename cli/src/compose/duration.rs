//! Durations as Compose writes them, Go's `time.ParseDuration` syntax (`1m30s`, `10s`,
//! `500ms`, `1.5h`, `0`), rounded up to the whole seconds Kubernetes fields take.
use serde_json::Value;

use super::value::{display, type_name};
use super::ComposeError;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// The duration at `path` in whole seconds, rounded up; at least `min`.
pub(crate) fn seconds(v: &Value, path: &str, min: i64) -> Result<i64, ComposeError> {
    let nanos = match v {
        Value::String(s) => parse_nanos(s.trim()),
        Value::Number(n) if n.as_u64() == Some(0) => Some(0),
        Value::Number(_) => {
            return Err(ComposeError::new(
                path,
                format!(
                    "invalid duration {}: a duration needs a unit, e.g. \"{}s\"",
                    display(v),
                    v
                ),
            ))
        }
        other => {
            return Err(ComposeError::new(
                path,
                format!(
                    "must be a duration such as \"30s\", not {}",
                    type_name(other)
                ),
            ))
        }
    };
    let nanos = nanos.ok_or_else(|| {
        ComposeError::new(
            path,
            format!(
                "invalid duration {}: expected a number and a unit (h, m, s, ms, us, ns) \
                 such as \"1m30s\"",
                display(v)
            ),
        )
    })?;
    let secs = nanos.div_ceil(NANOS_PER_SECOND);
    let secs = i64::try_from(secs)
        .map_err(|_| ComposeError::new(path, format!("duration {} is too long", display(v))))?;
    Ok(secs.max(min))
}

/// Nanoseconds of a Go duration; `None` when it is not one, or negative, or absurdly long.
pub(crate) fn parse_nanos(s: &str) -> Option<u128> {
    let s = s.strip_prefix('+').unwrap_or(s);
    if s == "0" {
        return Some(0);
    }
    if s.is_empty() {
        return None;
    }
    let mut total: u128 = 0;
    let mut rest = s;
    while !rest.is_empty() {
        let int_len = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => {
                let len = f.find(|c: char| !c.is_ascii_digit()).unwrap_or(f.len());
                f.split_at(len)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return None;
        }
        let unit_len = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => NANOS_PER_SECOND,
            "m" => 60 * NANOS_PER_SECOND,
            "h" => 3600 * NANOS_PER_SECOND,
            _ => return None,
        };
        // Go truncates the fraction's digits past what the unit can hold.
        let int: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().ok()?
        };
        let mut part = int.checked_mul(scale)?;
        let mut divisor: u128 = 1;
        let mut frac: u128 = 0;
        for d in frac_part.bytes().take(18) {
            frac = frac * 10 + u128::from(d - b'0');
            divisor *= 10;
        }
        part = part.checked_add(frac.checked_mul(scale)? / divisor)?;
        total = total.checked_add(part)?;
        rest = after;
    }
    // Go's durations end at about 292 years.
    (total <= i64::MAX as u128).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_durations() {
        assert_eq!(parse_nanos("10s"), Some(10 * NANOS_PER_SECOND));
        assert_eq!(parse_nanos("1m30s"), Some(90 * NANOS_PER_SECOND));
        assert_eq!(parse_nanos("500ms"), Some(NANOS_PER_SECOND / 2));
        assert_eq!(parse_nanos("1.5h"), Some(5400 * NANOS_PER_SECOND));
        assert_eq!(parse_nanos("1h2m3s4ms5us6ns"), Some(3_723_004_005_006));
        assert_eq!(parse_nanos(".5s"), Some(NANOS_PER_SECOND / 2));
        assert_eq!(parse_nanos("0"), Some(0));
        assert_eq!(parse_nanos("2µs"), Some(2000));
        for bad in [
            "",
            "10",
            "s",
            "1x",
            "1.s.",
            "-1s",
            "1d",
            "99999999999999999999h",
            ".",
        ] {
            assert_eq!(parse_nanos(bad), None, "{bad}");
        }
    }

    #[test]
    fn rounded_up_to_seconds() {
        assert_eq!(seconds(&json!("500ms"), "x", 1).unwrap(), 1);
        assert_eq!(seconds(&json!("1500ms"), "x", 1).unwrap(), 2);
        assert_eq!(seconds(&json!("1m30s"), "x", 1).unwrap(), 90);
        assert_eq!(seconds(&json!("0s"), "x", 1).unwrap(), 1);
        assert_eq!(seconds(&json!("0s"), "x", 0).unwrap(), 0);
        assert_eq!(seconds(&json!(0), "x", 0).unwrap(), 0);
        assert_eq!(
            seconds(&json!(10), "h.interval", 1)
                .unwrap_err()
                .to_string(),
            "h.interval: invalid duration 10: a duration needs a unit, e.g. \"10s\""
        );
        assert_eq!(
            seconds(&json!("10 seconds"), "h.timeout", 1)
                .unwrap_err()
                .to_string(),
            "h.timeout: invalid duration \"10 seconds\": expected a number and a unit \
             (h, m, s, ms, us, ns) such as \"1m30s\""
        );
        assert!(seconds(&json!([1]), "x", 0).is_err());
    }
}
