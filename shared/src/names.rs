//! Names as Kubernetes defines them: DNS-1123 subdomains (object names) and labels
//! (namespaces, container names), label keys and values, port names, environment variable names.
//!
//! Each check returns `Err` with the rule spelled out the way Kubernetes words it, so
//! [`crate::validate`] can print `metadata.name: Invalid value: "Web_1": <rule>`.

/// Longest DNS-1123 label (namespace, container name).
pub const DNS1123_LABEL_MAX_LEN: usize = 63;
/// Longest DNS-1123 subdomain (object names).
pub const DNS1123_SUBDOMAIN_MAX_LEN: usize = 253;
/// Longest name part of a label key, and longest label value.
pub const LABEL_MAX_LEN: usize = 63;
/// Longest port name (an IANA service name).
pub const PORT_NAME_MAX_LEN: usize = 15;

const LABEL_RULE: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric \
    characters or '-', and must start and end with an alphanumeric character \
    (e.g. 'my-name', or '123-abc')";
const SUBDOMAIN_RULE: &str = "a lowercase RFC 1123 subdomain must consist of lower case \
    alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character \
    (e.g. 'example.com')";
const QUALIFIED_NAME_RULE: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
    and must start and end with an alphanumeric character (e.g. 'MyName', or 'my.name', or \
    '123-abc')";
const LABEL_VALUE_RULE: &str = "a valid label must be an empty string or consist of \
    alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric \
    character (e.g. 'MyValue', or 'my_value', or '12345')";

/// Checks an object name (pods, deployments, nodes): lowercase alphanumerics, `-` and `.`,
/// starting and ending with an alphanumeric, at most 253 characters.
pub fn validate_dns1123_subdomain(name: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    if name.len() > DNS1123_SUBDOMAIN_MAX_LEN {
        problems.push(too_long(DNS1123_SUBDOMAIN_MAX_LEN));
    }
    if name.is_empty() || !name.split('.').all(is_dns_label) {
        problems.push(SUBDOMAIN_RULE.to_string());
    }
    into_result(problems)
}

/// Checks a namespace or container name: lowercase alphanumerics and `-`, starting and
/// ending with an alphanumeric, at most 63 characters.
pub fn validate_dns1123_label(name: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    if name.len() > DNS1123_LABEL_MAX_LEN {
        problems.push(too_long(DNS1123_LABEL_MAX_LEN));
    }
    if !is_dns_label(name) {
        problems.push(LABEL_RULE.to_string());
    }
    into_result(problems)
}

/// Checks a label (or annotation) key: an optional DNS-1123 subdomain prefix and `/`, then a
/// name of at most 63 characters of `[A-Za-z0-9-_.]` starting and ending with an alphanumeric.
pub fn validate_label_key(key: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts.as_slice() {
        [name] => name,
        [prefix, name] => {
            if prefix.is_empty() {
                problems.push("prefix part must be non-empty".to_string());
            } else if let Err(e) = validate_dns1123_subdomain(prefix) {
                problems.push(format!("prefix part {e}"));
            }
            name
        }
        _ => {
            return Err(format!(
                "a qualified name {QUALIFIED_NAME_RULE} with an optional DNS subdomain prefix \
                 and '/' (e.g. 'example.com/MyName')"
            ))
        }
    };
    if name.is_empty() {
        problems.push("name part must be non-empty".to_string());
    } else {
        if name.len() > LABEL_MAX_LEN {
            problems.push(format!("name part {}", too_long(LABEL_MAX_LEN)));
        }
        if !is_qualified_name(name) {
            problems.push(format!("name part {QUALIFIED_NAME_RULE}"));
        }
    }
    into_result(problems)
}

/// Checks a label value: empty, or at most 63 characters of `[A-Za-z0-9-_.]` starting and
/// ending with an alphanumeric.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    if value.len() > LABEL_MAX_LEN {
        problems.push(too_long(LABEL_MAX_LEN));
    }
    if !value.is_empty() && !is_qualified_name(value) {
        problems.push(LABEL_VALUE_RULE.to_string());
    }
    into_result(problems)
}

/// Checks a container port name (an IANA service name, as Kubernetes requires): at most 15
/// lowercase alphanumerics and `-`, with at least one letter and no leading, trailing or
/// doubled `-`.
pub fn validate_port_name(name: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    if name.len() > PORT_NAME_MAX_LEN {
        problems.push(too_long(PORT_NAME_MAX_LEN));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        problems
            .push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)".into());
    }
    if name.contains("--") {
        problems.push("must not contain consecutive hyphens".into());
    }
    if !name.bytes().any(|b| b.is_ascii_lowercase()) {
        problems.push("must contain at least one letter (a-z)".into());
    }
    if name.starts_with('-') || name.ends_with('-') {
        problems.push("must not begin or end with a hyphen".into());
    }
    into_result(problems)
}

