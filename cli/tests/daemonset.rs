//! End to end with a master, an agent and a second agent sharing the real Docker engine (two
//! nodes): a DaemonSet runs one pod per node, a node that joins gets one, a `nodeSelector`
//! keeps it to matching nodes, a drained (cordoned) node keeps its daemon pod, a deleted node
//! loses it, and a changed template replaces the pods one node at a time.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_tests::agent::ExtraAgent;
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn daemonset(image: &str, name: &str, version: &str, node_selector: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      {node_selector}
      terminationGracePeriodSeconds: 1
      containers:
      - name: agent
        image: {image}
        env:
        - {{name: VERSION, value: "{version}"}}
        command: ["/bin/busybox", "sleep", "3600"]
"#
    )
}

/// (node, version, ready) of every pod of DaemonSet `name`.
fn pods(c: &TestCluster, name: &str) -> anyhow::Result<Vec<(String, String, bool)>> {
    let sel = format!("app={name}");
    let out = c.try_bosun_ok(&["get", "pods", "-l", &sel, "-o", "json"])?;
    let v: Value = serde_json::from_str(&out).context("get pods -o json")?;
    let items = v["items"].as_array().cloned().unwrap_or_default();
    Ok(items
        .iter()
        .map(|p| {
            let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
            let ready = p["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            (
                s(&p["spec"]["nodeName"]),
                s(&p["spec"]["containers"][0]["env"][0]["value"]),
                ready,
            )
        })
        .collect())
}

/// Nodes with a ready pod of `version`, sorted.
fn ready_nodes(c: &TestCluster, name: &str, version: &str) -> anyhow::Result<Vec<String>> {
    let mut nodes: Vec<String> = pods(c, name)?
        .into_iter()
        .filter(|(_, v, r)| v == version && *r)
        .map(|(n, _, _)| n)
        .collect();
    nodes.sort();
    Ok(nodes)
}

#[test]
fn one_pod_per_eligible_node_following_nodes_and_templates() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let a = c.node_name().to_string();
    let path = c.write_file("every.yaml", &daemonset(&image, "every", "v1", ""))?;
    c.bosun_ok(&["apply", "-f", &path]);
    wait_for_blocking("a daemon pod on the first node", DEADLINE, || {
        Ok((ready_nodes(&c, "every", "v1")? == [a.clone()]).then_some(()))
    })?;

    // A second node joins, with a label: it gets a pod, and so does a selective DaemonSet.
    let b = ExtraAgent::start(&c, "b", &["disk=ssd"])?;
    let mut both = vec![a.clone(), b.name.clone()];
    both.sort();
    wait_for_blocking("a daemon pod on each node", DEADLINE, || {
        Ok((ready_nodes(&c, "every", "v1")? == both).then_some(()))
    })?;
    let selective = daemonset(&image, "ssd", "v1", "nodeSelector: {disk: ssd}");
    let path = c.write_file("ssd.yaml", &selective)?;
    c.bosun_ok(&["apply", "-f", &path]);
    wait_for_blocking("the ssd daemon on the ssd node only", DEADLINE, || {
        Ok((ready_nodes(&c, "ssd", "v1")? == [b.name.clone()]).then_some(()))
    })?;
    let table = c.bosun_ok(&["get", "ds", "every"]);
    assert!(table.contains("NODE SELECTOR"), "{table}");

    // A rolling update: one node at a time, never both without a ready pod.
    let path = c.write_file("every-v2.yaml", &daemonset(&image, "every", "v2", ""))?;
    c.bosun_ok(&["apply", "-f", &path]);
    let started = Instant::now();
    loop {
        let p = pods(&c, "every")?;
        let ready = p.iter().filter(|(_, _, r)| *r).count();
        assert!(ready >= 1, "both nodes without a ready daemon pod: {p:?}");
        if ready_nodes(&c, "every", "v2")? == both && p.len() == 2 {
            break;
        }
        anyhow::ensure!(started.elapsed() < DEADLINE, "rolling update stuck: {p:?}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Draining a node keeps its daemon pods (they tolerate the cordon).
    let out = c.bosun_ok(&["drain", &b.name]);
    assert!(out.contains("ignoring DaemonSet-managed Pods"), "{out}");
    assert_eq!(ready_nodes(&c, "every", "v2")?, both);

    // The node leaves: its agent stops and the node is deleted; its daemon pods go.
    let mut b = b;
    b.kill()?;
    c.bosun_ok(&["delete", "node", &b.name]);
    wait_for_blocking("no daemon pod left on the deleted node", DEADLINE, || {
        let on_b = pods(&c, "every")?
            .iter()
            .chain(pods(&c, "ssd")?.iter())
            .any(|(n, _, _)| *n == b.name);
        Ok((!on_b).then_some(()))
    })?;
    assert_eq!(ready_nodes(&c, "every", "v2")?, [a]);
    Ok(())
}
