//! Node failure and maintenance on the real Docker engine: two agents (two nodes) share the
//! engine; one is frozen with SIGSTOP, its pod is replaced on the other node, and when it comes
//! back it stops the replaced pod. Cordon and drain move pods the same way.
use std::path::Path;
use std::time::Duration;

use bosun_tests::agent::ExtraAgent;
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn deployment(image: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: svc}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: svc}}}}\n  template:\n    metadata: {{labels: {{app: svc}}}}\n    spec:\n      terminationGracePeriodSeconds: 0\n      containers:\n      - name: main\n        image: {image}\n        command: [/bin/busybox, sleep, '3600']\n"
    )
}

/// (pod name, node, phase) of the deployment's pods.
fn pods(c: &TestCluster) -> anyhow::Result<Vec<(String, String, String)>> {
    let v: Value =
        serde_json::from_str(&c.try_bosun_ok(&["get", "pods", "-l", "app=svc", "-o", "json"])?)?;
    Ok(v["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|p| {
            (
                p["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["spec"]["nodeName"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                p["status"]["phase"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect())
}

fn running_on(c: &TestCluster, node: &str) -> anyhow::Result<usize> {
    Ok(pods(c)?
        .iter()
        .filter(|(_, n, ph)| n == node && ph == "Running")
        .count())
}

fn containers_on(node: &str) -> anyhow::Result<usize> {
    Ok(
        bosun_tests::docker::containers_with_label(&format!("bosun.node={node}"))?
            .iter()
            .filter(|c| c.is_running())
            .count(),
    )
}

#[test]
fn a_frozen_node_has_its_pods_replaced_and_stops_them_when_it_returns() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let mut c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let b = ExtraAgent::start(&c, "b", &[])?;
    let a = c.node_name().to_string();
    c.wait_for_output(&["get", "nodes"], "both nodes Ready", DEADLINE, |o| {
        o.matches(" Ready ").count() == 2
    })?;
    let file = c.write_file("svc.yaml", &deployment(&image))?;
    c.bosun_ok(&["apply", "-f", &file]);
    // Replicas spread: one on each node.
    wait_for_blocking("one running replica per node", DEADLINE, || {
        Ok((running_on(&c, &a)? == 1 && running_on(&c, &b.name)? == 1).then_some(()))
    })?;
    // Freeze node A's agent: its pod is replaced on B within seconds.
    c.agent_process().expect("agent").pause()?;
    wait_for_blocking("both replicas running on node B", DEADLINE, || {
        Ok((running_on(&c, &b.name)? == 2 && containers_on(&b.name)? == 2).then_some(()))
    })?;
    let get = c.bosun_ok(&["get", "nodes"]);
    assert!(
        get.lines()
            .any(|l| l.starts_with(&a) && l.contains("NotReady")),
        "{get}"
    );
    // Node A comes back: it stops the pod it no longer has.
    c.agent_process().expect("agent").resume()?;
    wait_for_blocking("node A's replaced container stopped", DEADLINE, || {
        Ok((containers_on(&a)? == 0).then_some(()))
    })?;
    c.wait_node_ready(DEADLINE)?;
    assert_eq!(
        running_on(&c, &b.name)?,
        2,
        "the replicas stay where they were replaced"
    );
    Ok(())
}

#[test]
fn cordon_keeps_new_pods_off_and_drain_moves_pods_away() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let b = ExtraAgent::start(&c, "b", &[])?;
    let a = c.node_name().to_string();
    c.wait_for_output(&["get", "nodes"], "both nodes Ready", DEADLINE, |o| {
        o.matches(" Ready ").count() == 2
    })?;
    assert_eq!(
        c.bosun_ok(&["cordon", &a]).trim(),
        format!("node/{a} cordoned")
    );
    let nodes = c.bosun_ok(&["get", "nodes"]);
    assert!(nodes.contains("SchedulingDisabled"), "{nodes}");
    let file = c.write_file("svc.yaml", &deployment(&image))?;
    c.bosun_ok(&["apply", "-f", &file]);
    wait_for_blocking("both replicas on node B", DEADLINE, || {
        Ok((running_on(&c, &b.name)? == 2).then_some(()))
    })?;
    assert_eq!(running_on(&c, &a)?, 0, "nothing on the cordoned node");
    // Uncordon, move everything to A by draining B.
    c.bosun_ok(&["uncordon", &a]);
    let out = c.bosun_ok(&["drain", &b.name]);
    assert!(out.contains(&format!("node/{} drained", b.name)), "{out}");
    wait_for_blocking("both replicas on node A", DEADLINE, || {
        Ok((running_on(&c, &a)? == 2 && containers_on(&b.name)? == 0).then_some(()))
    })?;
    // A standalone pod is not drained without --force.
    let pod = c.write_file(
        "solo.yaml",
        &format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: solo}}\nspec:\n  nodeName: {a}\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {{name: m, image: '{image}', command: [/bin/busybox, sleep, '600']}}\n"),
    )?;
    c.bosun_ok(&["apply", "-f", &pod]);
    let refused = c.bosun_fails(&["drain", &a]);
    assert!(
        refused.stderr.contains("--force") && refused.stderr.contains("default/solo"),
        "{refused}"
    );
    c.bosun_ok(&["drain", &a, "--force"]);
    Ok(())
}
