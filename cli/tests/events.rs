//! End to end with `bosun up` and the real Docker engine: what happens to pods and
//! Deployments is recorded as Events, listed by `bosun get events` and shown at the end of
//! `bosun describe`: scheduling (done and failed), container creates and starts, a crash and
//! its back-off, a failed image pull, and a Deployment's rollout steps.
use std::path::Path;
use std::time::Duration;

use bosun_tests::{busybox_image, TestCluster};

/// Long enough for the first crash and its back-off, and a failed pull.
const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn manifests(image: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: c
    image: {image}
    command: ["/bin/busybox", "sh", "-c", "exit 3"]
---
apiVersion: v1
kind: Pod
metadata:
  name: unplaceable
spec:
  nodeSelector:
    disk: none-such
  containers:
  - name: c
    image: {image}
---
apiVersion: v1
kind: Pod
metadata:
  name: no-image
spec:
  containers:
  - name: c
    image: bosun.invalid/no-such-image:1
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      containers:
      - name: c
        image: {image}
        command: ["/bin/busybox", "sleep", "3600"]
"#
    )
}

#[test]
fn pods_and_rollouts_leave_events_in_get_and_describe() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let file = c.write_file("events.yaml", &manifests(&image))?;
    c.bosun_ok(&["apply", "-f", &file]);

    let node = c.node_name().to_string();
    let has = |text: &str, needles: &[&str]| needles.iter().all(|n| text.contains(n));
    let crasher = c.wait_for_output(
        &["describe", "pod", "crasher"],
        "the crash and its back-off in describe",
        DEADLINE,
        |o| has(o, &["Events:", "Scheduled", "Started", "BackOff"]),
    )?;
    let events = crasher.split("Events:").nth(1).unwrap_or_default();
    assert!(
        events.contains("Type") && events.contains("Reason") && events.contains("From"),
        "{crasher}"
    );
    assert!(
        events.contains(&format!("Successfully assigned default/crasher to {node}")),
        "{crasher}"
    );
    assert!(events.contains("(exit code 3)"), "{crasher}");
    assert!(
        events.contains(&format!("bosun-agent, {node}")),
        "{crasher}"
    );
    assert!(
        !events.contains("unplaceable"),
        "only the pod's own events: {crasher}"
    );

    c.wait_for_output(
        &["describe", "pod", "unplaceable"],
        "FailedScheduling in describe",
        DEADLINE,
        |o| {
            has(
                o,
                &["FailedScheduling", "Warning", "1 node selector mismatch"],
            )
        },
    )?;
    c.wait_for_output(
        &["describe", "pod", "no-image"],
        "the failed pull in describe",
        DEADLINE,
        |o| has(o, &["Pulling", "Failed to pull image"]),
    )?;
    c.wait_for_output(
        &["describe", "deployment", "web"],
        "the rollout step in describe",
        DEADLINE,
        |o| has(o, &["ScalingReplicaSet", "Scaled up replica set web-"]),
    )?;

    // `get events`: kubectl's columns, one line per event, the object named kind/name.
    let list = c.bosun_ok(&["get", "events"]);
    let header = list.lines().next().unwrap_or_default();
    for col in ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"] {
        assert!(header.contains(col), "{list}");
    }
    for line in [
        "pod/crasher",
        "pod/unplaceable",
        "deployment/web",
        "replicaset/web-",
    ] {
        assert!(list.contains(line), "{line} missing:\n{list}");
    }
    let json = c.bosun_ok(&["get", "events", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json)?;
    let items = v["items"].as_array().cloned().unwrap_or_default();
    let backoff = items
        .iter()
        .find(|e| e["reason"] == "BackOff")
        .expect("a BackOff event");
    assert_eq!(backoff["type"], "Warning");
    assert_eq!(backoff["involvedObject"]["name"], "crasher");
    assert_eq!(backoff["involvedObject"]["fieldPath"], "spec.containers{c}");
    assert!(backoff["count"].as_i64().unwrap_or(0) >= 1);
    // describe of a kind that is not a pod ends with its Events section too.
    let quiet = c.bosun_ok(&["describe", "node", &node]);
    assert!(quiet.contains("Events:"), "{quiet}");
    Ok(())
}
