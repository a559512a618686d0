//! Resource quantities in Kubernetes' grammar (`500m`, `0.5`, `128Mi`, `1.5Gi`, `1e3`),
//! parsed exactly into integers (millis or whole units), never floats.
use std::fmt;

use serde::{Deserialize, Serialize};

/// A quantity as written in a manifest; parsed on use with [`Quantity::millis`] and
/// [`Quantity::value`]. Validation ([`Quantity::parse_millis`]) rejects bad ones at apply time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Quantity(pub String);

/// Why a quantity could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error("quantity {0:?} is empty")]
    Empty(String),
    #[error("quantity {0:?} is not a number with an optional suffix (m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei)")]
    Syntax(String),
    #[error("quantity {0:?} must not be negative")]
    Negative(String),
    #[error("quantity {0:?} is too large")]
    Overflow(String),
    #[error("quantity {0:?} is more precise than a thousandth")]
    TooPrecise(String),
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Kubernetes accepts `cpu: 1` and `cpu: 0.5` as numbers as well as strings.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            S(String),
            I(i64),
            U(u64),
            F(f64),
        }
        Ok(Quantity(match Raw::deserialize(d)? {
            Raw::S(s) => s,
            Raw::I(i) => i.to_string(),
            Raw::U(u) => u.to_string(),
            Raw::F(f) => f.to_string(),
        }))
    }
}

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Quantity {
    fn from(s: &str) -> Self {
        Quantity(s.to_string())
    }
}

impl Quantity {
    /// The quantity in thousandths (`500m` -> 500, `2` -> 2000): CPU in millicores.
    pub fn millis(&self) -> Result<i64, QuantityError> {
        Self::parse_millis(&self.0)
    }

    /// The quantity in whole units, rounded up (`128Mi` -> 134217728): memory in bytes.
    pub fn value(&self) -> Result<i64, QuantityError> {
        let m = Self::parse_millis(&self.0)?;
        Ok(m / 1000 + i64::from(m % 1000 != 0))
    }

    /// Parses a quantity into thousandths of its unit.
    pub fn parse_millis(s: &str) -> Result<i64, QuantityError> {
        let t = s.trim();
        if t.is_empty() {
            return Err(QuantityError::Empty(s.to_string()));
        }
        if t.starts_with('-') {
            return Err(QuantityError::Negative(s.to_string()));
        }
        let t = t.strip_prefix('+').unwrap_or(t);
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(t.len());
        let (number, suffix) = t.split_at(split);
        let (int_part, frac_part) = match number.split_once('.') {
            Some((i, f)) => (i, f),
            None => (number, ""),
        };
        if (int_part.is_empty() && frac_part.is_empty()) || frac_part.contains('.') {
            return Err(QuantityError::Syntax(s.to_string()));
        }
        // value = (int_part.frac_part) * 10^exp10 * 2^exp2, expressed in thousandths.
        let (exp10, exp2): (i32, u32) = match suffix {
            "" => (0, 0),
            "m" => (-3, 0),
            "k" => (3, 0),
            "M" => (6, 0),
            "G" => (9, 0),
            "T" => (12, 0),
            "P" => (15, 0),
            "E" => (18, 0),
            "Ki" => (0, 10),
            "Mi" => (0, 20),
            "Gi" => (0, 30),
            "Ti" => (0, 40),
            "Pi" => (0, 50),
            "Ei" => (0, 60),
            _ => match suffix.strip_prefix(['e', 'E']) {
                Some(e) if !e.is_empty() && e.chars().all(|c| c.is_ascii_digit()) => (
                    e.parse()
                        .map_err(|_| QuantityError::Overflow(s.to_string()))?,
                    0,
                ),
                _ => return Err(QuantityError::Syntax(s.to_string())),
            },
        };
        let overflow = || QuantityError::Overflow(s.to_string());
        let digits = format!("{int_part}{frac_part}");
        let mut mantissa: i128 = 0;
        for c in digits.chars() {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(c as u8 - b'0')))
                .ok_or_else(overflow)?;
        }
        // thousandths: multiply by 10^(exp10 + 3 - frac_len) * 2^exp2
        let scale = exp10 + 3 - frac_part.len() as i32;
        let mut v = mantissa.checked_mul(1i128 << exp2).ok_or_else(overflow)?;
        if scale >= 0 {
            v = v
                .checked_mul(10i128.checked_pow(scale as u32).ok_or_else(overflow)?)
                .ok_or_else(overflow)?;
        } else {
            let div = 10i128
                .checked_pow((-scale) as u32)
                .ok_or_else(|| QuantityError::TooPrecise(s.to_string()))?;
            if v % div != 0 {
                return Err(QuantityError::TooPrecise(s.to_string()));
            }
            v /= div;
        }
        i64::try_from(v).map_err(|_| overflow())
    }
}

