//! Reading a Compose file as Compose does: the YAML (anchors and `<<` merge keys included)
//! into a `serde_json::Value`, then variables interpolated in every string value.
//!
//! Interpolation follows Compose: `$VAR` and `${VAR}`; `${VAR:-default}` (unset or empty) and
//! `${VAR-default}` (unset); `${VAR:?message}` and `${VAR?message}` (an error); `${VAR:+alt}`
//! and `${VAR+alt}`; `$$` for a literal `$`. Defaults may themselves hold variables. An unset
//! variable without a default becomes the empty string, with Compose's warning. Keys are not
//! interpolated.
use serde_json::{Map, Value};

use super::ComposeError;

/// Nesting of `${...}` inside defaults beyond which a value is refused.
const MAX_NESTING: usize = 32;

/// The file's top-level mapping.
pub(crate) fn parse(text: &str) -> Result<Map<String, Value>, ComposeError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // YAML 1.2 booleans only, as Compose reads YAML: `yes`, `no`, `on` and `y` stay strings.
    let options = serde_saphyr::options! { strict_booleans: true };
    let root =
        serde_saphyr::from_str_with_options::<Option<Value>>(text, options).map_err(|e| {
            let message = format!("yaml: {}", e.without_snippet())
                .replace(", set DuplicateKeyPolicy in Options if acceptable", "");
            ComposeError::new("", message)
        })?;
    match root {
        None => Err(ComposeError::new("", "the Compose file is empty")),
        Some(Value::Object(map)) => Ok(map),
        Some(other) => Err(ComposeError::new(
            "",
            format!(
                "the Compose file must be a mapping of top-level keys (services, volumes, ...), \
                 not {}",
                super::value::type_name(&other)
            ),
        )),
    }
}

