//! Golden tests: every kind rendered in every format (`get` table, `-o wide`, `-o json`,
//! `-o yaml`, `-o name`, `-o jsonpath=`, `describe`) compared with the files in
//! `cli/tests/golden/`, so any change to what users read shows in review as a diff of those
//! files. `BOSUN_UPDATE_GOLDEN=1 cargo test -p bosun-cli golden` rewrites them.
use std::path::PathBuf;

use bosun_shared::{Kind, Object};
use serde_json::json;

use super::fixtures::{ago, deployment, node, now, running_pod};
use super::{describe, render, Format};

fn object(v: serde_json::Value) -> Object {
    Object::from_value(v).expect("fixture decodes")
}

fn meta(name: &str, ns: &str, age: u64) -> serde_json::Value {
    json!({"name": name, "namespace": ns, "uid": format!("uid-{name}"),
           "resourceVersion": "7", "creationTimestamp": ago(age)})
}

/// One or two objects of each kind, as a cluster would hold them.
fn fixtures() -> Vec<(Kind, Vec<Object>)> {
    let template = json!({"metadata": {"labels": {"app": "batch"}},
        "spec": {"restartPolicy": "Never",
                 "containers": [{"name": "work", "image": "busybox:1.36", "command": ["sh", "-c", "echo hi"]}]}});
    vec![
        (
            Kind::Pod,
            vec![
                running_pod("web-1", "n1").into(),
                running_pod("web-2", "n2").into(),
            ],
        ),
        (Kind::Deployment, vec![deployment("web", 2).into()]),
        (Kind::Node, vec![node("n1").into()]),
        (
            Kind::ReplicaSet,
            vec![object(
                json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": meta("web-5d8f", "default", 3600),
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25"}]}}},
            "status": {"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}}),
            )],
        ),
        (
            Kind::DaemonSet,
            vec![object(json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": meta("agent", "kube-system", 7200),
            "spec": {"selector": {"matchLabels": {"app": "agent"}},
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"nodeSelector": {"disk": "ssd"},
                                           "containers": [{"name": "a", "image": "busybox:1.36"}]}}},
            "status": {"desiredNumberScheduled": 3, "currentNumberScheduled": 3, "numberReady": 2,
                       "updatedNumberScheduled": 3, "numberAvailable": 2}}))],
        ),
        (
            Kind::Job,
            vec![object(json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": meta("report", "default", 900),
            "spec": {"completions": 3, "template": template},
            "status": {"startTime": ago(900), "succeeded": 1, "active": 2}}))],
        ),
        (
            Kind::CronJob,
            vec![object(json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": meta("nightly", "default", 3 * 86400),
            "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": template}}},
            "status": {"lastScheduleTime": ago(5 * 3600)}}))],
        ),
        (
            Kind::Event,
            vec![object(json!({"apiVersion": "v1", "kind": "Event",
            "metadata": meta("web-1.1", "default", 60),
            "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-1",
                               "fieldPath": "spec.containers{app}"},
            "reason": "Started", "message": "Started container app", "type": "Normal",
            "source": {"component": "bosun-agent", "host": "n1"},
            "firstTimestamp": ago(60), "lastTimestamp": ago(60), "count": 1}))],
        ),
        (
            Kind::Secret,
            vec![object(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": meta("db", "default", 600), "type": "Opaque",
            "data": {"password": "aHVudGVyMg==", "user": "YWRtaW4="}}))],
        ),
        (
            Kind::Namespace,
            vec![object(json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": "team-a", "uid": "uid-team-a", "resourceVersion": "7",
                         "creationTimestamp": ago(200)},
            "status": {"phase": "Active"}}))],
        ),
    ]
}

fn render_all(kind: Kind, objects: &[Object]) -> String {
    let mut out = String::new();
    let jsonpath: Format = "jsonpath={range .items[*]}{.metadata.name}{\"\\t\"}{.metadata.creationTimestamp}{\"\\n\"}{end}"
        .parse()
        .expect("template");
    for (title, format, all) in [
        ("get", Format::Table, false),
        ("get -A", Format::Table, true),
        ("get -o wide", Format::Wide, false),
        ("get -o name", Format::Name, false),
        ("get -o jsonpath=...", jsonpath, false),
        ("get -o yaml", Format::Yaml, false),
        ("get NAME -o json", Format::Json, false),
    ] {
        let single = title.contains("NAME");
        let shown = if single { &objects[..1] } else { objects };
        out.push_str(&format!("=== {title}\n"));
        out.push_str(&render(kind, shown, &format, single, all, now()));
    }
    out.push_str("=== describe\n");
    out.push_str(&describe(&objects[0], &[], &[], now()));
    out
}

#[test]
fn golden_outputs_match() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let update = std::env::var_os("BOSUN_UPDATE_GOLDEN").is_some();
    let mut stale = Vec::new();
    for (kind, objects) in fixtures() {
        let text = render_all(kind, &objects);
        let path = dir.join(format!("{}.txt", kind.plural()));
        if update {
            std::fs::create_dir_all(&dir).expect("golden dir");
            std::fs::write(&path, &text).expect("golden file");
        } else if std::fs::read_to_string(&path).unwrap_or_default() != text {
            stale.push(format!(
                "{}\n--- expected (file)\n{}\n--- got\n{text}",
                path.display(),
                std::fs::read_to_string(&path).unwrap_or_default()
            ));
        }
    }
    assert!(
        stale.is_empty(),
        "output changed; review and run BOSUN_UPDATE_GOLDEN=1 cargo test -p bosun-cli golden:\n{}",
        stale.join("\n")
    );
}