/// Checks an environment variable name: non-empty printable ASCII without `=` (Kubernetes'
/// relaxed rule; Docker passes variables as `NAME=value`).
pub fn validate_env_var_name(name: &str) -> Result<(), String> {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| (b' '..=b'~').contains(&b) && b != b'=')
    {
        Ok(())
    } else {
        Err(
            "a valid environment variable name must consist only of printable ASCII \
             characters other than '='"
                .to_string(),
        )
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
fn is_dns_label(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(&first), Some(&last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|&b| alnum(b) || b == b'-')
        }
        _ => false,
    }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name(s: &str) -> bool {
    let bytes = s.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        }
        _ => false,
    }
}

fn too_long(max: usize) -> String {
    format!("must be no more than {max} characters")
}

fn into_result(problems: Vec<String>) -> Result<(), String> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Check = fn(&str) -> Result<(), String>;

    /// Runs `check` on each input; `Some(fragment)` expects an error containing it.
    fn table(check: Check, cases: &[(&str, Option<&str>)]) {
        for (input, want) in cases {
            match (check(input), want) {
                (Ok(()), None) => {}
                (Err(e), Some(fragment)) => assert!(e.contains(fragment), "{input:?}: {e}"),
                (got, want) => panic!("{input:?}: got {got:?}, want error {want:?}"),
            }
        }
    }

    #[test]
    fn subdomains() {
        let long = format!("{}.{}", "a".repeat(199), "b".repeat(53));
        let too_long = format!("{long}c");
        table(
            validate_dns1123_subdomain,
            &[
                ("web", None),
                ("web-1", None),
                ("1web", None),
                ("web.example.com", None),
                (&long, None),
                ("", Some("RFC 1123 subdomain")),
                (
                    "Web_1",
                    Some("lower case alphanumeric characters, '-' or '.'"),
                ),
                ("web-", Some("start and end with an alphanumeric")),
                ("-web", Some("start and end")),
                (".web", Some("start and end")),
                ("web..x", Some("RFC 1123 subdomain")),
                ("web.-x", Some("RFC 1123 subdomain")),
                ("web x", Some("RFC 1123 subdomain")),
                ("wéb", Some("RFC 1123 subdomain")),
                (&too_long, Some("no more than 253 characters")),
            ],
        );
    }

    #[test]
    fn labels() {
        let max = "a".repeat(63);
        let over = "a".repeat(64);
        table(
            validate_dns1123_label,
            &[
                ("web", None),
                ("a", None),
                ("0", None),
                ("my-app-2", None),
                (&max, None),
                ("", Some("RFC 1123 label")),
                ("web.x", Some("lower case alphanumeric characters or '-'")),
                ("Web", Some("RFC 1123 label")),
                ("web-", Some("start and end with an alphanumeric")),
                (&over, Some("no more than 63 characters")),
            ],
        );
    }

    #[test]
    fn label_keys() {
        let name63 = "k".repeat(63);
        let name64 = "k".repeat(64);
        table(
            validate_label_key,
            &[
                ("app", None),
                ("App_Name.v2", None),
                ("app.kubernetes.io/name", None),
                ("example.com/MyName", None),
                (&name63, None),
                ("", Some("name part must be non-empty")),
                ("example.com/", Some("name part must be non-empty")),
                ("/app", Some("prefix part must be non-empty")),
                (
                    "Example.com/app",
                    Some("prefix part a lowercase RFC 1123 subdomain"),
                ),
                ("a/b/c", Some("with an optional DNS subdomain prefix")),
                (
                    "-app",
                    Some("name part must consist of alphanumeric characters"),
                ),
                ("app name", Some("name part must consist")),
                (
                    &name64,
                    Some("name part must be no more than 63 characters"),
                ),
            ],
        );
    }

    #[test]
    fn label_values() {
        table(
            validate_label_value,
            &[
                ("", None),
                ("nginx", None),
                ("My_Value-1.0", None),
                ("v1 beta", Some("a valid label must be an empty string")),
                ("_x", Some("start and end with an alphanumeric")),
                ("x/y", Some("a valid label")),
                (&"v".repeat(64), Some("no more than 63 characters")),
            ],
        );
    }

    #[test]
    fn port_names() {
        table(
            validate_port_name,
            &[
                ("http", None),
                ("web-8080", None),
                ("a-very-long-name", Some("no more than 15 characters")),
                ("HTTP", Some("only alpha-numeric characters")),
                ("my--port", Some("consecutive hyphens")),
                ("8080", Some("at least one letter")),
                ("-http", Some("begin or end with a hyphen")),
            ],
        );
    }

    #[test]
    fn env_var_names() {
        table(
            validate_env_var_name,
            &[
                ("PATH", None),
                ("my.var-1", None),
                ("", Some("printable ASCII")),
                ("A=B", Some("other than '='")),
                ("TAB\t", Some("printable ASCII")),
            ],
        );
    }
}
