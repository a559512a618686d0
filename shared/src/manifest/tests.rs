//! Tests of [`super`]: the `manifest` module.
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
    let objects = parse_ok(include_str!("../../tests/fixtures/nginx-deployment.yaml"));
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
        "../../tests/fixtures/kubectl-get-deployment.yaml"
    ));
    assert_eq!(objects[0].warnings, Vec::<String>::new());
    let Object::Deployment(d) = &objects[0].object else {
        panic!("a Deployment");
    };
    assert_eq!(
        d.spec.strategy.bounds(4),
        (1, 1),
        "25% of 4, rounded up and down"
    );
    assert_eq!(d.spec.progress_deadline_seconds, Some(600));
}

#[test]
fn unknown_fields_are_warnings_with_their_path() {
    let objects = parse_ok(&pod_with("securityContext: {privileged: false}"));
    assert_eq!(
        objects[0].warnings,
        vec![
            "unknown field spec.containers[0].securityContext (not implemented by Bosun, ignored)"
        ]
    );
}

#[test]
fn probes_are_read_with_kubernetes_defaults() {
    let objects = parse_ok(&pod_with(
        "ports: [{name: http, containerPort: 8080}]\n\
         livenessProbe:\n  httpGet: {port: http}\n\
         readinessProbe:\n  tcpSocket: {port: 8080}\n  periodSeconds: 2\n\
         startupProbe:\n  exec: {command: [cat, /ready]}\n  failureThreshold: 30",
    ));
    assert_eq!(objects[0].warnings, Vec::<String>::new());
    let Object::Pod(pod) = &objects[0].object else {
        panic!("not a pod: {:?}", objects[0].object)
    };
    let c = &pod.spec.containers[0];
    let live = c.liveness_probe.as_ref().unwrap();
    let get = live.http_get.as_ref().unwrap();
    assert_eq!(
        (get.path.as_str(), get.scheme.as_str(), &get.port),
        ("/", "HTTP", &crate::probe::ProbePort::Name("http".into()))
    );
    assert_eq!(
        (
            live.initial_delay_seconds,
            live.period_seconds,
            live.timeout_seconds,
            live.success_threshold,
            live.failure_threshold
        ),
        (0, 10, 1, 1, 3)
    );
    assert_eq!(c.readiness_probe.as_ref().unwrap().period_seconds, 2);
    assert_eq!(c.startup_probe.as_ref().unwrap().failure_threshold, 30);
}

#[test]
fn grpc_probes_are_refused() {
    let err = parse_err(&pod_with("livenessProbe:\n  grpc: {port: 9000}"));
    assert!(
        err.errors.iter().any(|e| e
            == "spec.containers[0].livenessProbe.grpc: Unsupported value: Bosun does not \
                implement this yet"),
        "{err}"
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
            "spec.containers[0].volumeMounts[0].name: Not found: \"data\"".into(),
        ),
        (
            pod_with("env:\n- name: A\n  valueFrom: {secretKeyRef: {name: s}}"),
            "spec.containers[0].env[0].valueFrom.secretKeyRef.key: Required value".into(),
        ),
        (
            pod_with("") + "  volumes:\n  - name: data\n    nfs: {server: x, path: /}\n",
            "spec.volumes[0]: must specify a volume type".into(),
        ),
        (
            pod_with("") + "  initContainers:\n  - name: i\n    image: x\n    restartPolicy: Always\n",
            format!("spec.initContainers[0].restartPolicy: {REFUSED}"),
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
                "supported values: \"Pod\", \"Deployment\", \"ReplicaSet\", \"DaemonSet\", \"Job\", \"CronJob\", \"Event\", \"Node\""
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
    let nginx = include_str!("../../tests/fixtures/nginx-deployment.yaml");
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
        &pod_with("volumeMounts: [{name: d, mountPath: /d}]\nresources: {limits: {memory: 1Mi}}")
            .replace("name: web\nspec", "name: Web\nspec"),
    );
    assert_eq!(e.errors.len(), 3, "{e}");
    assert!(e
        .to_string()
        .starts_with("error: test.yaml (document 1): Pod \"Web\" is invalid:\n* "));
}

#[test]
fn documents_are_split_and_empty_ones_skipped() {
    let objects = parse_ok(include_str!("../../tests/fixtures/multi-document.yaml"));
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
    let quiet = pod_with("terminationMessagePolicy: File\nvolumeMounts: []\nsecurityContext: {}")
        + "  hostNetwork: false\n  dnsPolicy: ClusterFirst\nstatus:\n  podIP: 10.0.0.1\n";
    assert_eq!(parse_ok(&quiet)[0].warnings, Vec::<String>::new());
    let loud = pod_with("securityContext: {runAsUser: 1000}") + "  dnsPolicy: None\n";
    assert_eq!(parse_ok(&loud)[0].warnings.len(), 2);
}

#[test]
fn modes_are_octal_as_kubernetes_reads_yaml() {
    let text = pod_with("volumeMounts: [{name: s, mountPath: /s}]")
        + "  volumes:\n  - name: s\n    secret: {secretName: x, defaultMode: 0400}\n";
    let parsed = parse_ok(&text);
    let crate::Object::Pod(p) = &parsed[0].object else {
        panic!("not a pod")
    };
    let mode = p.spec.volumes[0].secret.as_ref().unwrap().default_mode;
    assert_eq!(mode, Some(0o400));
}
