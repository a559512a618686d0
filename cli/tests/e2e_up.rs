//! End to end with `bosun up` (master and agent in one process) and the real Docker engine.
use std::path::Path;
use std::time::Duration;

use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn pod(name: &str, image: &str, extra: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: {image}
    command: ["/bin/busybox", "sh", "-c", "echo hello from {name}; exec /bin/busybox sleep 600"]
{extra}"#
    )
}

#[test]
fn a_pod_runs_logs_and_survives_a_restart_of_bosun_up() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let mut c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let file = c.write_file("hello.yaml", &pod("hello", &image, ""))?;
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &file]).trim(),
        "pod/hello created"
    );
    assert_eq!(
        c.bosun_ok(&["apply", "-f", &file]).trim(),
        "pod/hello unchanged"
    );
    c.wait_for_output(&["get", "pod", "hello"], "pod Running", DEADLINE, |o| {
        o.contains("Running")
    })?;
    c.wait_for_output(&["logs", "hello"], "the pod's output", DEADLINE, |o| {
        o.contains("hello from hello")
    })?;
    let before = c.containers()?;
    assert_eq!(before.len(), 1);

    // Stop and start the whole one-machine cluster: the container is adopted, not duplicated.
    c.stop_master()?;
    c.start_master()?;
    c.wait_node_ready(DEADLINE)?;
    c.wait_for_output(
        &["get", "pod", "hello"],
        "pod Running after restart",
        DEADLINE,
        |o| o.contains("Running"),
    )?;
    let after = c.containers()?;
    assert_eq!(after.len(), 1, "no duplicate container");
    assert_eq!(after[0].id, before[0].id, "the same container");

    c.bosun_ok(&["delete", "pod", "hello"]);
    wait_for_blocking("container removed", DEADLINE, || {
        Ok(c.containers()?.is_empty().then_some(()))
    })?;
    Ok(())
}

#[test]
fn a_pod_asking_for_more_memory_than_any_node_stays_pending_with_the_reason() -> anyhow::Result<()>
{
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let extra = "    resources:\n      requests:\n        memory: 100Ti\n";
    let file = c.write_file("big.yaml", &pod("big", &image, extra))?;
    c.bosun_ok(&["apply", "-f", &file]);
    let describe = c.wait_for_output(
        &["describe", "pod", "big"],
        "the scheduling failure",
        DEADLINE,
        |o| o.contains("insufficient memory"),
    )?;
    assert!(
        describe.contains("0/1 nodes available: 1 insufficient memory"),
        "{describe}"
    );
    let get = c.bosun_ok(&["get", "pod", "big"]);
    assert!(get.contains("Pending"), "{get}");
    assert!(c.containers()?.is_empty(), "nothing runs");
    Ok(())
}

#[test]
fn bad_manifests_are_refused_with_the_field_and_nothing_is_stored() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    let good = c.write_file("good.yaml", &pod("good", &image, ""))?;
    c.bosun_ok(&["apply", "-f", &good]);

    // Two documents: a valid one and one with a bad quantity; neither is applied.
    let bad = format!(
        "{}---\n{}",
        pod("second", &image, ""),
        pod(
            "third",
            &image,
            "    resources:\n      limits:\n        memory: 12XB\n"
        )
    );
    let bad = c.write_file("bad.yaml", &bad)?;
    let out = c.bosun_fails(&["apply", "-f", &bad]);
    assert!(
        out.stderr
            .contains("spec.containers[0].resources.limits.memory"),
        "{out}"
    );
    assert!(out.stderr.contains("12XB"), "{out}");

    let bad_name = c.write_file("name.yaml", &pod("Bad_Name", &image, ""))?;
    let out = c.bosun_fails(&["apply", "-f", &bad_name]);
    assert!(out.stderr.contains("metadata.name"), "{out}");

    let unknown = c.write_file(
        "probe.yaml",
        &pod("probed", &image, "    terminationMessagePath: /tmp/why\n"),
    )?;
    let out = c.bosun(&["apply", "-f", &unknown]);
    assert!(out.success(), "{out}");
    assert!(
        out.stderr
            .contains("spec.containers[0].terminationMessagePath"),
        "a warning names the field: {out}"
    );

    let names = c.bosun_ok(&["get", "pods", "-o", "name"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(
        names,
        ["pod/good", "pod/probed"],
        "only the valid objects were stored"
    );
    assert!(c
        .bosun_fails(&["get", "pod", "second"])
        .stderr
        .contains("NotFound"));
    Ok(())
}
