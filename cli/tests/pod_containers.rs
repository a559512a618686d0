//! End to end with `bosun up` and the real Docker engine: pods of several containers and init
//! containers.
//! - Two containers of one pod reach each other on `localhost`, share the pod's hostname, and
//!   the pod's port is published once for the pod; an HTTP readiness probe reaches the pod. When the pod's sandbox dies, the pod gets
//!   a new one and its containers restart in it. Deleting the pod removes every container.
//! - An Indexed Job's init container writes its task into an `emptyDir` the main container
//!   reads.
//! - A failing init container is retried under `restartPolicy: Always` and shown as
//!   `Init:...` meanwhile; under `Never` the pod fails and its containers never start.
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use bosun_tests::docker::docker_kill;
use bosun_tests::{busybox_image, http_get, wait_for_blocking, TestCluster, INDEX_HTML};
use serde_json::Value;

/// Covers a 10 s restart back-off and a sandbox re-created after its own.
const DEADLINE: Duration = Duration::from_secs(90);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn pod_json(c: &TestCluster, name: &str) -> anyhow::Result<Value> {
    let out = c.try_bosun_ok(&["get", "pod", name, "-o", "json"])?;
    serde_json::from_str(&out).context("-o json")
}

/// The engine's containers of pod `pod`, as (container label, running, id).
fn engine_containers(c: &TestCluster, pod: &str) -> anyhow::Result<Vec<(String, bool, String)>> {
    Ok(c.containers()?
        .into_iter()
        .filter(|k| k.label("bosun.pod.name") == Some(pod))
        .map(|k| {
            let name = k.label("bosun.container").unwrap_or_default().to_string();
            (name, k.is_running(), k.id.clone())
        })
        .collect())
}

#[test]
fn containers_of_a_pod_share_localhost_and_its_ports() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let manifest = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: duo
spec:
  containers:
  - name: web
    image: {image}
    command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
    ports: [{{containerPort: 8080, hostPort: 0}}]
    # Probed at the pod's address, which is its sandbox's.
    readinessProbe: {{httpGet: {{path: /index.html, port: 8080}}, periodSeconds: 1}}
  - name: client
    image: {image}
    # Fetches from its neighbour on localhost, once per start, then stays.
    command: ["/bin/busybox", "sh", "-c",
      "until wget -qO- http://localhost:8080/index.html; do sleep 0.2; done; exec sleep 3600"]
"#
    );
    let file = c.write_file("duo.yaml", &manifest)?;
    c.bosun_ok(&["apply", "-f", &file]);
    c.wait_for_output(
        &["get", "pod", "duo", "--no-headers"],
        "both containers ready",
        DEADLINE,
        |o| o.split_whitespace().nth(1) == Some("2/2"),
    )?;
    c.wait_for_output(
        &["logs", "duo", "-c", "client"],
        "the client's fetch from localhost",
        DEADLINE,
        |o| o.contains(INDEX_HTML.trim()),
    )?;
    let hostname = c.bosun_ok(&["exec", "duo", "-c", "client", "--", "hostname"]);
    assert_eq!(hostname.trim(), "duo");

    // The port belongs to the pod: published once, by its sandbox, reachable from the node.
    let pod = pod_json(&c, "duo")?;
    let status = &pod["status"];
    assert!(
        status["podIP"].as_str().is_some_and(|ip| !ip.is_empty()),
        "{status}"
    );
    let host_port = status["containerStatuses"][0]["publishedPorts"][0]["hostPort"]
        .as_u64()
        .with_context(|| format!("web's published port: {status}"))?;
    assert!(
        status["containerStatuses"][1]["publishedPorts"].is_null(),
        "{status}"
    );
    let addr = format!("127.0.0.1:{host_port}");
    let (code, body) = wait_for_blocking("the pod's published port", DEADLINE, || {
        Ok(http_get(&addr, "/index.html", Duration::from_secs(5)).ok())
    })?;
    assert_eq!((code, body.as_str()), (200, INDEX_HTML));
    let engine = engine_containers(&c, "duo")?;
    let names: Vec<&str> = engine.iter().map(|(n, ..)| n.as_str()).collect();
    assert_eq!(names.len(), 3, "two containers and the sandbox: {engine:?}");
    assert!(names.contains(&"POD"), "{engine:?}");

    // The sandbox dies: the pod gets a new one, and both containers restart in it.
    let sandbox = engine
        .iter()
        .find(|(n, ..)| n == "POD")
        .map(|(.., id)| id.clone());
    docker_kill(&sandbox.context("the sandbox")?)?;
    c.wait_for_output(
        &[
            "get",
            "pod",
            "duo",
            "-o",
            "jsonpath={.status.containerStatuses[*].restartCount}",
        ],
        "both containers restarted",
        DEADLINE,
        |o| o.split_whitespace().all(|n| n != "0") && o.split_whitespace().count() == 2,
    )?;
    c.wait_for_output(
        &["get", "pod", "duo", "--no-headers"],
        "both containers ready again",
        DEADLINE,
        |o| o.split_whitespace().nth(1) == Some("2/2"),
    )?;
    // `logs` shows the current attempt: the restarted client fetched again.
    c.wait_for_output(
        &["logs", "duo", "-c", "client"],
        "the restarted client's fetch",
        DEADLINE,
        |o| o.trim_end().ends_with(INDEX_HTML.trim()),
    )?;

    c.bosun_ok(&["delete", "pod", "duo"]);
    wait_for_blocking("every container of the pod removed", DEADLINE, || {
        Ok(engine_containers(&c, "duo")?.is_empty().then_some(()))
    })?;
    Ok(())
}

