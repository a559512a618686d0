//! End to end with `bosun up` and the real Docker engine: a Deployment whose container has an
//! `httpGet` readiness probe (busybox httpd, reached at the pod's IP) and an `exec` liveness
//! probe. Readiness moves the pod's `Ready` condition and the Deployment's ready count; a
//! failing liveness probe restarts the container.
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bosun_tests::docker::docker;
use bosun_tests::{busybox_image, wait_for_blocking, ContainerInfo, TestCluster};
use serde_json::Value;

/// Long enough for the kill, the 10 s restart back-off and a new attempt.
const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

/// One replica of busybox httpd serving `/www`. It is ready once `/www/healthz` exists (the
/// image does not have it) and alive while `/tmp/alive` exists (each attempt creates it).
fn probed_deployment(image: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: probed
spec:
  replicas: 1
  selector:
    matchLabels: {{app: probed}}
  template:
    metadata:
      labels: {{app: probed}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: {image}
        command: ["/bin/busybox", "sh", "-c", "touch /tmp/alive && exec /bin/busybox httpd -f -p 8080 -h /www"]
        ports:
        - name: http
          containerPort: 8080
        readinessProbe:
          httpGet: {{path: /healthz, port: http}}
          periodSeconds: 1
          failureThreshold: 1
        livenessProbe:
          exec:
            command: ["cat", "/tmp/alive"]
          periodSeconds: 1
          failureThreshold: 2
"#
    )
}

/// The Deployment's only pod, as JSON.
fn the_pod(c: &TestCluster) -> anyhow::Result<Option<Value>> {
    let out = c.try_bosun_ok(&["get", "pods", "-l", "app=probed", "-o", "json"])?;
    let v: Value = serde_json::from_str(&out).context("get pods -o json")?;
    let mut items = v["items"].as_array().cloned().unwrap_or_default();
    Ok((items.len() == 1).then(|| items.remove(0)))
}

/// The status (`True`/`False`) of the pod's condition `type_`.
fn condition<'a>(pod: &'a Value, type_: &str) -> Option<&'a str> {
    pod["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)?["status"]
        .as_str()
}

fn ready_replicas(c: &TestCluster) -> anyhow::Result<i64> {
    let out = c.try_bosun_ok(&["get", "deployment", "probed", "-o", "json"])?;
    let v: Value = serde_json::from_str(&out).context("get deployment -o json")?;
    Ok(v["status"]["readyReplicas"].as_i64().unwrap_or(0))
}

fn running_container(c: &TestCluster) -> anyhow::Result<Option<ContainerInfo>> {
    let mut running: Vec<ContainerInfo> = c
        .containers()?
        .into_iter()
        .filter(ContainerInfo::is_running)
        .collect();
    Ok((running.len() == 1).then(|| running.remove(0)))
}

#[test]
fn readiness_gates_ready_and_a_failing_liveness_probe_restarts() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let manifest = c.write_file("probed.yaml", &probed_deployment(&image))?;
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &manifest]).trim(),
        "deployment.apps/probed created"
    );

    // Running, but /healthz answers 404: not ready, and the Deployment counts no ready replica.
    let first = wait_for_blocking("the container running", DEADLINE, || running_container(&c))?;
    let pod = wait_for_blocking("the pod Running and not Ready", DEADLINE, || {
        Ok(the_pod(&c)?.filter(|p| {
            p["status"]["phase"] == "Running"
                && p["status"]["containerStatuses"][0]["started"] == true
                && condition(p, "Ready") == Some("False")
        }))
    })?;
    assert_eq!(pod["status"]["containerStatuses"][0]["ready"], false);
    assert_eq!(condition(&pod, "ContainersReady"), Some("False"));
    assert_eq!(ready_replicas(&c)?, 0);
    let get = c.bosun_ok(&["get", "deployment", "probed"]);
    assert!(get.contains("0/1"), "{get}");
    // ...and says why, as an event of the pod.
    c.wait_for_output(
        &["get", "events"],
        "an Unhealthy event of the readiness probe",
        DEADLINE,
        |o| {
            o.lines()
                .any(|l| l.contains("Unhealthy") && l.contains("Readiness probe failed: "))
        },
    )?;

    // The page appears: the readiness probe passes.
    docker(&["exec", &first.id, "sh", "-c", "echo ok > /www/healthz"])?;
    wait_for_blocking("the pod Ready", DEADLINE, || {
        Ok(the_pod(&c)?.filter(|p| {
            condition(p, "Ready") == Some("True")
                && condition(p, "ContainersReady") == Some("True")
                && p["status"]["containerStatuses"][0]["ready"] == true
        }))
    })?;
    c.wait_for_output(
        &["get", "deployment", "probed"],
        "1/1 ready",
        DEADLINE,
        |o| o.contains("1/1"),
    )?;
    assert_eq!(ready_replicas(&c)?, 1);

    // The liveness file goes: after two failures the container is killed and restarted.
    docker(&["exec", &first.id, "rm", "/tmp/alive"])?;
    let pod = wait_for_blocking("restart count 1", DEADLINE, || {
        Ok(the_pod(&c)?.filter(|p| p["status"]["containerStatuses"][0]["restartCount"] == 1))
    })?;
    let status = &pod["status"]["containerStatuses"][0];
    let last = &status["lastState"]["terminated"];
    assert_eq!(last["reason"], "Error", "{pod:#}");
    assert!(
        matches!(last["exitCode"].as_i64(), Some(137 | 143)),
        "killed: {pod:#}"
    );
    let message = last["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("Liveness probe failed: ") && message.contains("/tmp/alive"),
        "{pod:#}"
    );
    let second = wait_for_blocking("the new attempt running", DEADLINE, || {
        Ok(running_container(&c)?.filter(|r| r.id != first.id))
    })?;
    assert_eq!(second.label("bosun.attempt"), Some("1"));
    // A fresh container has no /www/healthz: not ready again.
    wait_for_blocking("the new attempt not Ready", DEADLINE, || {
        Ok(the_pod(&c)?.filter(|p| {
            p["status"]["containerStatuses"][0]["restartCount"] == 1
                && p["status"]["containerStatuses"][0]["state"]["running"].is_object()
                && condition(p, "Ready") == Some("False")
        }))
    })?;
    Ok(())
}
