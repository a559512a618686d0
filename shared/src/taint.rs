//! Taints on nodes and tolerations on pods, with Kubernetes' matching rules.
use serde::{Deserialize, Serialize};

use crate::validate::FieldError;

/// The taint a node gets when its agent stops heartbeating.
pub const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
/// The taint of a cordoned node.
pub const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// A node's taint: pods that do not tolerate it are not scheduled there (`NoSchedule`), or are
/// also evicted (`NoExecute`). `PreferNoSchedule` is a hint the scheduler may ignore.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Taint {
    pub key: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
    /// RFC 3339 time a `NoExecute` taint was added (eviction timing counts from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_added: Option<String>,
}

impl Taint {
    /// A taint with no `timeAdded`.
    pub fn new(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect: effect.into(),
            time_added: None,
        }
    }
}

/// A pod's toleration of taints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Toleration {
    /// Empty with operator `Exists`: every taint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// `Equal` (default) or `Exists`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Empty: every effect.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub effect: String,
    /// For `NoExecute`: how long the pod stays after the taint appears (unset: forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toleration_seconds: Option<i64>,
}

impl Toleration {
    /// Whether this toleration matches `taint` (Kubernetes' `ToleratesTaint`).
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if !self.effect.is_empty() && self.effect != taint.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator.as_deref().unwrap_or("Equal") {
            "Exists" => true,
            "Equal" => self.key.is_empty() && self.value.is_empty() || self.value == taint.value,
            _ => false,
        }
    }
}

/// The first taint with one of `effects` that no toleration matches.
pub fn untolerated<'a>(
    taints: &'a [Taint],
    tolerations: &[Toleration],
    effects: &[&str],
) -> Option<&'a Taint> {
    taints
        .iter()
        .filter(|t| effects.contains(&t.effect.as_str()))
        .find(|t| !tolerations.iter().any(|tol| tol.tolerates(t)))
}

/// How long a pod may stay on a node with the `NoExecute` taint `taint`: `None` forever,
/// `Some(0)` not at all; the shortest matching `tolerationSeconds` wins.
pub fn no_execute_grace(taint: &Taint, tolerations: &[Toleration]) -> Option<i64> {
    let matching: Vec<&Toleration> = tolerations.iter().filter(|t| t.tolerates(taint)).collect();
    if matching.is_empty() {
        return Some(0);
    }
    if matching.iter().any(|t| t.toleration_seconds.is_none())
        && matching.iter().all(|t| t.toleration_seconds.is_none())
    {
        return None;
    }
    matching
        .iter()
        .filter_map(|t| t.toleration_seconds)
        .min()
        .map(|s| s.max(0))
}

/// The effects a taint may have.
pub const EFFECTS: [&str; 3] = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/// Checks a pod's tolerations (`path` is `spec.tolerations`).
pub fn validate_tolerations(tolerations: &[Toleration], path: &str, errs: &mut Vec<FieldError>) {
    for (i, t) in tolerations.iter().enumerate() {
        let p = format!("{path}[{i}]");
        match t.operator.as_deref().unwrap_or("Equal") {
            "Exists" if !t.value.is_empty() => errs.push(FieldError::invalid(
                format!("{p}.operator"),
                "Exists",
                "value must be empty when `operator` is 'Exists'",
            )),
            "Equal" if t.key.is_empty() => errs.push(FieldError::invalid(
                format!("{p}.operator"),
                "Equal",
                "operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
            )),
            "Exists" | "Equal" => {}
            other => errs.push(FieldError::unsupported(format!("{p}.operator"), other, &["Equal", "Exists"])),
        }
        if !t.effect.is_empty() && !EFFECTS.contains(&t.effect.as_str()) {
            errs.push(FieldError::unsupported(
                format!("{p}.effect"),
                &t.effect,
                &EFFECTS,
            ));
        }
        if t.toleration_seconds.is_some() && t.effect != "NoExecute" {
            errs.push(FieldError::invalid(
                format!("{p}.tolerationSeconds"),
                t.toleration_seconds.unwrap_or_default(),
                "only valid with effect NoExecute",
            ));
        }
    }
}

