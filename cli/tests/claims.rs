//! End to end with a master, two agents and the real Docker engine: a PersistentVolumeClaim
//! is bound to a Docker named volume on the node of its first pod; a database-like pod keeps
//! its data across its deletion and re-creation and across an agent restart; a second pod
//! that uses the claim lands on the same node; deleting the claim deletes the volume, and
//! `Retain` keeps it.
use std::path::Path;
use std::time::Duration;

use bosun_tests::agent::ExtraAgent;
use bosun_tests::docker::docker;
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn claim(name: &str, retain: bool) -> String {
    let policy = if retain {
        "  annotations: {bosun.dev/reclaim-policy: Retain}\n"
    } else {
        ""
    };
    format!(
        "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: {name}\n{policy}spec:\n  accessModes: [ReadWriteOnce]\n  resources:\n    requests:\n      storage: 1Gi\n"
    )
}

/// A pod that appends a row to /data/db.txt when it starts, like a database writing its files.
fn db_pod(image: &str, name: &str, claim: &str) -> String {
    db_pod_on(image, name, claim, None)
}

/// [`db_pod`], on `node` if given.
fn db_pod_on(image: &str, name: &str, claim: &str, node: Option<&str>) -> String {
    let selector = node
        .map(|n| format!("  nodeSelector: {{kubernetes.io/hostname: {n}}}\n"))
        .unwrap_or_default();
    format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
{selector}  containers:
  - name: db
    image: {image}
    command: ["/bin/busybox", "sh", "-c", "echo row-from-$HOSTNAME >> /data/db.txt; sleep 3600"]
    volumeMounts: [{{name: data, mountPath: /data}}]
  volumes:
  - name: data
    persistentVolumeClaim: {{claimName: {claim}}}
"#
    )
}

fn volumes_named(name: &str) -> anyhow::Result<Vec<String>> {
    let out = docker(&["volume", "ls", "-q", "--filter", &format!("name={name}")])?;
    Ok(out
        .lines()
        .map(str::to_string)
        .filter(|l| !l.is_empty())
        .collect())
}

fn running(c: &TestCluster, pod: &str) -> anyhow::Result<String> {
    c.wait_for_output(
        &["get", "pod", pod, "-o", "jsonpath={.status.phase}"],
        &format!("{pod} Running"),
        DEADLINE,
        |o| o == "Running",
    )
}

fn rows(c: &TestCluster, pod: &str) -> String {
    c.bosun_ok(&["exec", pod, "--", "/bin/busybox", "cat", "/data/db.txt"])
}

