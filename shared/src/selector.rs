//! Label selectors: the structured `selector` of a Deployment and the string form of `-l`.
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meta::StringMap;

/// `matchLabels` and `matchExpressions`, as in Kubernetes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub match_labels: StringMap,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<SelectorRequirement>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SelectorRequirement {
    pub key: String,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    pub operator: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// True when no requirement is given (matches everything).
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    pub fn matches(&self, labels: &StringMap) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|r| {
                let v = labels.get(r.key.as_str());
                match r.operator.as_str() {
                    "In" => v.is_some_and(|v| r.values.iter().any(|x| x == v)),
                    "NotIn" => v.is_none_or(|v| !r.values.iter().any(|x| x == v)),
                    "Exists" => v.is_some(),
                    "DoesNotExist" => v.is_none(),
                    _ => false,
                }
            })
    }

    /// Parses the string form used by `-l`: `app=web,tier!=db,env in (a,b),!legacy,canary`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut sel = LabelSelector::default();
        for term in split_terms(s) {
            let term = term.trim();
            if term.is_empty() {
                continue;
            }
            let req = |key: &str, op: &str, values: Vec<String>| SelectorRequirement {
                key: key.trim().to_string(),
                operator: op.to_string(),
                values,
            };
            if let Some(key) = term.strip_prefix('!') {
                sel.match_expressions.push(req(key, "DoesNotExist", vec![]));
            } else if let Some((k, v)) = term.split_once("!=") {
                sel.match_expressions
                    .push(req(k, "NotIn", vec![v.trim().to_string()]));
            } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                sel.match_labels.insert(k.trim().into(), v.trim().into());
            } else if let Some((k, rest, op)) = split_set_op(term) {
                let inner = rest
                    .trim()
                    .strip_prefix('(')
                    .and_then(|r| r.strip_suffix(')'))
                    .ok_or_else(|| format!("selector term {term:?}: expected (v1,v2)"))?;
                let values = inner.split(',').map(|v| v.trim().to_string()).collect();
                sel.match_expressions.push(req(k, op, values));
            } else if term
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            {
                sel.match_expressions.push(req(term, "Exists", vec![]));
            } else {
                return Err(format!("selector term {term:?} is not valid"));
            }
        }
        Ok(sel)
    }
}

/// Splits on commas that are not inside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut out) = (0, 0, vec![]);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn split_set_op(term: &str) -> Option<(&str, &str, &'static str)> {
    if let Some((k, rest)) = term.split_once(" notin ") {
        return Some((k, rest, "NotIn"));
    }
    term.split_once(" in ").map(|(k, rest)| (k, rest, "In"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> StringMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect()
    }

    #[test]
    fn string_selectors_match_like_kubectl() {
        let l = labels(&[("app", "web"), ("tier", "front")]);
        let cases = [
            ("app=web", true),
            ("app==web", true),
            ("app=db", false),
            ("app!=db", true),
            ("tier in (front,back)", true),
            ("tier notin (front)", false),
            ("app", true),
            ("!app", false),
            ("!missing", true),
            ("app=web,tier=front", true),
            ("app=web,tier=back", false),
            ("", true),
        ];
        for (s, want) in cases {
            assert_eq!(LabelSelector::parse(s).unwrap().matches(&l), want, "{s}");
        }
    }

    #[test]
    fn bad_selector_is_an_error() {
        assert!(LabelSelector::parse("app in web").is_err());
        assert!(LabelSelector::parse("a b").is_err());
    }
}
