//! A Deployment's update strategy (`spec.strategy`): `RollingUpdate` with `maxSurge` and
//! `maxUnavailable`, or `Recreate`; Kubernetes' field names, defaults and rounding.
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `RollingUpdate` (the default) or `Recreate`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStrategy {
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<StrategyType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_update: Option<RollingUpdate>,
}

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum StrategyType {
    /// New pods replace old ones a few at a time, within `maxSurge` and `maxUnavailable`.
    #[default]
    RollingUpdate,
    /// Every old pod goes before any new one is created.
    Recreate,
}

/// Bounds of a rolling update: absolute numbers or percentages of `replicas`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RollingUpdate {
    /// Pods above `replicas` during the update (default 25%, rounded up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_surge: Option<IntOrPercent>,
    /// Pods below `replicas` that may be unavailable during the update (default 25%,
    /// rounded down).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_unavailable: Option<IntOrPercent>,
}

/// Kubernetes' `IntOrString` as used for counts: `2` or `"25%"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOrPercent {
    Int(i32),
    Percent(i32),
}

impl IntOrPercent {
    /// The count this stands for out of `total`; percentages round up or down.
    pub fn scaled(self, total: i32, round_up: bool) -> i32 {
        match self {
            IntOrPercent::Int(n) => n,
            IntOrPercent::Percent(p) => {
                let exact = i64::from(p) * i64::from(total);
                let v = if round_up {
                    (exact + 99) / 100
                } else {
                    exact / 100
                };
                v as i32
            }
        }
    }
}

impl fmt::Display for IntOrPercent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IntOrPercent::Int(n) => write!(f, "{n}"),
            IntOrPercent::Percent(p) => write!(f, "{p}%"),
        }
    }
}

impl Serialize for IntOrPercent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            IntOrPercent::Int(n) => s.serialize_i32(*n),
            IntOrPercent::Percent(_) => s.serialize_str(&self.to_string()),
        }
    }
}

impl<'de> Deserialize<'de> for IntOrPercent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = IntOrPercent;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a number or a percentage such as \"25%\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<IntOrPercent, E> {
                i32::try_from(v)
                    .map(IntOrPercent::Int)
                    .map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<IntOrPercent, E> {
                i32::try_from(v)
                    .map(IntOrPercent::Int)
                    .map_err(|_| E::custom(format!("{v} is out of range")))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<IntOrPercent, E> {
                let bad = || E::custom(format!("{v:?} is neither a number nor a percentage"));
                match v.strip_suffix('%') {
                    Some(p) => p.parse().map(IntOrPercent::Percent).map_err(|_| bad()),
                    None => v.parse().map(IntOrPercent::Int).map_err(|_| bad()),
                }
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// Kubernetes' default for both bounds.
const DEFAULT_BOUND: IntOrPercent = IntOrPercent::Percent(25);

impl DeploymentStrategy {
    pub fn kind(&self) -> StrategyType {
        self.type_.unwrap_or_default()
    }

    /// `(maxSurge, maxUnavailable)` as pod counts for `replicas`, as Kubernetes resolves
    /// them: surge rounds up, unavailable rounds down, and both zero means one unavailable.
    pub fn bounds(&self, replicas: i32) -> (i32, i32) {
        let ru = self.rolling_update.clone().unwrap_or_default();
        let surge = ru.max_surge.unwrap_or(DEFAULT_BOUND).scaled(replicas, true);
        let unavailable = ru
            .max_unavailable
            .unwrap_or(DEFAULT_BOUND)
            .scaled(replicas, false);
        if surge == 0 && unavailable == 0 {
            return (0, 1);
        }
        (surge.max(0), unavailable.max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rolling(
        surge: Option<IntOrPercent>,
        unavailable: Option<IntOrPercent>,
    ) -> DeploymentStrategy {
        DeploymentStrategy {
            type_: None,
            rolling_update: Some(RollingUpdate {
                max_surge: surge,
                max_unavailable: unavailable,
            }),
        }
    }

    #[test]
    fn bounds_follow_kubernetes_rounding_and_defaults() {
        use IntOrPercent::{Int, Percent};
        let cases = [
            // (strategy, replicas, (surge, unavailable))
            (DeploymentStrategy::default(), 4, (1, 1)),
            (DeploymentStrategy::default(), 10, (3, 2)),
            (DeploymentStrategy::default(), 1, (1, 0)),
            (rolling(Some(Int(0)), Some(Int(0))), 4, (0, 1)),
            (rolling(Some(Int(2)), Some(Int(1))), 4, (2, 1)),
            (rolling(Some(Percent(50)), Some(Percent(50))), 5, (3, 2)),
            (rolling(Some(Int(0)), None), 4, (0, 1)),
        ];
        for (s, replicas, want) in cases {
            assert_eq!(s.bounds(replicas), want, "{s:?} with {replicas} replicas");
        }
    }

    #[test]
    fn int_or_percent_reads_numbers_and_percentages() {
        let v: IntOrPercent = serde_json::from_str("\"25%\"").unwrap();
        assert_eq!(v, IntOrPercent::Percent(25));
        let v: IntOrPercent = serde_json::from_str("3").unwrap();
        assert_eq!(v, IntOrPercent::Int(3));
        assert_eq!(
            serde_json::to_string(&IntOrPercent::Percent(10)).unwrap(),
            "\"10%\""
        );
        let err = serde_json::from_str::<IntOrPercent>("\"x%\"").unwrap_err();
        assert!(err
            .to_string()
            .contains("neither a number nor a percentage"));
    }
}