#[test]
fn an_indexed_jobs_init_container_prepares_the_work() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let manifest = format!(
        r#"apiVersion: batch/v1
kind: Job
metadata:
  name: render
spec:
  completions: 2
  parallelism: 2
  completionMode: Indexed
  template:
    spec:
      restartPolicy: Never
      initContainers:
      - name: prepare
        image: {image}
        command: ["/bin/busybox", "sh", "-c", "echo task $JOB_COMPLETION_INDEX > /work/task"]
        volumeMounts: [{{name: work, mountPath: /work}}]
      containers:
      - name: main
        image: {image}
        command: ["/bin/busybox", "cat", "/work/task"]
        volumeMounts: [{{name: work, mountPath: /work}}]
      volumes:
      - name: work
        emptyDir: {{}}
"#
    );
    let file = c.write_file("render.yaml", &manifest)?;
    c.bosun_ok(&["apply", "-f", &file]);
    c.wait_for_output(
        &["get", "job", "render", "-o", "jsonpath={.status.succeeded}"],
        "both indexes to succeed",
        DEADLINE,
        |o| o == "2",
    )?;
    let out = c.try_bosun_ok(&["get", "pods", "-l", "job-name=render", "-o", "json"])?;
    let pods: Value = serde_json::from_str(&out)?;
    let pods = pods["items"].as_array().context("items")?;
    assert_eq!(pods.len(), 2, "{pods:?}");
    for pod in pods {
        let name = pod["metadata"]["name"].as_str().context("name")?;
        let index = pod["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            .as_str()
            .context("index")?;
        let logs = c.bosun_ok(&["logs", name, "-c", "main"]);
        assert_eq!(logs.trim(), format!("task {index}"), "{name}");
        let init = &pod["status"]["initContainerStatuses"][0];
        assert_eq!(init["state"]["terminated"]["reason"], "Completed", "{init}");
        assert_eq!(pod["status"]["phase"], "Succeeded");
    }
    let table = c.bosun_ok(&["get", "pods", "-l", "job-name=render", "--no-headers"]);
    assert_eq!(table.matches("Completed").count(), 2, "{table}");
    Ok(())
}

#[test]
fn a_failing_init_container_is_retried_by_the_restart_policy() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let pod = |name: &str, policy: &str, script: &str| {
        format!(
            r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  restartPolicy: {policy}
  initContainers:
  - name: setup
    image: {image}
    command: ["/bin/busybox", "sh", "-c", "{script}"]
    volumeMounts: [{{name: state, mountPath: /state}}]
  containers:
  - name: main
    image: {image}
    command: ["/bin/busybox", "sleep", "3600"]
  volumes:
  - name: state
    emptyDir: {{}}
"#
        )
    };
    // Fails its first run, succeeds its second (the emptyDir outlives the attempt).
    let once = "test -f /state/tried && exit 0; touch /state/tried; exit 1";
    let file = c.write_file("flaky.yaml", &pod("flaky", "Always", once))?;
    c.bosun_ok(&["apply", "-f", &file]);
    let file = c.write_file("broken.yaml", &pod("broken", "Never", "exit 3"))?;
    c.bosun_ok(&["apply", "-f", &file]);

    c.wait_for_output(
        &["get", "pod", "flaky", "--no-headers"],
        "the failed init container shown while it waits to run again",
        DEADLINE,
        |o| o.contains("Init:Error") || o.contains("Init:CrashLoopBackOff"),
    )?;
    c.wait_for_output(
        &["get", "pod", "flaky", "-o", "jsonpath={.status.phase}"],
        "the pod to run after its init container's second try",
        DEADLINE,
        |o| o == "Running",
    )?;
    let status = &pod_json(&c, "flaky")?["status"];
    assert_eq!(
        status["initContainerStatuses"][0]["restartCount"], 1,
        "{status}"
    );
    let initialized = status["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Initialized"))
        .map(|c| c["status"].clone());
    assert_eq!(initialized, Some("True".into()), "{status}");

    c.wait_for_output(
        &["get", "pod", "broken", "-o", "jsonpath={.status.phase}"],
        "the pod to fail with its init container",
        DEADLINE,
        |o| o == "Failed",
    )?;
    let table = c.bosun_ok(&["get", "pod", "broken", "--no-headers"]);
    assert!(table.contains("Init:Error"), "{table}");
    let described = c.bosun_ok(&["describe", "pod", "broken"]);
    assert!(described.contains("Init Containers:"), "{described}");
    assert!(described.contains("Exit Code:    3"), "{described}");
    let engine = engine_containers(&c, "broken")?;
    assert!(
        !engine.iter().any(|(n, ..)| n == "main"),
        "the main container never starts: {engine:?}"
    );
    assert!(!engine.iter().any(|(_, running, _)| *running), "{engine:?}");
    Ok(())
}
