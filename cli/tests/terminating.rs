//! End to end with `bosun up` and the real Docker engine: a deleted pod stays, `Terminating`,
//! until its agent has stopped its containers, and a `Recreate` Deployment starts its new pod
//! only then. The containers' main process is `sleep`, which as PID 1 ignores SIGTERM, so each
//! stops only at the SIGKILL that ends its 3 s grace period.
use std::path::Path;
use std::time::{Duration, Instant};

use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);
const GRACE_SECONDS: u64 = 3;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn recreate(image: &str, version: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata: {{name: single}}
spec:
  replicas: 1
  strategy: {{type: Recreate}}
  selector: {{matchLabels: {{app: single}}}}
  template:
    metadata: {{labels: {{app: single}}}}
    spec:
      terminationGracePeriodSeconds: {GRACE_SECONDS}
      containers:
      - name: m
        image: '{image}'
        command: [/bin/busybox, sleep, '3600']
        env: [{{name: VERSION, value: {version}}}]
"
    )
}

/// Pod names of the running containers whose pod name starts with `prefix`.
fn running(c: &TestCluster, prefix: &str) -> anyhow::Result<Vec<String>> {
    Ok(c.containers()?
        .iter()
        .filter(|k| k.is_running())
        .filter_map(|k| k.label("bosun.pod.name"))
        .filter(|p| p.starts_with(prefix))
        .map(str::to_string)
        .collect())
}

/// The STATUS column of `get pods` for pod `name`, if it is listed.
fn status_of(c: &TestCluster, name: &str) -> anyhow::Result<Option<String>> {
    let out = c.try_bosun_ok(&["get", "pods"])?;
    Ok(out
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .find(|cols| cols.first() == Some(&name))
        .and_then(|cols| cols.get(2).map(|s| s.to_string())))
}

#[test]
fn a_deleted_pod_terminates_and_recreate_waits_for_it() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;

    // Recreate: v2's container starts only once v1's has stopped.
    let v1 = c.write_file("v1.yaml", &recreate(&image, "v1"))?;
    c.bosun_ok(&["apply", "-f", &v1]);
    let old = wait_for_blocking("v1 running", DEADLINE, || Ok(running(&c, "single-")?.pop()))?;
    let v2 = c.write_file("v2.yaml", &recreate(&image, "v2"))?;
    let updated = Instant::now();
    c.bosun_ok(&["apply", "-f", &v2]);
    let mut saw_terminating = false;
    let mut most = 0;
    let new = loop {
        let now = running(&c, "single-")?;
        most = most.max(now.len());
        saw_terminating |= status_of(&c, &old)?.as_deref() == Some("Terminating");
        if let Some(p) = now.iter().find(|p| **p != old) {
            break p.clone();
        }
        anyhow::ensure!(updated.elapsed() < DEADLINE, "v2 never ran");
        std::thread::sleep(Duration::from_millis(100));
    };
    let took = updated.elapsed();
    eprintln!("recreate: {old} -> {new} after {took:?}, at most {most} running at once");
    assert_eq!(most, 1, "old and new never run together");
    assert!(saw_terminating, "the old pod was listed Terminating");
    assert!(
        took >= Duration::from_secs(GRACE_SECONDS - 1),
        "the new pod waited for the old one's grace period: {took:?}"
    );
    wait_for_blocking("the old pod gone from the API", DEADLINE, || {
        Ok(status_of(&c, &old)?.is_none().then_some(()))
    })?;

    // A deleted pod is Terminating while its container stops, then gone.
    let out = c.bosun_ok(&["delete", "pod", &new]);
    assert_eq!(out.trim(), format!("pod \"{new}\" deleted"));
    assert_eq!(status_of(&c, &new)?.as_deref(), Some("Terminating"));
    wait_for_blocking("the deleted pod gone", DEADLINE, || {
        Ok(status_of(&c, &new)?.is_none().then_some(()))
    })?;
    assert!(
        !running(&c, &new)?.contains(&new),
        "its container stopped first"
    );
    c.bosun_ok(&["delete", "deployment", "single"]);
    Ok(())
}