/// Formats bytes the way people read them (`512Mi`, `1.5Gi`).
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [(&str, i64); 4] = [
        ("Ti", 1 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ];
    for (suffix, size) in UNITS {
        if bytes >= size {
            return if bytes % size == 0 {
                format!("{}{suffix}", bytes / size)
            } else {
                format!("{:.1}{suffix}", bytes as f64 / size as f64)
            };
        }
    }
    bytes.to_string()
}

/// Formats millicores (`500m`, `2`).
pub fn format_millis(millis: i64) -> String {
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_kubernetes_quantities_exactly() {
        let cases: &[(&str, i64)] = &[
            ("500m", 500),
            ("0.5", 500),
            ("1", 1000),
            ("2", 2000),
            ("1.5", 1500),
            (".25", 250),
            ("128Mi", 128 * 1024 * 1024 * 1000),
            ("1.5Gi", 1536 * 1024 * 1024 * 1000),
            ("1k", 1_000_000),
            ("1M", 1_000_000_000),
            ("1e3", 1_000_000),
            ("+3", 3000),
            ("0", 0),
        ];
        for (input, want) in cases {
            assert_eq!(Quantity::parse_millis(input), Ok(*want), "{input}");
        }
    }

    #[test]
    fn value_rounds_up_to_whole_units() {
        assert_eq!(Quantity::from("128Mi").value(), Ok(134_217_728));
        assert_eq!(Quantity::from("1.5Gi").value(), Ok(1_610_612_736));
        assert_eq!(Quantity::from("500m").value(), Ok(1));
        assert_eq!(Quantity::from("500m").millis(), Ok(500));
    }

    #[test]
    fn rejects_malformed_negative_and_huge() {
        type Check = fn(&QuantityError) -> bool;
        let bad: &[(&str, Check)] = &[
            ("1.5.5", |e| matches!(e, QuantityError::Syntax(_))),
            ("12XB", |e| matches!(e, QuantityError::Syntax(_))),
            ("Mi", |e| matches!(e, QuantityError::Syntax(_))),
            ("", |e| matches!(e, QuantityError::Empty(_))),
            ("-1", |e| matches!(e, QuantityError::Negative(_))),
            ("-500m", |e| matches!(e, QuantityError::Negative(_))),
            ("99999999999999999999", |e| {
                matches!(e, QuantityError::Overflow(_))
            }),
            ("9Ei", |e| matches!(e, QuantityError::Overflow(_))),
            ("1e400", |e| matches!(e, QuantityError::Overflow(_))),
            ("0.0001", |e| matches!(e, QuantityError::TooPrecise(_))),
            ("1 Gi", |e| matches!(e, QuantityError::Syntax(_))),
        ];
        for (input, is_expected) in bad {
            let err = Quantity::parse_millis(input).expect_err(input);
            assert!(is_expected(&err), "{input}: got {err:?}");
        }
    }

    #[test]
    fn numbers_in_yaml_are_quantities() {
        let q: Quantity = serde_json::from_str("0.5").unwrap();
        assert_eq!(q.millis(), Ok(500));
        let q: Quantity = serde_json::from_str("2").unwrap();
        assert_eq!(q.millis(), Ok(2000));
    }

    #[test]
    fn formats_for_people() {
        assert_eq!(format_bytes(512 << 20), "512Mi");
        assert_eq!(format_bytes(3 << 29), "1.5Gi");
        assert_eq!(format_millis(500), "500m");
        assert_eq!(format_millis(2000), "2");
    }
}
