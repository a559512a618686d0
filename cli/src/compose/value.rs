//! Typed reads of Compose values, with errors naming the key.
//!
//! Interpolation happens before types are checked, as in Compose, so a number or a boolean may
//! arrive as a string (`replicas: ${REPLICAS:-2}`): the readers here accept both.
use serde_json::{Map, Value};

use super::ComposeError;

/// `a string`, `a list`, ...: what a value is, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn expected(path: &str, what: &str, v: &Value) -> ComposeError {
    ComposeError::new(path, format!("must be {what}, not {}", type_name(v)))
}

pub(crate) fn as_map<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ComposeError> {
    v.as_object().ok_or_else(|| expected(path, "a mapping", v))
}

pub(crate) fn as_list<'a>(v: &'a Value, path: &str) -> Result<&'a [Value], ComposeError> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| expected(path, "a list", v))
}

pub(crate) fn as_str<'a>(v: &'a Value, path: &str) -> Result<&'a str, ComposeError> {
    v.as_str().ok_or_else(|| expected(path, "a string", v))
}

/// A string, number or boolean as text (`1`, `0.5`, `true`).
pub(crate) fn scalar_string(v: &Value, path: &str) -> Result<String, ComposeError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(expected(path, "a string, number or boolean", other)),
    }
}

/// A whole number, written as one or as a string of one.
pub(crate) fn as_int(v: &Value, path: &str) -> Result<i64, ComposeError> {
    let parsed = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    parsed.ok_or_else(|| match v {
        Value::Number(_) | Value::String(_) => {
            ComposeError::new(path, format!("{} is not a whole number", display(v)))
        }
        other => expected(path, "a whole number", other),
    })
}

/// A whole number that must not be negative.
pub(crate) fn as_count(v: &Value, path: &str) -> Result<i64, ComposeError> {
    let n = as_int(v, path)?;
    if n < 0 {
        return Err(ComposeError::new(path, format!("{n} must not be negative")));
    }
    Ok(n)
}

/// A boolean, or a string spelling one (`true`, `False`, `yes`, `off`, ...).
pub(crate) fn as_bool(v: &Value, path: &str) -> Result<bool, ComposeError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "y" | "on" => Ok(true),
            "false" | "no" | "n" | "off" => Ok(false),
            _ => Err(ComposeError::new(
                path,
                format!("{s:?} is not a boolean (true or false)"),
            )),
        },
        other => Err(expected(path, "a boolean", other)),
    }
}

/// A string or a list of strings (numbers allowed as items), as `command`, `dns`, ...
pub(crate) fn string_or_list(v: &Value, path: &str) -> Result<Vec<String>, ComposeError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(_) => string_list(v, path),
        other => Err(expected(path, "a string or a list of strings", other)),
    }
}

/// A list of strings (numbers and booleans written as text).
pub(crate) fn string_list(v: &Value, path: &str) -> Result<Vec<String>, ComposeError> {
    as_list(v, path)?
        .iter()
        .enumerate()
        .map(|(i, item)| scalar_string(item, &format!("{path}[{i}]")))
        .collect()
}

/// A list of `KEY=VALUE` (or bare `KEY`, value `None`) or a mapping (a null value is `None`),
/// as `environment` and `labels` are written. Pairs keep the file's order for a list and the
/// keys' order for a mapping.
pub(crate) fn list_or_map(
    v: &Value,
    path: &str,
) -> Result<Vec<(String, Option<String>)>, ComposeError> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                let p = format!("{path}[{i}]");
                let s = scalar_string(item, &p)?;
                let (k, val) = match s.split_once('=') {
                    Some((k, val)) => (k.to_string(), Some(val.to_string())),
                    None => (s, None),
                };
                if k.is_empty() {
                    return Err(ComposeError::new(p, format!("{item} has an empty name")));
                }
                Ok((k, val))
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, val)| {
                let val = match val {
                    Value::Null => None,
                    other => Some(scalar_string(other, &format!("{path}.{k}"))?),
                };
                Ok((k.clone(), val))
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        other => Err(expected(path, "a list or a mapping", other)),
    }
}

/// A value as it appears in messages: strings quoted, the rest as JSON.
pub(crate) fn display(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn numbers_may_be_strings() {
        assert_eq!(as_int(&json!(3), "x").unwrap(), 3);
        assert_eq!(as_int(&json!(" 3 "), "x").unwrap(), 3);
        assert_eq!(
            as_int(&json!("three"), "a.b").unwrap_err().to_string(),
            "a.b: \"three\" is not a whole number"
        );
        assert_eq!(
            as_int(&json!([1]), "a").unwrap_err().to_string(),
            "a: must be a whole number, not a list"
        );
        assert!(as_count(&json!(-1), "a").is_err());
        assert!(as_bool(&json!("TRUE"), "a").unwrap());
        assert!(!as_bool(&json!(false), "a").unwrap());
        assert!(as_bool(&json!("maybe"), "a").is_err());
    }

    #[test]
    fn list_or_map_reads_both_forms() {
        let list = list_or_map(&json!(["A=1", "B", "C=x=y", "D="]), "e").unwrap();
        assert_eq!(
            list,
            [
                ("A".into(), Some("1".into())),
                ("B".into(), None),
                ("C".into(), Some("x=y".into())),
                ("D".into(), Some(String::new())),
            ]
        );
        let map = list_or_map(&json!({"A": 1, "B": null, "C": true}), "e").unwrap();
        assert_eq!(
            map,
            [
                ("A".into(), Some("1".into())),
                ("B".into(), None),
                ("C".into(), Some("true".into())),
            ]
        );
        assert!(list_or_map(&json!(["=x"]), "e").is_err());
        assert_eq!(
            list_or_map(&json!({"A": {"b": 1}}), "e")
                .unwrap_err()
                .to_string(),
            "e.A: must be a string, number or boolean, not a mapping"
        );
    }
}
