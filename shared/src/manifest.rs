//! Manifests, as `bosun apply -f` reads them: multi-document YAML (or JSON, which is YAML)
//! into typed, defaulted and validated [`Object`]s.
//!
//! A field Bosun does not implement is never dropped silently: it becomes a warning naming its
//! path, or, when ignoring it would change what runs (volumes, `envFrom`, ...), an error.
//! A manifest with any error is refused whole, so nothing of it is applied.
use std::fmt;

use compact_str::ToCompactString;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::meta::DEFAULT_NAMESPACE;
use crate::object::{Kind, Object};
use crate::validate::{validate, FieldError};

/// An object read from a manifest, ready to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedObject {
    /// The object, with canonical `apiVersion`/`kind` and its namespace defaulted.
    pub object: Object,
    /// 1-based position of its document in the manifest.
    pub document: usize,
    /// Ignored fields, e.g. `unknown field spec.containers[0].lifecycle (not implemented
    /// by Bosun, ignored)`.
    pub warnings: Vec<String>,
}

/// Why a manifest was refused: every error of its first invalid document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// File name, or `-` for standard input.
    pub source: String,
    /// 1-based position of the document, counting empty ones.
    pub document: usize,
    /// Index of the item when the document is a `kind: List`.
    pub item: Option<usize>,
    /// `Deployment "web"`, once the kind is known.
    pub object: Option<String>,
    /// Kubernetes-style errors: `spec.replicas: Invalid value: -1: must be ...`.
    pub errors: Vec<String>,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {} (document {}", self.source, self.document)?;
        if let Some(item) = self.item {
            write!(f, ", items[{item}]")?;
        }
        f.write_str("):")?;
        if let Some(object) = &self.object {
            write!(f, " {object} is invalid:")?;
        }
        match self.errors.as_slice() {
            [one] => write!(f, " {one}"),
            many => many.iter().try_for_each(|e| write!(f, "\n* {e}")),
        }
    }
}

impl std::error::Error for ManifestError {}

/// Parses every object of a manifest. `source` names it in errors (a file name or `-`).
pub fn parse_manifests(source: &str, text: &str) -> Result<Vec<ParsedObject>, ManifestError> {
    let mut parsed = Vec::new();
    for (index, doc) in split_documents(text).into_iter().enumerate() {
        let document = index + 1;
        let refuse = |item, object, errors| ManifestError {
            source: source.to_string(),
            document,
            item,
            object,
            errors,
        };
        let value = match parse_yaml(doc) {
            Ok(Some(value)) => value,
            Ok(None) => continue,
            Err(e) => return Err(refuse(None, None, vec![e])),
        };
        for (item, value) in expand_list(value).map_err(|e| refuse(None, None, vec![e]))? {
            let (object, warnings) =
                parse_object(&value).map_err(|(object, errors)| refuse(item, object, errors))?;
            parsed.push(ParsedObject {
                object,
                document,
                warnings,
            });
        }
    }
    Ok(parsed)
}

/// A document's text and the line it starts on, so YAML errors name the file's lines.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Document<'a> {
    text: &'a str,
    first_line: usize,
}

/// Splits at `---` and `...` lines, as YAML does (they cannot occur inside a document).
/// Comments and directives before the first `---` belong to the first document.
fn split_documents(text: &str) -> Vec<Document<'_>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut docs = Vec::new();
    let (mut start, mut first_line, mut offset) = (0, 1, 0);
    let (mut has_content, mut has_marker) = (false, false);
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let (starts, ends) = (is_marker(line, "---"), is_marker(line, "..."));
        if starts && (has_content || has_marker) {
            docs.push(Document {
                text: &text[start..offset],
                first_line,
            });
            (start, first_line, has_content) = (offset, index + 1, false);
        }
        offset += line.len();
        if starts {
            has_marker = true;
            has_content |= is_content(&line[3..]);
        } else if ends {
            if has_content || has_marker {
                docs.push(Document {
                    text: &text[start..offset],
                    first_line,
                });
            }
            (start, first_line) = (offset, index + 2);
            (has_content, has_marker) = (false, false);
        } else {
            has_content |= !line.starts_with('%') && is_content(line);
        }
    }
    if has_content || has_marker {
        docs.push(Document {
            text: &text[start..],
            first_line,
        });
    }
    docs
}

fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

fn is_content(line: &str) -> bool {
    let line = line.trim();
    !line.is_empty() && !line.starts_with('#')
}

/// The document as JSON; `None` when it is empty (`~`, comments only).
fn parse_yaml(doc: Document<'_>) -> Result<Option<Value>, String> {
    // Kubernetes reads manifests as YAML 1.1: `defaultMode: 0400` is octal (256).
    let options = serde_saphyr::options! { legacy_octal_numbers: true };
    let parse =
        |text: &str| serde_saphyr::from_str_with_options::<Option<Value>>(text, options.clone());
    parse(doc.text).map_err(|_| {
        // Parse again behind blank lines so the error names the line in the whole file.
        let padded = format!("{}{}", "\n".repeat(doc.first_line - 1), doc.text);
        match parse(&padded) {
            // The hint is for programmers; a manifest's author just has a duplicate key.
            Err(e) => format!("yaml: {}", e.without_snippet())
                .replace(", set DuplicateKeyPolicy in Options if acceptable", ""),
            Ok(_) => "yaml: invalid document".to_string(),
        }
    })
}

/// The objects of a document: itself, or the items of a `List` (or `PodList`, ...).
fn expand_list(value: Value) -> Result<Vec<(Option<usize>, Value)>, String> {
    let Value::Object(mut map) = value else {
        return Err(format!(
            "expected an object with apiVersion and kind, found {}",
            json_type(&value)
        ));
    };
    let list_of = match map.get("kind").and_then(Value::as_str) {
        Some("List") => None,
        Some(kind) => match kind.strip_suffix("List").and_then(find_kind) {
            Some(kind) => Some(kind),
            None => return Ok(vec![(None, Value::Object(map))]),
        },
        None => return Ok(vec![(None, Value::Object(map))]),
    };
    let items = match map.remove("items") {
        Some(Value::Array(items)) => items,
        Some(Value::Null) | None => return Err(FieldError::required("items").to_string()),
        Some(other) => return Err(format!("items: Invalid value: {other}: must be a list")),
    };
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, mut item)| {
            // Typed lists (`PodList`) may leave the type out of their items.
            if let (Some(kind), Value::Object(obj)) = (list_of, &mut item) {
                obj.entry("kind").or_insert_with(|| kind.as_str().into());
                obj.entry("apiVersion")
                    .or_insert_with(|| kind.api_version().into());
            }
            (Some(i), item)
        })
        .collect())
}

fn find_kind(name: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.as_str() == name)
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// `Err((object, errors))`, where `object` (`Deployment "web"`) is known once the kind is.
type Refusal = (Option<String>, Vec<String>);

