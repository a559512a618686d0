//! End to end on the real binary and the real Docker engine: a Deployment's whole life, with
//! the faults a home lab sees (a container killed by hand, an agent restart, a master outage).
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_tests::docker::docker_kill;
use bosun_tests::{
    busybox_image, http_get, wait_for_blocking, ContainerInfo, TestCluster, INDEX_HTML,
};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn web_deployment(image: &str, replicas: u32) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: web}}
  template:
    metadata:
      labels: {{app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: {image}
        command: ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
        ports:
        - containerPort: 8080
          hostPort: 0
        resources:
          requests: {{cpu: 10m, memory: 16Mi}}
          limits: {{memory: 64Mi}}
"#
    )
}

fn running(c: &TestCluster) -> anyhow::Result<Vec<ContainerInfo>> {
    Ok(c.containers()?
        .into_iter()
        .filter(|c| c.is_running())
        .collect())
}

fn ids(list: &[ContainerInfo]) -> BTreeSet<String> {
    list.iter().map(|c| c.id.clone()).collect()
}

fn pods_json(c: &TestCluster) -> anyhow::Result<Vec<Value>> {
    let out = c.try_bosun_ok(&["get", "pods", "-l", "app=web", "-o", "json"])?;
    let v: Value = serde_json::from_str(&out).context("get pods -o json")?;
    Ok(v["items"].as_array().cloned().unwrap_or_default())
}

/// Polls for `window` and fails if the running containers ever differ from `expected`.
fn stays_the_same(
    c: &TestCluster,
    expected: &BTreeSet<String>,
    window: Duration,
) -> anyhow::Result<()> {
    let end = Instant::now() + window;
    while Instant::now() < end {
        let now = ids(&running(c)?);
        anyhow::ensure!(
            &now == expected,
            "containers changed: expected {expected:?}, found {now:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok(())
}

#[test]
fn deployment_lives_through_scaling_crashes_agent_restarts_and_master_outages() -> anyhow::Result<()>
{
    let image = busybox_image()?;
    let mut c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;

    // Apply 3 replicas: 3 running containers carrying Bosun's labels.
    let manifest = c.write_file("web.yaml", &web_deployment(&image, 3))?;
    let out = c.bosun_ok(&["apply", "-f", &manifest]);
    assert_eq!(out.trim(), "deployment.apps/web created");
    let three = wait_for_blocking("3 running containers", DEADLINE, || {
        let r = running(&c)?;
        Ok((r.len() == 3).then_some(r))
    })?;
    for ct in &three {
        assert_eq!(ct.label("bosun.managed"), Some("true"));
        assert_eq!(ct.label("bosun.node"), Some(c.node_name()));
        assert_eq!(ct.label("bosun.pod.namespace"), Some("default"));
        assert!(ct
            .label("bosun.pod.name")
            .is_some_and(|n| n.starts_with("web-")));
    }
    // Each replica answers HTTP on the host port the engine published for it.
    let ports = wait_for_blocking("3 published ports in pod status", DEADLINE, || {
        let ports: Vec<u64> = pods_json(&c)?
            .iter()
            .filter_map(|p| {
                p["status"]["containerStatuses"][0]["publishedPorts"][0]["hostPort"].as_u64()
            })
            .collect();
        Ok((ports.len() == 3).then_some(ports))
    })?;
    for port in ports {
        let (status, body) = http_get(&format!("127.0.0.1:{port}"), "/", Duration::from_secs(5))?;
        assert_eq!(status, 200);
        assert_eq!(body, INDEX_HTML);
    }
    c.wait_for_output(&["get", "deploy", "web"], "3/3 ready", DEADLINE, |o| {
        o.contains("3/3")
    })?;

    // Scale to 1: two containers are removed.
    c.bosun_ok(&["scale", "deployment/web", "--replicas", "1"]);
    let one = wait_for_blocking("exactly 1 container left", DEADLINE, || {
        let all = c.containers()?;
        Ok((all.len() == 1 && all[0].is_running()).then(|| all[0].clone()))
    })?;
    assert!(
        ids(&three).contains(&one.id),
        "a surviving replica, not a new one"
    );

    // Kill it by hand: it is restarted, restart count 1.
    docker_kill(&one.id)?;
    let restarted = wait_for_blocking("the killed container to be replaced", DEADLINE, || {
        let r = running(&c)?;
        Ok((r.len() == 1 && r[0].id != one.id).then(|| r[0].clone()))
    })?;
    wait_for_blocking("restart count 1", DEADLINE, || {
        let pods = pods_json(&c)?;
        Ok(
            (pods.len() == 1 && pods[0]["status"]["containerStatuses"][0]["restartCount"] == 1)
                .then_some(()),
        )
    })?;
    let get = c.bosun_ok(&["get", "pods", "-l", "app=web"]);
    assert!(get.contains("Running"), "{get}");

    // Restart the agent: it adopts the container, no duplicate.
    let before = ids(std::slice::from_ref(&restarted));
    c.restart_agent()?;
    c.agent_process()
        .context("agent running")?
        .wait_output_contains("connected to master", DEADLINE)?;
    stays_the_same(&c, &before, Duration::from_secs(4))?;

    // Stop the master for 10 s: the container keeps running, same id.
    c.kill_master()?;
    stays_the_same(&c, &before, Duration::from_secs(10))?;
    c.start_master()?;
    c.wait_node_ready(DEADLINE)?;
    c.wait_for_output(
        &["get", "deploy", "web"],
        "1/1 ready after the outage",
        DEADLINE,
        |o| o.contains("1/1"),
    )?;
    assert_eq!(
        ids(&running(&c)?),
        before,
        "same container after the master came back"
    );

    // Delete the Deployment: no container left.
    let out = c.bosun_ok(&["delete", "deployment", "web"]);
    assert_eq!(out.trim(), "deployment.apps \"web\" deleted");
    wait_for_blocking("every container removed", DEADLINE, || {
        Ok(c.containers()?.is_empty().then_some(()))
    })?;
    // The pod goes once its node reports its containers gone (its next pass, then at once).
    wait_for_blocking("the pod removed", DEADLINE, || {
        let out = c.bosun(&["get", "pods"]);
        Ok(out.stderr.contains("No resources found").then_some(()))
    })?;
    Ok(())
}
