//! `bosun explain KIND[.field[.field...]] [--recursive]`: the documentation of a kind or of
//! one of its fields, as kubectl prints it, read from the kind's JSON Schema (itself generated
//! from the types the API decodes, so it cannot drift from what Bosun accepts);
//! `--output json-schema` prints the schema itself (what `docs/schema/` publishes).
use bosun_shared::schema::of_kind;
use bosun_shared::Kind;
use serde_json::Value;

use crate::commands::{emit, parse_kind};

#[derive(clap::Args)]
pub struct Args {
    /// A kind (`pods`, `deploy`, ...) and optionally a path into it: `pods.spec.containers`.
    pub path: String,
    /// Every field below, indented, instead of one level.
    #[arg(long)]
    pub recursive: bool,
    /// `plaintext` (default) or `json-schema`.
    #[arg(short = 'o', long, default_value = "plaintext", value_parser = ["plaintext", "json-schema"])]
    pub output: String,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (kind_name, fields) = match args.path.split_once('.') {
        Some((k, rest)) => (k, rest.split('.').collect::<Vec<_>>()),
        None => (args.path.as_str(), Vec::new()),
    };
    let kind = parse_kind(kind_name)?;
    let schema = of_kind(kind);
    if args.output == "json-schema" {
        return emit(&format!("{}\n", serde_json::to_string_pretty(&schema)?));
    }
    emit(&explain(kind, &schema, &fields, args.recursive)?)
}

/// The text of `explain` for the field at `path` (empty: the kind itself).
pub fn explain(kind: Kind, root: &Value, path: &[&str], recursive: bool) -> anyhow::Result<String> {
    let mut node = root;
    let mut ty = kind.as_str().to_string();
    for (i, field) in path.iter().enumerate() {
        let props = properties(root, node);
        let Some(next) = props.and_then(|p| p.get(*field)) else {
            anyhow::bail!(
                "field \"{field}\" does not exist in {}",
                std::iter::once(kind.plural())
                    .chain(path[..i].iter().copied())
                    .collect::<Vec<_>>()
                    .join(".")
            );
        };
        ty = type_name(root, next);
        node = next;
    }
    let mut out = format!(
        "KIND:       {}\nVERSION:    {}\n\n",
        kind.as_str(),
        kind.api_version()
    );
    if let Some(field) = path.last() {
        out.push_str(&format!("FIELD: {field} <{ty}>\n\n"));
    }
    let description = description(root, node);
    if !description.is_empty() {
        out.push_str("DESCRIPTION:\n");
        for line in description.lines() {
            out.push_str(&format!("    {line}\n"));
        }
        out.push('\n');
    }
    if properties(root, node).is_some() {
        out.push_str("FIELDS:\n");
        fields(root, node, 1, recursive, &mut out, 0);
    }
    Ok(out)
}

/// The fields of `node`, one level (or all, `recursive`) at `indent`.
fn fields(
    root: &Value,
    node: &Value,
    indent: usize,
    recursive: bool,
    out: &mut String,
    depth: usize,
) {
    let Some(props) = properties(root, node) else {
        return;
    };
    let required: Vec<&str> = resolve(root, node)
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let pad = "  ".repeat(indent);
    for (name, field) in props {
        let req = if required.contains(&name.as_str()) {
            " -required-"
        } else {
            ""
        };
        out.push_str(&format!("{pad}{name}\t<{}>{req}\n", type_name(root, field)));
        if recursive {
            // Types that contain themselves stop after a few levels.
            if depth < 12 {
                fields(root, field, indent + 1, true, out, depth + 1);
            }
        } else {
            let d = description(root, field);
            for line in d.lines() {
                out.push_str(&format!("{pad}  {line}\n"));
            }
            out.push('\n');
        }
    }
}

/// `node` with a `$ref` (direct, or the non-null branch of an optional) followed.
fn resolve<'a>(root: &'a Value, node: &'a Value) -> &'a Value {
    let mut n = node;
    for _ in 0..8 {
        if let Some(r) = n.get("$ref").and_then(Value::as_str) {
            match r
                .strip_prefix("#/$defs/")
                .and_then(|d| root.get("$defs")?.get(d))
            {
                Some(def) => n = def,
                None => return n,
            }
        } else if let Some(branch) = n
            .get("anyOf")
            .or_else(|| n.get("oneOf"))
            .and_then(Value::as_array)
            .and_then(|b| {
                b.iter()
                    .find(|s| s.get("type") != Some(&Value::from("null")))
            })
        {
            n = branch;
        } else if let Some(items) = n.get("items") {
            n = items;
        } else if let Some(values) = n.get("additionalProperties").filter(|v| v.is_object()) {
            n = values;
        } else {
            return n;
        }
    }
    n
}

