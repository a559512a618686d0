//! End to end with `bosun up` and the real Docker engine: a rolling update of 4 replicas of
//! busybox httpd behind a readiness probe never has fewer than `replicas - maxUnavailable`
//! ready pods, `bosun rollout status` follows it to the end, and a rollout whose new pods
//! never become ready stops at its progress deadline with the old pods still serving.
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};
use serde_json::Value;

/// A rollout of 4 pods, each ready ~2 s after it starts.
const DEADLINE: Duration = Duration::from_secs(120);
const REPLICAS: usize = 4;
const MAX_UNAVAILABLE: usize = 1;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

/// httpd serving `/www`; `/www/<ready_file>` appears 2 s after the start, and the readiness
/// probe asks for `/healthz`, so the pods are ready only when `ready_file` is `healthz`.
fn deployment(image: &str, version: &str, ready_file: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: rolling
  annotations: {{kubernetes.io/change-cause: "release {version}"}}
spec:
  replicas: {REPLICAS}
  progressDeadlineSeconds: 5
  strategy:
    type: RollingUpdate
    rollingUpdate: {{maxSurge: 1, maxUnavailable: {MAX_UNAVAILABLE}}}
  selector:
    matchLabels: {{app: rolling}}
  template:
    metadata:
      labels: {{app: rolling}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: {image}
        env:
        - {{name: VERSION, value: "{version}"}}
        command: ["/bin/busybox", "sh", "-c", "mkdir -p /www && (sleep 2; echo ok > /www/{ready_file}) & exec /bin/busybox httpd -f -p 8080 -h /www"]
        ports:
        - {{name: http, containerPort: 8080}}
        readinessProbe:
          httpGet: {{path: /healthz, port: http}}
          periodSeconds: 1
          failureThreshold: 1
"#
    )
}