/// Interpolates every string in `value` (at `path`), in place. Unset variables add Compose's
/// warning to `warnings` (once each).
pub(crate) fn interpolate_value(
    value: &mut Value,
    path: &str,
    env: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<(), ComposeError> {
    match value {
        Value::String(s) => {
            let mut unset = Vec::new();
            let out = interpolate(s, env, &mut unset, 0).map_err(|e| {
                ComposeError::new(
                    path,
                    match e {
                        Failure::Invalid => format!(
                            "invalid interpolation format {s:?}: you may need to escape any $ \
                             with another $"
                        ),
                        Failure::Required(message) => message,
                    },
                )
            })?;
            for name in unset {
                let warning =
                    format!("The {name:?} variable is not set. Defaulting to a blank string.");
                if !warnings.contains(&warning) {
                    warnings.push(warning);
                }
            }
            *s = out;
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                interpolate_value(item, &format!("{path}[{i}]"), env, warnings)?;
            }
        }
        Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                interpolate_value(item, &format!("{path}.{k}"), env, warnings)?;
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
    Ok(())
}

/// Why a string could not be interpolated.
#[derive(Debug, PartialEq)]
enum Failure {
    /// Not a valid template (a lone `$`, an unclosed `${`, ...).
    Invalid,
    /// A `${VAR:?message}` whose variable is missing: the whole message.
    Required(String),
}

/// `s` with its variables replaced; names of unset variables used without a default are added
/// to `unset`.
fn interpolate(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, Failure> {
    if depth > MAX_NESTING {
        return Err(Failure::Invalid);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('{') {
            let end = closing_brace(inner).ok_or(Failure::Invalid)?;
            out.push_str(&braced(&inner[..end], env, unset, depth)?);
            rest = &inner[end + 1..];
        } else {
            let len = name_len(after);
            if len == 0 {
                return Err(Failure::Invalid);
            }
            out.push_str(&lookup(&after[..len], env, unset));
            rest = &after[len..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Index of the `}` closing a `${` whose content starts `s`, nested `${...}` skipped.
fn closing_brace(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let (mut depth, mut i) = (0usize, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'$' if bytes.get(i + 1) == Some(&b'$') => i += 1,
            b'$' if bytes.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 1;
            }
            b'}' if depth == 0 => return Some(i),
            b'}' => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Length of the variable name `s` starts with: `[A-Za-z_][A-Za-z0-9_]*`.
fn name_len(s: &str) -> usize {
    let mut len = 0;
    for (i, c) in s.char_indices() {
        let ok = c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit());
        if !ok {
            break;
        }
        len = i + c.len_utf8();
    }
    len
}

fn lookup(name: &str, env: &dyn Fn(&str) -> Option<String>, unset: &mut Vec<String>) -> String {
    env(name).unwrap_or_else(|| {
        if !unset.iter().any(|u| u == name) {
            unset.push(name.to_string());
        }
        String::new()
    })
}

/// The value of `${content}`.
fn braced(
    content: &str,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
    depth: usize,
) -> Result<String, Failure> {
    let len = name_len(content);
    if len == 0 {
        return Err(Failure::Invalid);
    }
    let (name, op) = content.split_at(len);
    if op.is_empty() {
        return Ok(lookup(name, env, unset));
    }
    let value = env(name);
    let set = value.is_some();
    let non_empty = value.as_deref().is_some_and(|v| !v.is_empty());
    let nested = |arg: &str, unset: &mut Vec<String>| interpolate(arg, env, unset, depth + 1);
    let required = |arg: &str, unset: &mut Vec<String>| {
        let message = nested(arg, unset)?;
        Err(Failure::Required(if message.is_empty() {
            format!("required variable {name} is missing a value")
        } else {
            format!("required variable {name} is missing a value: {message}")
        }))
    };
    let value = value.unwrap_or_default();
    if let Some(arg) = op.strip_prefix(":-") {
        if non_empty {
            Ok(value)
        } else {
            nested(arg, unset)
        }
    } else if let Some(arg) = op.strip_prefix(":?") {
        if non_empty {
            Ok(value)
        } else {
            required(arg, unset)
        }
    } else if let Some(arg) = op.strip_prefix(":+") {
        if non_empty {
            nested(arg, unset)
        } else {
            Ok(String::new())
        }
    } else if let Some(arg) = op.strip_prefix('-') {
        if set {
            Ok(value)
        } else {
            nested(arg, unset)
        }
    } else if let Some(arg) = op.strip_prefix('?') {
        if set {
            Ok(value)
        } else {
            required(arg, unset)
        }
    } else if let Some(arg) = op.strip_prefix('+') {
        if set {
            nested(arg, unset)
        } else {
            Ok(String::new())
        }
    } else {
        Err(Failure::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(name: &str) -> Option<String> {
        match name {
            "TAG" => Some("1.2".into()),
            "EMPTY" => Some(String::new()),
            "PORT" => Some("8080".into()),
            _ => None,
        }
    }

    fn run(s: &str) -> (Result<String, Failure>, Vec<String>) {
        let mut unset = Vec::new();
        (interpolate(s, &env, &mut unset, 0), unset)
    }

    fn ok(s: &str) -> String {
        run(s).0.unwrap()
    }

    #[test]
    fn every_form() {
        assert_eq!(ok("nginx:$TAG"), "nginx:1.2");
        assert_eq!(ok("nginx:${TAG}-alpine"), "nginx:1.2-alpine");
        assert_eq!(ok("$TAG$PORT"), "1.28080");
        assert_eq!(ok("${MISSING:-x}"), "x");
        assert_eq!(ok("${EMPTY:-x}"), "x");
        assert_eq!(ok("${TAG:-x}"), "1.2");
        assert_eq!(ok("${MISSING-x}"), "x");
        assert_eq!(ok("${EMPTY-x}"), "");
        assert_eq!(ok("${TAG:?oops}"), "1.2");
        assert_eq!(ok("${EMPTY?oops}"), "");
        assert_eq!(ok("${TAG:+set}"), "set");
        assert_eq!(ok("${EMPTY:+set}"), "");
        assert_eq!(ok("${EMPTY+set}"), "set");
        assert_eq!(ok("${MISSING+set}"), "");
        assert_eq!(ok("${MISSING:-a ${PORT} b}"), "a 8080 b");
        assert_eq!(ok("${MISSING:-${ALSO:-deep}}"), "deep");
        assert_eq!(ok("${MISSING:-}"), "");
        assert_eq!(ok("no variables"), "no variables");
        assert_eq!(ok("ünï${TAG}cødé"), "ünï1.2cødé");
    }

    #[test]
    fn dollar_dollar_is_a_dollar() {
        assert_eq!(ok("echo $$HOME"), "echo $HOME");
        assert_eq!(ok("$$$TAG"), "$1.2");
        assert_eq!(ok("${MISSING:-$$x}"), "$x");
        assert_eq!(ok("a$$"), "a$");
    }

    #[test]
    fn unset_is_blank_and_noted() {
        let (out, unset) = run("a${NOPE}b$NOPE$OTHER");
        assert_eq!(out.unwrap(), "ab");
        assert_eq!(unset, ["NOPE", "OTHER"]);
        let (_, unset) = run("${NOPE:-fine}");
        assert!(unset.is_empty(), "a used default is not a warning");
    }

    #[test]
    fn required_variables() {
        assert_eq!(
            run("${DB_PASSWORD:?set a password}").0,
            Err(Failure::Required(
                "required variable DB_PASSWORD is missing a value: set a password".into()
            ))
        );
        assert_eq!(
            run("${EMPTY:?}").0,
            Err(Failure::Required(
                "required variable EMPTY is missing a value".into()
            ))
        );
        assert_eq!(
            run("${MISSING?need $TAG}").0,
            Err(Failure::Required(
                "required variable MISSING is missing a value: need 1.2".into()
            ))
        );
    }

    #[test]
    fn invalid_templates() {
        for bad in [
            "echo $1", "$", "a $ b", "${", "${TAG", "${}", "${1A}", "${TAG#x}",
        ] {
            assert_eq!(run(bad).0, Err(Failure::Invalid), "{bad}");
        }
        let deep = format!("{}x{}", "${A:-".repeat(100), "}".repeat(100));
        assert_eq!(run(&deep).0, Err(Failure::Invalid));
    }

    #[test]
    fn values_are_walked_with_paths() {
        let mut v = json!({"web": {"image": "nginx:${TAG}", "ports": [80, "${PORT}:80"],
                           "command": "echo ${X}", "n": null}});
        let mut warnings = Vec::new();
        interpolate_value(&mut v, "services", &env, &mut warnings).unwrap();
        assert_eq!(
            v,
            json!({"web": {"image": "nginx:1.2", "ports": [80, "8080:80"], "command": "echo ",
                   "n": null}})
        );
        assert_eq!(
            warnings,
            ["The \"X\" variable is not set. Defaulting to a blank string."]
        );
        let mut v = json!({"web": {"ports": ["80", "${P:?give a port}"]}});
        let e = interpolate_value(&mut v, "services", &env, &mut warnings).unwrap_err();
        assert_eq!(
            e.to_string(),
            "services.web.ports[1]: required variable P is missing a value: give a port"
        );
        let mut v = json!({"web": {"command": "echo $1"}});
        let e = interpolate_value(&mut v, "services", &env, &mut warnings).unwrap_err();
        assert_eq!(
            e.to_string(),
            "services.web.command: invalid interpolation format \"echo $1\": you may need to \
             escape any $ with another $"
        );
    }

    #[test]
    fn parse_errors() {
        assert!(parse("").unwrap_err().message.contains("empty"));
        assert!(parse("- a\n").unwrap_err().message.contains("not a list"));
        let dup = parse("services: {}\nservices: {}\n").unwrap_err();
        assert!(dup.message.starts_with("yaml: "), "{dup}");
        assert!(!dup.message.contains("DuplicateKeyPolicy"), "{dup}");
        assert!(parse("services: [a\n").is_err());
    }

    #[test]
    fn yes_and_no_are_strings() {
        let root = parse("a: yes\nb: no\nc: on\nd: y\ne: true\nf: False\n").unwrap();
        assert_eq!(
            Value::Object(root),
            json!({"a": "yes", "b": "no", "c": "on", "d": "y", "e": true, "f": false})
        );
    }

    #[test]
    fn anchors_and_merge_keys() {
        let root = parse(
            "x-base: &base\n  image: app\n  restart: always\nservices:\n  a:\n    <<: *base\n    \
             command: run\n",
        )
        .unwrap();
        assert_eq!(
            root["services"]["a"],
            json!({"image": "app", "restart": "always", "command": "run"})
        );
    }
}