/// One object: type check, decode, sort unknown fields, default, validate.
fn parse_object(value: &Value) -> Result<(Object, Vec<String>), Refusal> {
    let kind = object_kind(value).map_err(|e| (None, vec![e.to_string()]))?;
    let name = value.pointer("/metadata/name").and_then(Value::as_str);
    let described = Some(format!("{kind} {:?}", name.unwrap_or_default()));
    match value.get("apiVersion") {
        Some(Value::String(v)) if v == kind.api_version() => {}
        None | Some(Value::Null) => {
            let e = format!(
                "apiVersion: Required value: {kind} is {:?}",
                kind.api_version()
            );
            return Err((described, vec![e]));
        }
        Some(v) => {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            let e = FieldError::unsupported("apiVersion", v, &[kind.api_version()]);
            return Err((described, vec![e.to_string()]));
        }
    }
    let (decoded, ignored) = match kind {
        Kind::Pod => decode(value, Object::Pod),
        Kind::Deployment => decode(value, Object::Deployment),
        Kind::ReplicaSet => decode(value, Object::ReplicaSet),
        Kind::Job => decode(value, Object::Job),
        Kind::DaemonSet => decode(value, Object::DaemonSet),
        Kind::CronJob => decode(value, Object::CronJob),
        Kind::Event => decode(value, Object::Event),
        Kind::Node => decode(value, Object::Node),
        Kind::Secret => decode(value, Object::Secret),
        Kind::Namespace => decode(value, Object::Namespace),
        Kind::ConfigMap => decode(value, Object::ConfigMap),
        Kind::PersistentVolumeClaim => decode(value, Object::PersistentVolumeClaim),
    };
    let (mut warnings, mut errors) = (Vec::new(), Vec::new());
    for path in ignored {
        match classify(kind, &path, path.lookup(value)) {
            Verdict::Refuse => errors.push(format!(
                "{path}: Unsupported value: Bosun does not implement this yet"
            )),
            Verdict::Warn => warnings.push(format!(
                "unknown field {path} (not implemented by Bosun, ignored)"
            )),
            Verdict::Quiet => {}
        }
    }
    let mut object = match decoded {
        Ok(object) => object,
        Err(e) => {
            errors.push(e);
            return Err((described, errors));
        }
    };
    object.set_type_meta();
    let meta = object.meta_mut();
    if kind.namespaced() && meta.namespace.is_empty() {
        meta.namespace = DEFAULT_NAMESPACE.to_compact_string();
    } else if !kind.namespaced() && !meta.namespace.is_empty() {
        warnings.push(format!(
            "metadata.namespace {:?} ignored: {kind} objects are not namespaced",
            std::mem::take(&mut meta.namespace)
        ));
    }
    errors.extend(validate(&object).iter().map(ToString::to_string));
    if errors.is_empty() {
        Ok((object, warnings))
    } else {
        Err((described, errors))
    }
}

fn object_kind(value: &Value) -> Result<Kind, FieldError> {
    match value.get("kind") {
        None | Some(Value::Null) => Err(FieldError::required("kind")),
        Some(Value::String(kind)) => find_kind(kind).ok_or_else(|| {
            let supported = Kind::ALL.map(Kind::as_str);
            FieldError::unsupported("kind", kind, &supported)
        }),
        Some(other) => Err(FieldError::new(
            "kind",
            format!("Invalid value: {other}: must be a string"),
        )),
    }
}

/// Decodes the typed object, naming the path of a type error and collecting the paths of
/// fields the model does not have.
fn decode<T: DeserializeOwned>(
    value: &Value,
    wrap: fn(T) -> Object,
) -> (Result<Object, String>, Vec<FieldPath>) {
    let mut ignored = Vec::new();
    let mut record = |path: serde_ignored::Path<'_>| ignored.push(FieldPath::from_ignored(&path));
    let result =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(value, &mut record));
    let result = result.map(wrap).map_err(|e| {
        let path = FieldPath::from_serde(e.path());
        let message = e.inner().to_string();
        match message
            .strip_prefix("missing field `")
            .and_then(|m| m.strip_suffix('`'))
        {
            Some(field) => format!("{}: Required value", path.child(field)),
            None => FieldError::new(path.to_string(), message).to_string(),
        }
    });
    (result, ignored)
}

/// What to do with a field the model does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Ignoring it would change what runs.
    Refuse,
    /// Harmless and common in copied manifests: say nothing.
    Quiet,
    Warn,
}

/// Pod spec fields (relative to the pod spec) that change what runs if dropped.
const REFUSED: [&str; 5] = [
    // A sidecar (an init container that keeps running) would hold up the pod forever.
    "initContainers[*].restartPolicy",
    "hostNetwork",
    // A probe without its handler would not check what its author meant.
    "containers[*].livenessProbe.grpc",
    "containers[*].readinessProbe.grpc",
    "containers[*].startupProbe.grpc",
];

/// Server-written fields that `kubectl get -o yaml` output carries.
const SERVER_FIELDS: [&str; 3] = ["status", "metadata.managedFields", "metadata.selfLink"];

/// Fields `kubectl get -o yaml` prints with Kubernetes' defaults, which Bosun's behaviour
/// matches: quiet when they hold exactly that value. Pod spec fields are relative.
const POD_SPEC_DEFAULTS: [(&str, &str); 9] = [
    ("dnsPolicy", "ClusterFirst"),
    ("schedulerName", "default-scheduler"),
    ("enableServiceLinks", "true"),
    ("priority", "0"),
    ("preemptionPolicy", "PreemptLowerPriority"),
    ("serviceAccountName", "default"),
    ("serviceAccount", "default"),
    (
        "containers[*].terminationMessagePath",
        "/dev/termination-log",
    ),
    ("containers[*].terminationMessagePolicy", "File"),
];