/// Checks a node's taints (`path` is `spec.taints`).
pub fn validate_taints(taints: &[Taint], path: &str, errs: &mut Vec<FieldError>) {
    for (i, t) in taints.iter().enumerate() {
        let p = format!("{path}[{i}]");
        if let Err(rule) = crate::names::validate_label_key(&t.key) {
            errs.push(FieldError::invalid(format!("{p}.key"), &t.key, rule));
        }
        if !EFFECTS.contains(&t.effect.as_str()) {
            errs.push(FieldError::unsupported(
                format!("{p}.effect"),
                &t.effect,
                &EFFECTS,
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint::new(key, value, effect)
    }

    fn tol(
        key: &str,
        op: Option<&str>,
        value: &str,
        effect: &str,
        secs: Option<i64>,
    ) -> Toleration {
        Toleration {
            key: key.into(),
            operator: op.map(str::to_string),
            value: value.into(),
            effect: effect.into(),
            toleration_seconds: secs,
        }
    }

    #[test]
    fn tolerations_match_like_kubernetes() {
        let t = taint("dedicated", "gpu", "NoSchedule");
        let cases = [
            (tol("dedicated", None, "gpu", "NoSchedule", None), true),
            (
                tol("dedicated", Some("Equal"), "cpu", "NoSchedule", None),
                false,
            ),
            (tol("dedicated", Some("Exists"), "", "", None), true),
            (tol("", Some("Exists"), "", "", None), true),
            (tol("dedicated", None, "gpu", "NoExecute", None), false),
            (tol("other", Some("Exists"), "", "", None), false),
        ];
        for (t2, want) in cases {
            assert_eq!(t2.tolerates(&t), want, "{t2:?}");
        }
    }

    #[test]
    fn untolerated_finds_the_blocking_taint() {
        let taints = vec![
            taint("a", "", "PreferNoSchedule"),
            taint("b", "x", "NoSchedule"),
        ];
        assert_eq!(
            untolerated(&taints, &[], &["NoSchedule", "NoExecute"]).map(|t| t.key.as_str()),
            Some("b")
        );
        let ok = [tol("b", Some("Exists"), "", "", None)];
        assert!(untolerated(&taints, &ok, &["NoSchedule", "NoExecute"]).is_none());
    }

    #[test]
    fn bad_tolerations_and_taints_name_the_field() {
        let mut errs = vec![];
        validate_tolerations(
            &[
                tol("k", Some("Exists"), "v", "", None),
                tol("", None, "", "", None),
                tol("k", Some("Maybe"), "", "Sometimes", Some(3)),
            ],
            "spec.tolerations",
            &mut errs,
        );
        let paths: Vec<&str> = errs.iter().map(|e| e.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.tolerations[0].operator",
                "spec.tolerations[1].operator",
                "spec.tolerations[2].operator",
                "spec.tolerations[2].effect",
                "spec.tolerations[2].tolerationSeconds",
            ]
        );
        let mut errs = vec![];
        validate_taints(&[taint("ok", "", "Bad")], "spec.taints", &mut errs);
        assert_eq!(errs[0].path, "spec.taints[0].effect");
    }

    #[test]
    fn no_execute_grace_takes_the_shortest_matching_toleration() {
        let t = taint(UNREACHABLE, "", "NoExecute");
        assert_eq!(no_execute_grace(&t, &[]), Some(0));
        assert_eq!(
            no_execute_grace(
                &t,
                &[tol(UNREACHABLE, Some("Exists"), "", "NoExecute", Some(30))]
            ),
            Some(30)
        );
        assert_eq!(
            no_execute_grace(
                &t,
                &[tol(UNREACHABLE, Some("Exists"), "", "NoExecute", None)]
            ),
            None
        );
        let two = [
            tol(UNREACHABLE, Some("Exists"), "", "NoExecute", Some(30)),
            tol("", Some("Exists"), "", "", Some(5)),
        ];
        assert_eq!(no_execute_grace(&t, &two), Some(5));
    }
}
