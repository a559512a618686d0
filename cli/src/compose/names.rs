//! Names: Compose's project names and service names, and the Kubernetes names (DNS-1123
//! labels, label values, port names) made from them.

/// Longest DNS-1123 label; also the longest name given to an object here, so it stays usable as
/// a hostname.
pub(crate) const MAX_NAME: usize = 63;

/// A project name as Compose normalizes it: lowercase, only `[a-z0-9_-]` kept, leading `_` and
/// `-` dropped.
pub(crate) fn normalize_project(s: &str) -> String {
    let kept: String = s
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

/// A service name Compose accepts: `[a-zA-Z0-9._-]+`.
pub(crate) fn is_service_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// `s` as a DNS-1123 label: lowercase, every other character a `-` (runs of them one), no `-`
/// at either end, at most 63 characters. May be empty.
pub(crate) fn dns_label(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    truncate(out, MAX_NAME)
}

/// `base` then `suffix`, `base` shortened so the whole fits in 63 characters.
pub(crate) fn with_suffix(base: &str, suffix: &str) -> String {
    let room = MAX_NAME.saturating_sub(suffix.len());
    format!("{}{suffix}", truncate(base.to_string(), room))
}

/// At most `max` characters (ASCII here), without a trailing `-`.
fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        s.truncate(max);
    }
    while s.ends_with('-') {
        s.pop();
    }
    s
}

/// The name of a service's objects: `<project>-<service>` as a DNS-1123 label.
pub(crate) fn object_name(project: &str, service: &str) -> String {
    dns_label(&format!("{project}-{service}"))
}

/// `s` as a Kubernetes label value: `[A-Za-z0-9._-]`, alphanumeric at both ends, at most 63
/// characters; other characters become `-`.
pub(crate) fn label_value(s: &str) -> String {
    let mapped: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut out: String = trimmed.chars().take(MAX_NAME).collect();
    while out.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        out.pop();
    }
    out
}

/// A valid Kubernetes port name (an IANA service name): at most 15 characters of `[a-z0-9-]`,
/// at least one letter, no `-` at either end nor `--`.
pub(crate) fn is_port_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 15
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && s.chars().any(|c| c.is_ascii_lowercase())
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_normalize_as_compose_does() {
        assert_eq!(normalize_project("My App"), "myapp");
        assert_eq!(normalize_project("_home-lab_1"), "home-lab_1");
        assert_eq!(normalize_project("Ünïcode.dir"), "ncodedir");
        assert_eq!(normalize_project("..."), "");
    }

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label("homelab-Web_App.1"), "homelab-web-app-1");
        assert_eq!(dns_label("__x__"), "x");
        assert_eq!(dns_label("a--b"), "a-b");
        assert_eq!(dns_label("___"), "");
        let long = dns_label(&format!("{}-{}", "a".repeat(62), "b"));
        assert_eq!(long, "a".repeat(62), "the trailing '-' of the cut goes");
        assert_eq!(with_suffix(&"a".repeat(70), "-12").len(), 63);
        assert!(with_suffix(&"a".repeat(70), "-12").ends_with("a-12"));
        assert_eq!(object_name("lab", "db"), "lab-db");
    }

    #[test]
    fn label_values() {
        assert_eq!(label_value("web_1"), "web_1");
        assert_eq!(label_value("_x."), "x");
        assert_eq!(label_value("a b"), "a-b");
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn port_names() {
        assert!(is_port_name("http"));
        assert!(is_port_name("web-80"));
        assert!(!is_port_name("80"));
        assert!(!is_port_name("Web"));
        assert!(!is_port_name("a-very-long-port-name"));
        assert!(!is_port_name("a--b"));
        assert!(is_service_name("web_1.x-y"));
        assert!(!is_service_name("web app"));
    }
}