/// (version, ready) of every pod of the Deployment, in one consistent list.
fn pods(c: &TestCluster) -> anyhow::Result<Vec<(String, bool)>> {
    let out = c.try_bosun_ok(&["get", "pods", "-l", "app=rolling", "-o", "json"])?;
    let v: Value = serde_json::from_str(&out).context("get pods -o json")?;
    let items = v["items"].as_array().cloned().unwrap_or_default();
    Ok(items
        .iter()
        .map(|p| {
            let version = p["spec"]["containers"][0]["env"][0]["value"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            let ready = p["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            });
            (version, ready)
        })
        .collect())
}

/// `rollout status` of the Deployment, waiting up to 100 s.
const STATUS_ARGS: [&str; 5] = [
    "rollout",
    "status",
    "deployment/rolling",
    "--timeout",
    "100s",
];

fn rollout_status(c: &TestCluster) -> String {
    c.bosun_ok(&STATUS_ARGS)
}

/// The revisions `rollout history` lists, oldest first.
fn revisions(c: &TestCluster) -> Vec<String> {
    let history = c.bosun_ok(&["rollout", "history", "deployment/rolling"]);
    history
        .lines()
        .skip(2)
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// Applies `manifest`, runs `rollout status` meanwhile, and checks the ready count at every
/// poll until it ends; returns its exit success, its output and the lowest ready count seen.
fn roll(c: &TestCluster, manifest: &str, name: &str) -> anyhow::Result<(bool, String, usize)> {
    let path = c.write_file(name, manifest)?;
    c.bosun_ok(&["apply", "-f", &path]);
    let mut status = c.spawn_client(&STATUS_ARGS, name)?;
    let started = Instant::now();
    let mut lowest = usize::MAX;
    let exit = loop {
        let ready = pods(c)?.iter().filter(|(_, r)| *r).count();
        lowest = lowest.min(ready);
        assert!(
            ready + MAX_UNAVAILABLE >= REPLICAS,
            "only {ready} ready pods during the rollout: {:?}\n{}",
            pods(c)?,
            c.logs_tail(40)
        );
        if let Some(exit) = status.try_exit_status() {
            break exit;
        }
        anyhow::ensure!(started.elapsed() < DEADLINE, "rollout status never ended");
        std::thread::sleep(Duration::from_millis(100));
    };
    Ok((exit.success(), status.output(), lowest))
}

#[test]
fn rolling_update_keeps_enough_ready_pods_and_a_stuck_rollout_stops() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let path = c.write_file("v1.yaml", &deployment(&image, "v1", "healthz"))?;
    c.bosun_ok(&["apply", "-f", &path]);
    let out = rollout_status(&c);
    assert!(
        out.contains("deployment \"rolling\" successfully rolled out"),
        "{out}"
    );

    // v1 -> v2: one pod at a time, never fewer than 3 ready.
    let (ok, out, lowest) = roll(&c, &deployment(&image, "v2", "healthz"), "v2.yaml")?;
    assert!(ok, "rollout status failed: {out}");
    assert!(out.contains("successfully rolled out"), "{out}");
    assert!(
        out.contains("Waiting for deployment \"rolling\" rollout to finish"),
        "{out}"
    );
    assert!(lowest >= REPLICAS - MAX_UNAVAILABLE);
    let end = wait_for_blocking("4 ready v2 pods only", DEADLINE, || {
        let p = pods(&c)?;
        Ok((p.len() == REPLICAS && p.iter().all(|(v, r)| v == "v2" && *r)).then_some(p))
    })?;
    assert_eq!(end.len(), REPLICAS);

    // v3 never becomes ready: the rollout stops at its 5 s deadline and says so; the old
    // pods keep serving.
    let (ok, out, _) = roll(&c, &deployment(&image, "v3", "never"), "v3.yaml")?;
    assert!(!ok, "rollout status should fail: {out}");
    assert!(out.contains("exceeded its progress deadline"), "{out}");
    let p = pods(&c)?;
    let serving = p.iter().filter(|(v, r)| v == "v2" && *r).count();
    assert_eq!(serving, REPLICAS - MAX_UNAVAILABLE, "{p:?}");
    let describe = c.bosun_ok(&["describe", "deployment", "rolling"]);
    assert!(describe.contains("ProgressDeadlineExceeded"), "{describe}");

    // Three revisions, one ReplicaSet each.
    assert_eq!(revisions(&c), ["1", "2", "3"]);
    let sets = c.bosun_ok(&["get", "rs"]);
    assert_eq!(
        sets.lines().count(),
        4,
        "a header and three ReplicaSets:\n{sets}"
    );
    let shown = c.bosun_ok(&[
        "rollout",
        "history",
        "deployment/rolling",
        "--revision",
        "2",
    ]);
    assert!(shown.contains("VERSION:  v2"), "{shown}");

    // rollout undo goes back to v2 (revision 2 becomes revision 4), and the stuck pods go.
    assert_eq!(
        c.bosun_ok(&["rollout", "undo", "deployment/rolling"])
            .trim(),
        "deployment.apps/rolling rolled back"
    );
    let out = rollout_status(&c);
    assert!(out.contains("successfully rolled out"), "{out}");
    wait_for_blocking("4 ready v2 pods only, again", DEADLINE, || {
        let p = pods(&c)?;
        Ok((p.len() == REPLICAS && p.iter().all(|(v, r)| v == "v2" && *r)).then_some(p))
    })?;
    assert_eq!(revisions(&c), ["1", "3", "4"]);
    // Revision 4 is v2 again, with v2's change cause, not that of the v3 it replaced.
    let history = c.bosun_ok(&["rollout", "history", "deployment/rolling"]);
    let causes: Vec<String> = history
        .lines()
        .skip(2)
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        causes,
        ["1 release v1", "3 release v3", "4 release v2"],
        "{history}"
    );

    // rollout restart: every pod replaced, all ready again.
    let before = c.bosun_ok(&["get", "pods", "-l", "app=rolling", "-o", "name"]);
    assert_eq!(
        c.bosun_ok(&["rollout", "restart", "deployment/rolling"])
            .trim(),
        "deployment.apps/rolling restarted"
    );
    let out = rollout_status(&c);
    assert!(out.contains("successfully rolled out"), "{out}");
    // The old pods go once their containers have stopped (Terminating until then).
    wait_for_blocking("every pod replaced", DEADLINE, || {
        let after = c.try_bosun_ok(&["get", "pods", "-l", "app=rolling", "-o", "name"])?;
        Ok(before.lines().all(|p| !after.contains(p)).then_some(()))
    })?;
    Ok(())
}
