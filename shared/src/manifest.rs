//! Manifests, as `bosun apply -f` reads them: multi-document YAML (or JSON, which is YAML)
//! into typed, defaulted and validated [`Object`]s.
//!
//! A field Bosun does not implement is never dropped silently: it becomes a warning naming its
//! path, or, when ignoring it would change what runs (volumes, `envFrom`, ...), an error.
//! A manifest with any error is refused whole, so nothing of it is applied.
use std::fmt;

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
    /// Ignored fields, e.g. `unknown field spec.containers[0].livenessProbe (not implemented
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
    serde_saphyr::from_str::<Option<Value>>(doc.text).map_err(|_| {
        // Parse again behind blank lines so the error names the line in the whole file.
        let padded = format!("{}{}", "\n".repeat(doc.first_line - 1), doc.text);
        match serde_saphyr::from_str::<Option<Value>>(&padded) {
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
        Kind::Node => decode(value, Object::Node),
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
        meta.namespace = DEFAULT_NAMESPACE.to_string();
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
const REFUSED: [&str; 6] = [
    "volumes",
    "initContainers",
    "hostNetwork",
    "containers[*].volumeMounts",
    "containers[*].envFrom",
    "containers[*].env[*].valueFrom",
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
const DEPLOYMENT_DEFAULTS: [(&str, &str); 2] = [
    ("spec.revisionHistoryLimit", "10"),
    ("spec.progressDeadlineSeconds", "600"),
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
        Kind::Deployment => Some("spec.template.spec."),
        Kind::Node => None,
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
    let kind_default = kind == Kind::Deployment && is_default(&DEPLOYMENT_DEFAULTS, &pattern);
    if server_written || kind_default || value.is_none_or(is_empty) {
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
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> Vec<ParsedObject> {
        parse_manifests("test.yaml", text).unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> ManifestError {
        match parse_manifests("test.yaml", text) {
            Ok(objects) => panic!("expected an error, parsed {objects:?}"),
            Err(e) => e,
        }
    }

    /// A pod with one container and `extra` appended (indented to the container).
    fn pod_with(container_extra: &str) -> String {
        let mut text = String::from("apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\n");
        text.push_str("spec:\n  containers:\n  - name: web\n    image: nginx\n");
        for line in container_extra.lines() {
            text.push_str(&format!("    {line}\n"));
        }
        text
    }

    #[test]
    fn kubernetes_docs_nginx_deployment_parses_without_warnings() {
        let objects = parse_ok(include_str!("../tests/fixtures/nginx-deployment.yaml"));
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].warnings, Vec::<String>::new());
        let Object::Deployment(d) = &objects[0].object else {
            panic!("not a deployment: {:?}", objects[0].object)
        };
        assert_eq!(
            (d.api_version.as_str(), d.kind.as_str()),
            ("apps/v1", "Deployment")
        );
        assert_eq!(d.metadata.namespace, "default");
        assert_eq!(d.replicas(), 3);
        assert_eq!(
            d.spec.template.spec.containers[0].ports[0].container_port,
            80
        );
    }

    #[test]
    fn kubectl_get_output_warns_only_about_real_features() {
        let objects = parse_ok(include_str!(
            "../tests/fixtures/kubectl-get-deployment.yaml"
        ));
        assert_eq!(
            objects[0].warnings,
            vec!["unknown field spec.strategy (not implemented by Bosun, ignored)"]
        );
    }

    #[test]
    fn unknown_fields_are_warnings_with_their_path() {
        let objects = parse_ok(&pod_with("livenessProbe:\n  httpGet: {path: /, port: 80}"));
        assert_eq!(
            objects[0].warnings,
            vec![
                "unknown field spec.containers[0].livenessProbe (not implemented by Bosun, ignored)"
            ]
        );
    }

    #[test]
    fn errors_name_the_field() {
        const REFUSED: &str = "Unsupported value: Bosun does not implement this yet";
        let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n";
        let cases: Vec<(String, String)> = vec![
            (
                pod_with("").replace("name: web\nspec", "name: Web_1\nspec"),
                "metadata.name: Invalid value: \"Web_1\": a lowercase RFC 1123 subdomain".into(),
            ),
            (
                pod_with("resources:\n  limits:\n    memory: 12XB"),
                "spec.containers[0].resources.limits.memory: Invalid value: \"12XB\"".into(),
            ),
            (
                pod_with("").replace("    image: nginx\n", ""),
                "spec.containers[0].image: Required value".into(),
            ),
            (
                pod_with("").replace("  - name: web\n    image", "  - image"),
                "spec.containers[0].name: Required value".into(),
            ),
            (
                pod_with("ports:\n- containerPort: http"),
                "spec.containers[0].ports[0].containerPort: invalid type: string \"http\"".into(),
            ),
            (
                pod_with("volumeMounts:\n- {name: data, mountPath: /data}"),
                format!("spec.containers[0].volumeMounts: {REFUSED}"),
            ),
            (
                pod_with("env:\n- name: A\n  valueFrom: {secretKeyRef: {name: s, key: k}}"),
                format!("spec.containers[0].env[0].valueFrom: {REFUSED}"),
            ),
            (
                pod_with("") + "  volumes:\n  - name: data\n    emptyDir: {}\n",
                format!("spec.volumes: {REFUSED}"),
            ),
            (
                pod_with("").replace("apiVersion: v1", "apiVersion: apps/v1"),
                "apiVersion: Unsupported value: \"apps/v1\": supported values: \"v1\"".into(),
            ),
            (
                pod_with("").replace("apiVersion: v1\n", ""),
                "apiVersion: Required value".into(),
            ),
            (
                pod_with("").replace("kind: Pod\n", ""),
                "kind: Required value".into(),
            ),
            (
                service.into(),
                concat!(
                    "kind: Unsupported value: \"Service\": ",
                    "supported values: \"Pod\", \"Deployment\", \"Node\""
                )
                .into(),
            ),
            (
                "- a\n- b\n".into(),
                "expected an object with apiVersion and kind, found a list".into(),
            ),
            (
                "a: [1\n".into(),
                "yaml: unclosed bracket '[' at line 1, column 4".into(),
            ),
            (
                "a: 1\na: 2\n".into(),
                "yaml: duplicate mapping key: a at line 2, column 1".into(),
            ),
        ];
        for (text, want) in &cases {
            let e = parse_err(text);
            assert!(
                e.errors.iter().any(|got| got.starts_with(want.as_str())),
                "want {want:?}\ngot {e}"
            );
        }
    }

    #[test]
    fn deployment_replicas_are_checked() {
        let nginx = include_str!("../tests/fixtures/nginx-deployment.yaml");
        let e = parse_err(&nginx.replace("replicas: 3", "replicas: -1"));
        assert_eq!(
            e.to_string(),
            "error: test.yaml (document 1): Deployment \"nginx-deployment\" is invalid: \
             spec.replicas: Invalid value: -1: must be greater than or equal to 0"
        );
        let e = parse_err(&nginx.replace("replicas: 3", "replicas: \"three\""));
        assert_eq!(
            e.errors,
            vec!["spec.replicas: invalid type: string \"three\", expected i32"]
        );
    }

    #[test]
    fn every_error_of_the_document_is_reported() {
        let e = parse_err(
            &pod_with(
                "volumeMounts: [{name: d, mountPath: /d}]\nresources: {limits: {memory: 1Mi}}",
            )
            .replace("name: web\nspec", "name: Web\nspec"),
        );
        assert_eq!(e.errors.len(), 3, "{e}");
        assert!(e
            .to_string()
            .starts_with("error: test.yaml (document 1): Pod \"Web\" is invalid:\n* "));
    }

    #[test]
    fn documents_are_split_and_empty_ones_skipped() {
        let objects = parse_ok(include_str!("../tests/fixtures/multi-document.yaml"));
        let names: Vec<(usize, String)> = objects
            .iter()
            .map(|o| (o.document, o.object.describe()))
            .collect();
        assert_eq!(
            names,
            vec![
                (1, "Pod default/one".to_string()),
                (3, "Deployment prod/two".to_string())
            ]
        );
        assert!(parse_ok("").is_empty());
        assert!(parse_ok("# nothing\n---\n---\n...\n").is_empty());
    }

    #[test]
    fn errors_name_the_document_and_its_lines() {
        let text = format!(
            "{}---\n# second\n{}",
            pod_with(""),
            pod_with("ports: [80").replace("web", "b")
        );
        let e = parse_err(&text);
        assert_eq!(e.document, 2);
        assert!(e.errors[0].contains("line 19"), "{e}");
    }

    #[test]
    fn split_follows_yaml_markers() {
        let docs =
            split_documents("%YAML 1.2\n---\na: 1\n--- {b: 2}\n...\n# c\n---\nc: 3\n---foo: 1\n");
        let texts: Vec<(&str, usize)> = docs.iter().map(|d| (d.text, d.first_line)).collect();
        assert_eq!(
            texts,
            vec![
                ("%YAML 1.2\n---\na: 1\n", 1),
                ("--- {b: 2}\n...\n", 4),
                ("# c\n---\nc: 3\n---foo: 1\n", 6),
            ]
        );
    }

    #[test]
    fn json_manifests_parse() {
        let json = r#"{
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "prod"},
            "spec": {"containers": [
                {"name": "web", "image": "nginx", "resources": {"limits": {"cpu": 0.5}}}
            ]}
        }"#;
        let objects = parse_ok(json);
        let pod = objects[0].object.as_pod().expect("a pod");
        assert_eq!(pod.key(), "prod/web");
        assert_eq!(pod.cpu_request_millis(), 500);
    }

    #[test]
    fn lists_expand_to_their_items() {
        let list = format!(
            "apiVersion: v1\nkind: List\nitems:\n- {}\n- {}\n",
            serde_json::to_string(&parse_ok(&pod_with(""))[0].object).unwrap_or_default(),
            r#"{"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1", "namespace": "x"}}"#,
        );
        let objects = parse_ok(&list);
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[1].object.describe(), "Node n1");
        assert_eq!(objects[1].warnings.len(), 1);
        let typed = "kind: PodList\napiVersion: v1\nitems:\n- metadata: {name: a}\n  \
                     spec: {containers: [{name: a, image: x}]}\n";
        assert_eq!(parse_ok(typed)[0].object.describe(), "Pod default/a");
        let e = parse_err(&list.replace("\"image\":\"nginx\"", "\"image\":\"\""));
        assert_eq!(
            (e.item, e.object.as_deref()),
            (Some(0), Some("Pod \"web\""))
        );
        assert!(e
            .to_string()
            .starts_with("error: test.yaml (document 1, items[0]): Pod \"web\""));
    }

    #[test]
    fn harmless_and_default_fields_stay_quiet() {
        let quiet =
            pod_with("terminationMessagePolicy: File\nvolumeMounts: []\nsecurityContext: {}")
                + "  hostNetwork: false\n  dnsPolicy: ClusterFirst\nstatus:\n  podIP: 10.0.0.1\n";
        assert_eq!(parse_ok(&quiet)[0].warnings, Vec::<String>::new());
        let loud = pod_with("securityContext: {runAsUser: 1000}") + "  dnsPolicy: None\n";
        assert_eq!(parse_ok(&loud)[0].warnings.len(), 2);
    }
}
