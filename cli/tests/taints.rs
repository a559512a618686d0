//! `bosun taint` end to end with `bosun up` and the real Docker engine: a `NoSchedule` taint
//! keeps off the pods that do not tolerate it (they wait, Pending, with the reason) and lets
//! in those that do; removing it lets the waiting pod run; a `NoExecute` taint evicts the
//! running pods that do not tolerate it and leaves those that do.
use std::path::Path;
use std::time::Duration;

use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};
use serde_json::Value;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

/// A sleeping pod `name`, with `tolerations` (YAML flow style) when not empty.
fn pod(image: &str, name: &str, tolerations: &str) -> String {
    let tolerations = if tolerations.is_empty() {
        String::new()
    } else {
        format!("  tolerations: {tolerations}\n")
    };
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  \
         terminationGracePeriodSeconds: 0\n{tolerations}  containers:\n  \
         - {{name: m, image: '{image}', command: [/bin/busybox, sleep, '3600']}}\n"
    )
}

/// The pod's phase and scheduling message, or `None` once it is gone.
fn state(c: &TestCluster, name: &str) -> anyhow::Result<Option<(String, String)>> {
    let out = c.bosun(&["get", "pod", name, "-o", "json"]);
    if !out.status.success() {
        return Ok(None);
    }
    let p: Value = serde_json::from_str(&out.stdout)?;
    let message = p["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "PodScheduled")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string();
    let phase = p["status"]["phase"]
        .as_str()
        .unwrap_or("Pending")
        .to_string();
    Ok(Some((phase, message)))
}

fn phase_is(c: &TestCluster, name: &str, phase: &str) -> anyhow::Result<Option<()>> {
    Ok(state(c, name)?.filter(|(p, _)| p == phase).map(|_| ()))
}

#[test]
fn taints_keep_off_and_evict_the_pods_that_do_not_tolerate_them() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let node = c.node_name().to_string();

    let out = c.bosun_ok(&["taint", "nodes", &node, "dedicated=gpu:NoSchedule"]);
    assert_eq!(out.trim(), format!("node/{node} tainted"));
    let plain = c.write_file("plain.yaml", &pod(&image, "plain", ""))?;
    let gpu = pod(
        &image,
        "gpu",
        "[{key: dedicated, value: gpu, effect: NoSchedule}, \
         {key: evict, operator: Exists, effect: NoExecute}]",
    );
    let gpu = c.write_file("gpu.yaml", &gpu)?;
    c.bosun_ok(&["apply", "-f", &plain]);
    c.bosun_ok(&["apply", "-f", &gpu]);
    wait_for_blocking("the tolerating pod running", DEADLINE, || {
        phase_is(&c, "gpu", "Running")
    })?;
    let (phase, message) = wait_for_blocking("the other pod held back", DEADLINE, || {
        Ok(state(&c, "plain")?.filter(|(_, m)| !m.is_empty()))
    })?;
    assert_eq!(phase, "Pending");
    assert!(message.contains("1 untolerated taint"), "{message}");

    // The taint goes: the waiting pod runs.
    let out = c.bosun_ok(&["taint", "nodes", &node, "dedicated:NoSchedule-"]);
    assert_eq!(out.trim(), format!("node/{node} untainted"));
    wait_for_blocking("the other pod running", DEADLINE, || {
        phase_is(&c, "plain", "Running")
    })?;

    // NoExecute: the pod that does not tolerate it is evicted, the other stays.
    c.bosun_ok(&["taint", "nodes", &node, "evict=now:NoExecute"]);
    wait_for_blocking("the other pod evicted", DEADLINE, || {
        Ok(state(&c, "plain")?.is_none().then_some(()))
    })?;
    assert!(phase_is(&c, "gpu", "Running")?.is_some());
    let describe = c.bosun_ok(&["describe", "node", &node]);
    assert!(describe.contains("evict=now:NoExecute"), "{describe}");

    // Bad input is refused, naming what is wrong, and changes nothing.
    let bad = c.bosun_fails(&["taint", "nodes", &node, "evict=now:Sometimes"]);
    assert!(
        bad.stderr.contains("invalid taint effect \"Sometimes\""),
        "{}",
        bad.stderr
    );
    let missing = c.bosun_fails(&["taint", "nodes", &node, "nothere-"]);
    assert!(
        missing.stderr.contains("taint \"nothere\" not found"),
        "{}",
        missing.stderr
    );
    c.bosun_ok(&["taint", "nodes", &node, "evict-"]);
    c.bosun_ok(&["delete", "pod", "gpu"]);
    Ok(())
}