fn classify(kind: Kind, path: &FieldPath, value: Option<&Value>) -> Verdict {
    let pattern = path.pattern();
    let is_default = |defaults: &[(&str, &str)], field: &str| {
        defaults
            .iter()
            .any(|(p, d)| *p == field && value.is_some_and(|v| holds(v, d)))
    };
    let pod_spec = match kind {
        Kind::Pod => Some("spec."),
        Kind::Deployment | Kind::ReplicaSet | Kind::DaemonSet | Kind::Job => {
            Some("spec.template.spec.")
        }
        Kind::CronJob => Some("spec.jobTemplate.spec.template.spec."),
        Kind::Event
        | Kind::Node
        | Kind::Secret
        | Kind::Namespace
        | Kind::ConfigMap
        | Kind::PersistentVolumeClaim => None,
    };
    if let Some(field) = pod_spec.and_then(|prefix| pattern.strip_prefix(prefix)) {
        if REFUSED.contains(&field) && !value.is_none_or(is_empty) {
            return Verdict::Refuse;
        }
        if is_default(&POD_SPEC_DEFAULTS, field) {
            return Verdict::Quiet;
        }
    }
    let server_written = SERVER_FIELDS
        .iter()
        .any(|f| pattern == *f || pattern.starts_with(&format!("{f}.")));
    if server_written || value.is_none_or(is_empty) {
        return Verdict::Quiet;
    }
    Verdict::Warn
}

/// `null`, `false`, `""`, `[]`, `{}`: nothing is lost by ignoring it.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        Value::Number(_) => false,
    }
}

/// True when `v` is the scalar written `literal`.
fn holds(v: &Value, literal: &str) -> bool {
    match v {
        Value::String(s) => s == literal,
        other => serde_json::from_str::<Value>(literal).is_ok_and(|d| d == *other),
    }
}

/// A path into a document: `spec.containers[0].livenessProbe`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct FieldPath(Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

impl FieldPath {
    fn from_ignored(path: &serde_ignored::Path<'_>) -> Self {
        fn walk(path: &serde_ignored::Path<'_>, out: &mut Vec<Segment>) {
            use serde_ignored::Path as P;
            match path {
                P::Root => {}
                P::Seq { parent, index } => {
                    walk(parent, out);
                    out.push(Segment::Index(*index));
                }
                P::Map { parent, key } => {
                    walk(parent, out);
                    out.push(Segment::Key(key.clone()));
                }
                P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
                    walk(parent, out)
                }
            }
        }
        let mut segments = Vec::new();
        walk(path, &mut segments);
        FieldPath(segments)
    }

    fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        FieldPath(
            path.iter()
                .map(|s| match s {
                    S::Seq { index } => Segment::Index(*index),
                    S::Map { key } => Segment::Key(key.clone()),
                    S::Enum { variant } => Segment::Key(variant.clone()),
                    S::Unknown => Segment::Key("?".to_string()),
                })
                .collect(),
        )
    }

    fn child(&self, key: &str) -> Self {
        let mut segments = self.0.clone();
        segments.push(Segment::Key(key.to_string()));
        FieldPath(segments)
    }

    /// The path with every index replaced by `*`: `spec.containers[*].volumeMounts`.
    fn pattern(&self) -> String {
        let generic: Vec<Segment> = self
            .0
            .iter()
            .map(|s| match s {
                Segment::Index(_) => Segment::Key("[*]".to_string()),
                key => key.clone(),
            })
            .collect();
        FieldPath(generic).to_string().replace(".[*]", "[*]")
    }

    fn lookup<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.0.iter().try_fold(value, |v, s| match s {
            Segment::Key(k) => v.get(k.as_str()),
            Segment::Index(i) => v.get(*i),
        })
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Key(key) if i == 0 => f.write_str(key)?,
                Segment::Key(key) => write!(f, ".{key}")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
