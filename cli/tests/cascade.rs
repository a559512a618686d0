//! End to end with `bosun up`: `bosun delete --cascade` as kubectl's. `orphan` keeps the
//! ReplicaSet and its pods (no longer owned; the Deployment applied again adopts them),
//! `foreground` removes a Deployment with its ReplicaSet and pods in the same write, and the
//! default (`background`) has the garbage collector remove the ReplicaSets and pods of a
//! deleted Deployment, and their containers go.
use std::path::Path;
use std::time::Duration;

use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn sleeper(image: &str, name: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: 2
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: sleep
        image: {image}
        command: ["/bin/busybox", "sleep", "3600"]
"#
    )
}

/// Names (`kind/name`) of the objects `get KIND -l app=APP -o name` lists.
fn names(c: &TestCluster, kind: &str, app: &str) -> anyhow::Result<Vec<String>> {
    let sel = format!("app={app}");
    let out = c.try_bosun_ok(&["get", kind, "-l", &sel, "-o", "name"])?;
    Ok(out.lines().map(str::to_string).collect())
}

#[test]
fn delete_cascade_orphan_foreground_and_background() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let path = c.write_file("kept.yaml", &sleeper(&image, "kept"))?;
    c.bosun_ok(&["apply", "-f", &path]);
    let pods = wait_for_blocking("2 pods of kept", DEADLINE, || {
        Ok(Some(names(&c, "pods", "kept")?).filter(|p| p.len() == 2))
    })?;

    // orphan: the Deployment goes, its ReplicaSet and pods stay, no longer owned.
    let out = c.bosun_ok(&["delete", "deployment", "kept", "--cascade=orphan"]);
    assert_eq!(out.trim(), "deployment.apps \"kept\" deleted");
    let sets = names(&c, "rs", "kept")?;
    assert_eq!(sets.len(), 1, "{sets:?}");
    let rs = sets[0].trim_start_matches("replicaset.apps/").to_string();
    let json = c.bosun_ok(&["get", "rs", &rs, "-o", "json"]);
    assert!(!json.contains("ownerReferences"), "{json}");

    // background (the default): the garbage collector removes ReplicaSet and pods...
    let path = c.write_file("gone.yaml", &sleeper(&image, "gone"))?;
    c.bosun_ok(&["apply", "-f", &path]);
    wait_for_blocking("2 pods of gone", DEADLINE, || {
        Ok(Some(names(&c, "pods", "gone")?).filter(|p| p.len() == 2))
    })?;
    c.bosun_ok(&["delete", "deployment", "gone"]);
    wait_for_blocking("ReplicaSet and pods of gone collected", DEADLINE, || {
        let left = names(&c, "rs", "gone")?.len() + names(&c, "pods", "gone")?.len();
        Ok((left == 0).then_some(()))
    })?;
    // ...and, having run since the orphaning, it left the orphans alone.
    assert_eq!(names(&c, "pods", "kept")?, pods, "orphaned pods are kept");

    // The Deployment applied again adopts the orphaned ReplicaSet, pods and all.
    let path = c.write_file("kept-again.yaml", &sleeper(&image, "kept"))?;
    c.bosun_ok(&["apply", "-f", &path]);
    wait_for_blocking("the ReplicaSet adopted", DEADLINE, || {
        let json = c.try_bosun_ok(&["get", "rs", &rs, "-o", "json"])?;
        Ok(json.contains("ownerReferences").then_some(()))
    })?;
    assert_eq!(
        names(&c, "pods", "kept")?,
        pods,
        "the same pods, none doubled"
    );

    // foreground: the Deployment, its ReplicaSet and their pods go in one write.
    // The pods are deleted in that write too: Terminating at once, gone once their
    // containers have stopped.
    c.bosun_ok(&["delete", "deployment", "kept", "--cascade=foreground"]);
    assert!(names(&c, "rs", "kept")?.is_empty());
    let listed = c.bosun_ok(&["get", "pods", "-o", "json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed)?;
    for p in listed["items"].as_array().into_iter().flatten() {
        assert!(
            p["metadata"]["deletionTimestamp"].is_string(),
            "pods deleted with their owner: {p:#}"
        );
    }
    wait_for_blocking("the pods of kept gone", DEADLINE, || {
        Ok(names(&c, "pods", "kept")?.is_empty().then_some(()))
    })?;
    wait_for_blocking("every container stopped and removed", DEADLINE, || {
        Ok(c.containers()?.is_empty().then_some(()))
    })?;
    c.bosun_fails(&["delete", "deployment", "x", "--cascade=sideways"]);
    Ok(())
}