#[test]
fn a_claim_keeps_its_data_on_its_node_and_goes_with_its_deletion() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let mut c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let other = ExtraAgent::start(&c, "b", &[])?;
    c.wait_for_output(&["get", "nodes"], "two nodes", DEADLINE, |o| {
        o.lines().filter(|l| l.contains(" Ready ")).count() == 2
    })?;
    let claim_file = c.write_file("claim.yaml", &claim("data", false))?;
    c.bosun_ok(&["apply", "-f", &claim_file]);
    let pending = c.bosun_ok(&["get", "pvc", "data"]);
    assert!(
        pending
            .lines()
            .nth(1)
            .is_some_and(|l| l.contains(" Pending ")),
        "{pending}"
    );

    // The first pod runs on the harness's own agent (which the test restarts later); the
    // claim follows it there.
    let first = c.node_name().to_string();
    let db = c.write_file("db.yaml", &db_pod_on(&image, "db", "data", Some(&first)))?;
    c.bosun_ok(&["apply", "-f", &db]);
    running(&c, "db")?;
    let node = c.bosun_ok(&["get", "pod", "db", "-o", "jsonpath={.spec.nodeName}"]);
    assert_eq!(node, first);
    let bound = c.bosun_ok(&[
        "get", "pvc", "data", "-o",
        "jsonpath={.status.phase} {.metadata.annotations.volume\\.kubernetes\\.io/selected-node} {.spec.volumeName}",
    ]);
    let parts: Vec<&str> = bound.split(' ').collect();
    assert_eq!(parts[..2], ["Bound", node.as_str()], "{bound}");
    let volume = parts[2].to_string();
    assert!(volume.starts_with("bosun-pvc-"), "{bound}");
    assert_eq!(
        volumes_named(&volume)?,
        std::slice::from_ref(&volume),
        "a Docker named volume"
    );
    assert_eq!(rows(&c, "db").lines().count(), 1);

    // Deleted and made again: the data is still there.
    c.bosun_ok(&["delete", "pod", "db", "--grace-period", "0"]);
    c.wait_for_output(&["get", "pods", "-o", "name"], "db gone", DEADLINE, |o| {
        o.is_empty()
    })?;
    c.bosun_ok(&["apply", "-f", &db]);
    running(&c, "db")?;
    assert_eq!(
        rows(&c, "db").lines().count(),
        2,
        "the claim kept the first row"
    );

    // A second pod of the claim runs on the same node (the scheduler would spread it to the
    // empty one otherwise), and sees the same files.
    let reader = c.write_file("reader.yaml", &db_pod(&image, "reader", "data"))?;
    c.bosun_ok(&["apply", "-f", &reader]);
    running(&c, "reader")?;
    let reader_node = c.bosun_ok(&["get", "pod", "reader", "-o", "jsonpath={.spec.nodeName}"]);
    assert_eq!(reader_node, node, "pinned to the claim's node");
    assert_eq!(rows(&c, "reader").lines().count(), 3);

    // An agent restart keeps the data (and the pods).
    c.restart_agent()?;
    let after = wait_for_blocking("the restarted agent to serve exec", DEADLINE, || {
        let out = c.bosun(&[
            "exec",
            "reader",
            "--",
            "/bin/busybox",
            "cat",
            "/data/db.txt",
        ]);
        Ok(out.success().then_some(out.stdout))
    })?;
    assert_eq!(after.lines().count(), 3, "{after}");
    c.bosun_ok(&["delete", "pod", "db", "reader", "--grace-period", "0"]);
    c.wait_for_output(&["get", "pods", "-o", "name"], "pods gone", DEADLINE, |o| {
        o.is_empty()
    })?;
    c.bosun_ok(&["apply", "-f", &db]);
    running(&c, "db")?;
    assert_eq!(rows(&c, "db").lines().count(), 4);

    // Deleting the claim deletes its volume (once no pod uses it).
    c.bosun_ok(&["delete", "pod", "db", "--grace-period", "0"]);
    c.bosun_ok(&["delete", "pvc", "data"]);
    wait_for_blocking("the claim's volume to be removed", DEADLINE, || {
        Ok(volumes_named(&volume)?.is_empty().then_some(()))
    })?;

    // Retain keeps it.
    let kept = c.write_file("kept.yaml", &claim("kept", true))?;
    c.bosun_ok(&["apply", "-f", &kept]);
    let keeper = c.write_file("keeper.yaml", &db_pod(&image, "keeper", "kept"))?;
    c.bosun_ok(&["apply", "-f", &keeper]);
    running(&c, "keeper")?;
    let kept_volume = c.bosun_ok(&["get", "pvc", "kept", "-o", "jsonpath={.spec.volumeName}"]);
    c.bosun_ok(&["delete", "pod", "keeper", "--grace-period", "0"]);
    c.bosun_ok(&["delete", "pvc", "kept"]);
    c.wait_for_output(
        &["get", "pods", "-o", "name"],
        "keeper gone",
        DEADLINE,
        |o| o.is_empty(),
    )?;
    std::thread::sleep(Duration::from_secs(3)); // several agent passes: a removal would have happened
    assert_eq!(
        volumes_named(&kept_volume)?,
        std::slice::from_ref(&kept_volume),
        "Retain keeps the volume"
    );
    let _ = docker(&["volume", "rm", "-f", &kept_volume]);
    drop(other);
    Ok(())
}

#[test]
fn a_pod_waits_for_its_claim_and_says_so() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let db = c.write_file("db.yaml", &db_pod(&image, "db", "later"))?;
    c.bosun_ok(&["apply", "-f", &db]);
    let described = c.wait_for_output(
        &["describe", "pod", "db"],
        "FailedScheduling",
        DEADLINE,
        |o| o.contains("persistentvolumeclaim \"later\" not found"),
    )?;
    assert!(described.contains("FailedScheduling"), "{described}");
    let claim_file = c.write_file("claim.yaml", &claim("later", false))?;
    c.bosun_ok(&["apply", "-f", &claim_file]);
    c.wait_for_output(
        &["get", "pod", "db", "-o", "jsonpath={.status.phase}"],
        "db Running once its claim exists",
        DEADLINE,
        |o| o == "Running",
    )?;
    Ok(())
}
