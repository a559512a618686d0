//! How `bosun get` and `bosun describe` print objects, the way kubectl does.
//!
//! - [`format`]: [`Format`], the `-o` values.
//! - [`tabwriter`]: Go's elastic tabstops, which kubectl aligns all its text with.
//! - [`columns`]: the computed `get` columns (a pod's STATUS, a node's ROLES, ...).
//! - [`table`]: `get` tables.
//! - [`serialize`]: `-o json`, `-o yaml`, `-o name` and `-o jsonpath=`.
//! - [`jsonpath`]: kubectl's JSONPath templates (`-o jsonpath=`, `--sort-by`).
//! - [`describe`](mod@describe): `describe` text for each kind.
use std::time::SystemTime;

use bosun_shared::{Kind, Object};

mod columns;
pub(crate) mod describe;
#[cfg(test)]
mod fixtures;
mod format;
#[cfg(test)]
mod golden;
pub(crate) mod jsonpath;
mod serialize;
pub(crate) mod table;
mod tabwriter;

pub use describe::{describe, pod_template};
pub use format::Format;
pub use table::align;

/// Renders objects of one kind for `bosun get` (a single object or a list).
///
/// - `single`: the user asked for one object by name; json and yaml then print the object
///   itself rather than a `List` (if `objects` holds exactly one).
/// - `all_namespaces`: tables get a leading NAMESPACE column, as with `kubectl get -A`
///   (not for nodes, which have no namespace).
///
/// Tables (`Table`, `Wide`) of an empty list, and `-o name` of one, are `""`: the caller prints
/// `No resources found in <ns> namespace.` (to stderr, like kubectl). `-o json|yaml` of an empty
/// list is an empty `List`, as kubectl prints it. Tables skip objects not of `kind`. Every line
/// ends with `\n`.
pub fn render(
    kind: Kind,
    objects: &[Object],
    format: &Format,
    single: bool,
    all_namespaces: bool,
    now: SystemTime,
) -> String {
    match format {
        Format::Table => table::render(kind, objects, false, all_namespaces, now),
        Format::Wide => table::render(kind, objects, true, all_namespaces, now),
        Format::Json => serialize::json(objects, single),
        Format::Yaml => serialize::yaml(objects, single),
        Format::Name => serialize::names(objects),
        Format::JsonPath(t) => serialize::jsonpath(t, objects, single),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fixtures::{now, running_pod};

    #[test]
    fn render_dispatches_on_the_format() {
        let pods: Vec<Object> = vec![running_pod("web-1", "n1").into()];
        let table = render(Kind::Pod, &pods, &Format::Table, true, false, now());
        assert!(
            table.starts_with("NAME    READY   STATUS    RESTARTS   AGE\n"),
            "{table}"
        );
        let wide = render(Kind::Pod, &pods, &Format::Wide, true, false, now());
        assert!(
            wide.lines().next().unwrap().ends_with("   IP         NODE"),
            "{wide}"
        );
        let name = render(Kind::Pod, &pods, &Format::Name, true, false, now());
        assert_eq!(name, "pod/web-1\n");
        let json = render(Kind::Pod, &pods, &Format::Json, true, false, now());
        assert!(json.contains("\n  \"kind\": \"Pod\",\n"), "{json}");
        let yaml = render(Kind::Pod, &pods, &Format::Yaml, false, false, now());
        assert!(yaml.contains("kind: List\n"), "{yaml}");
        for format in [Format::Table, Format::Wide, Format::Name] {
            assert_eq!(
                render(Kind::Pod, &[], &format, false, true, now()),
                "",
                "{format:?}"
            );
        }
    }
}