fn properties<'a>(root: &'a Value, node: &'a Value) -> Option<&'a serde_json::Map<String, Value>> {
    resolve(root, node)
        .get("properties")
        .and_then(Value::as_object)
}

/// The field's own description, else its type's.
fn description(root: &Value, node: &Value) -> String {
    node.get("description")
        .or_else(|| resolve(root, node).get("description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// kubectl's notation: `string`, `integer`, `boolean`, `[]Container`, `map[string]string`,
/// `Object` for a structure.
fn type_name(root: &Value, node: &Value) -> String {
    if let Some(r) = node.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_string();
        // A reference to a plain type (an int-or-string) reads as that type.
        let def = resolve(root, node);
        return if def.get("properties").is_some() {
            name
        } else {
            type_name(root, def)
        };
    }
    if let Some(branch) = node
        .get("anyOf")
        .or_else(|| node.get("oneOf"))
        .and_then(Value::as_array)
        .and_then(|b| {
            b.iter()
                .find(|s| s.get("type") != Some(&Value::from("null")))
        })
    {
        return type_name(root, branch);
    }
    if node.get("const").is_some() {
        return "string".into();
    }
    if node.get("enum").is_some() {
        return "string".into();
    }
    let types: Vec<&str> = match node.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => vec![],
    };
    match types.as_slice() {
        ["array"] => format!(
            "[]{}",
            node.get("items")
                .map_or("Object".into(), |i| type_name(root, i))
        ),
        ["object"] => match node.get("additionalProperties").filter(|v| v.is_object()) {
            Some(v) => format!("map[string]{}", type_name(root, v)),
            None => "Object".into(),
        },
        ["integer", "string"] | ["string", "integer"] => "IntOrString".into(),
        [t] => t.to_string(),
        _ => "Object".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explains_a_kind_and_a_field_like_kubectl() {
        let schema = of_kind(Kind::Pod);
        let top = explain(Kind::Pod, &schema, &[], false).unwrap();
        assert!(
            top.starts_with("KIND:       Pod\nVERSION:    v1\n\n"),
            "{top}"
        );
        assert!(top.contains("FIELDS:\n"), "{top}");
        assert!(top.contains("  spec\t<PodSpec>\n"), "{top}");
        let containers = explain(Kind::Pod, &schema, &["spec", "containers"], false).unwrap();
        assert!(
            containers.contains("FIELD: containers <[]Container>\n"),
            "{containers}"
        );
        assert!(containers.contains("  image\t<string>"), "{containers}");
        assert!(
            containers.contains("  resources\t<ResourceRequirements>"),
            "{containers}"
        );
        let limits = explain(
            Kind::Pod,
            &schema,
            &["spec", "containers", "resources", "limits"],
            false,
        )
        .unwrap();
        assert!(
            limits.contains("FIELD: limits <map[string]IntOrString>"),
            "{limits}"
        );
        let err = explain(Kind::Pod, &schema, &["spec", "nope"], false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "field \"nope\" does not exist in pods.spec"
        );
        let all = explain(
            Kind::Deployment,
            &of_kind(Kind::Deployment),
            &["spec"],
            true,
        )
        .unwrap();
        assert!(all.contains("      containers\t<[]Container>"), "{all}");
    }
}

/// The schemas `docs/schema/` publishes: one file per kind (`pods.json`) and `all.json`,
/// which accepts any of them (for an editor's YAML language server).
#[cfg(test)]
fn published() -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut any = Vec::new();
    for kind in Kind::ALL {
        let name = format!("{}.json", kind.plural());
        let text = serde_json::to_string_pretty(&of_kind(kind)).unwrap_or_default() + "\n";
        any.push(serde_json::json!({ "$ref": name }));
        files.push((name, text));
    }
    let all = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Any Bosun object",
        "anyOf": any,
    });
    files.push((
        "all.json".into(),
        serde_json::to_string_pretty(&all).unwrap_or_default() + "\n",
    ));
    files
}

#[cfg(test)]
mod published_tests {
    use super::published;

    /// `docs/schema/` holds what the types generate; `BOSUN_UPDATE_SCHEMA=1` rewrites it.
    #[test]
    fn published_schemas_match_the_types() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schema");
        let update = std::env::var_os("BOSUN_UPDATE_SCHEMA").is_some();
        if update {
            std::fs::create_dir_all(&dir).unwrap();
        }
        for (name, text) in published() {
            let path = dir.join(&name);
            if update {
                std::fs::write(&path, &text).unwrap();
                continue;
            }
            let stored = std::fs::read_to_string(&path).unwrap_or_default();
            assert!(
                stored == text,
                "docs/schema/{name} is out of date: run BOSUN_UPDATE_SCHEMA=1 cargo test -p bosun-cli published_schemas"
            );
        }
    }
}
