//! `-o json`, `-o yaml`, `-o name` and `-o jsonpath=`.
use serde::Serialize;

use bosun_shared::Object;

/// What kubectl prints for several objects: `{"apiVersion": "v1", "items": [...], "kind":
/// "List", "metadata": {"resourceVersion": ""}}`, keys in that order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct List<'a> {
    api_version: &'static str,
    items: &'a [Object],
    kind: &'static str,
    metadata: ListMeta,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMeta {
    resource_version: &'static str,
}

/// The object itself when `single` and there is exactly one, else a `List` of them (possibly
/// empty, as kubectl prints it).
enum Document<'a> {
    One(&'a Object),
    List(List<'a>),
}

fn document(objects: &[Object], single: bool) -> Document<'_> {
    match objects {
        [one] if single => Document::One(one),
        _ => Document::List(List {
            api_version: "v1",
            items: objects,
            kind: "List",
            metadata: ListMeta {
                resource_version: "",
            },
        }),
    }
}

/// Objects as printed: with their `apiVersion` and `kind`, filled in when missing.
fn typed(objects: &[Object]) -> Vec<Object> {
    let mut objects = objects.to_vec();
    objects.iter_mut().for_each(Object::set_type_meta);
    objects
}

/// The template run on the document `-o json` prints (the object, or a `List`).
pub(crate) fn jsonpath(t: &super::jsonpath::Template, objects: &[Object], single: bool) -> String {
    let items = typed(objects);
    let value = match document(&items, single) {
        Document::One(o) => serde_json::to_value(o),
        Document::List(l) => serde_json::to_value(&l),
    }
    .expect("objects serialize to JSON");
    // Evaluation cannot fail (missing keys print nothing).
    t.render(&value).unwrap_or_default()
}

/// Pretty JSON (two-space indent) and a final newline.
pub(crate) fn json(objects: &[Object], single: bool) -> String {
    let items = typed(objects);
    // Objects are plain data (string keys, no non-finite floats): serializing cannot fail.
    let mut out = match document(&items, single) {
        Document::One(o) => serde_json::to_string_pretty(&o),
        Document::List(l) => serde_json::to_string_pretty(&l),
    }
    .expect("objects serialize to JSON");
    out.push('\n');
    out
}

/// The same document as [`json`], as YAML.
pub(crate) fn yaml(objects: &[Object], single: bool) -> String {
    let items = typed(objects);
    // As for JSON: plain data always serializes.
    let mut out = match document(&items, single) {
        Document::One(o) => serde_saphyr::to_string(&o),
        Document::List(l) => serde_saphyr::to_string(&l),
    }
    .expect("objects serialize to YAML");
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// `pod/web-1`, `deployment.apps/web`, `node/n1`: one line per object.
pub(crate) fn names(objects: &[Object]) -> String {
    objects
        .iter()
        .map(|o| format!("{}/{}\n", o.kind().resource_name(), o.meta().name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::fixtures;
    use serde_json::{json, Value};

    fn sample() -> Vec<Object> {
        vec![
            fixtures::pod("web-1", &["app"]).into(),
            fixtures::deployment("web", 2).into(),
            fixtures::node("n1").into(),
        ]
    }

    #[test]
    fn names_are_resource_slash_name() {
        assert_eq!(
            names(&sample()),
            "pod/web-1\ndeployment.apps/web\nnode/n1\n"
        );
        assert_eq!(names(&[]), "");
    }

    #[test]
    fn json_list_has_kubectls_shape() {
        let pods: Vec<Object> = vec![
            fixtures::pod("a", &["app"]).into(),
            fixtures::pod("b", &["app"]).into(),
        ];
        let out = json(&pods, false);
        assert!(
            out.starts_with("{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\n"),
            "{out}"
        );
        assert!(
            out.ends_with(
                "  \"kind\": \"List\",\n  \"metadata\": {\n    \"resourceVersion\": \"\"\n  }\n}\n"
            ),
            "{out}"
        );
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["items"].as_array().unwrap().len(), 2);
        assert_eq!(v["items"][1]["metadata"]["name"], "b");
        assert_eq!(v["items"][0]["kind"], "Pod");
        // Even one object is a List unless it was asked for by name.
        let v: Value = serde_json::from_str(&json(&pods[..1], false)).unwrap();
        assert_eq!(v["kind"], "List");
        let v: Value = serde_json::from_str(&json(&[], false)).unwrap();
        assert_eq!(
            v,
            json!({"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}})
        );
    }

    #[test]
    fn a_single_object_prints_itself_with_its_type() {
        let mut pod = fixtures::pod("web-1", &["app"]);
        pod.kind.clear();
        pod.api_version.clear();
        let out = json(&[pod.into()], true);
        assert!(
            out.starts_with(
                "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\",\n  \"metadata\": {\n"
            ),
            "{out}"
        );
        let back = Object::from_json(out.as_bytes()).unwrap();
        assert_eq!(back.meta().name, "web-1");
    }

    #[test]
    fn yaml_is_the_same_document() {
        let objects = sample();
        for single in [false, true] {
            let one = &objects[1..2];
            let from_yaml: Value = serde_saphyr::from_str(&yaml(one, single)).unwrap();
            let from_json: Value = serde_json::from_str(&json(one, single)).unwrap();
            assert_eq!(from_yaml, from_json, "single: {single}");
        }
        let list = yaml(&objects, false);
        assert!(list.starts_with("apiVersion: v1\nitems:\n"), "{list}");
        assert!(
            list.ends_with("kind: List\nmetadata:\n  resourceVersion: \"\"\n"),
            "{list}"
        );
        let one = yaml(&objects[2..], true);
        assert!(
            one.starts_with("apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n"),
            "{one}"
        );
    }
}
