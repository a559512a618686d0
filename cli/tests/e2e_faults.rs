//! Faults and boundaries, end to end: a paused agent, containers Bosun does not own, a changed
//! template, a followed log stream.
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use bosun_tests::docker::{containers_with_label, remove_by_label};
use bosun_tests::{busybox_image, wait_for_blocking, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn node_status(c: &TestCluster) -> String {
    let out = c.bosun_ok(&["get", "nodes"]);
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(c.node_name()))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or_default()
        .to_string()
}

#[test]
fn a_paused_agent_makes_its_node_not_ready_until_it_resumes() -> anyhow::Result<()> {
    let mut c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    c.agent_process().expect("agent").pause()?;
    wait_for_blocking("node NotReady while the agent is paused", DEADLINE, || {
        Ok((node_status(&c) == "NotReady").then_some(()))
    })?;
    c.agent_process().expect("agent").resume()?;
    wait_for_blocking("node Ready after resume", DEADLINE, || {
        Ok((node_status(&c) == "Ready").then_some(()))
    })?;
    Ok(())
}

/// Removes the foreign containers of a test, even when it fails.
struct Foreign(String);

impl Drop for Foreign {
    fn drop(&mut self) {
        let _ = remove_by_label(&self.0);
    }
}

#[test]
fn the_agent_never_touches_containers_it_does_not_own() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let tag = format!("bosun-test-foreign={}", c.node_name());
    let _guard = Foreign(tag.clone());
    let run = |extra: &[&str]| -> anyhow::Result<()> {
        let status = Command::new("docker")
            .args(["run", "-d", "--label", &tag])
            .args(extra)
            .args([image.as_str(), "/bin/busybox", "sleep", "600"])
            .stdout(std::process::Stdio::null())
            .status()?;
        anyhow::ensure!(status.success(), "docker run failed");
        Ok(())
    };
    // A plain container, and one that another node's agent would own.
    run(&[])?;
    run(&[
        "--label",
        "bosun.managed=true",
        "--label",
        "bosun.node=some-other-node",
    ])?;

    let pod = c.write_file(
        "p.yaml",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: mine}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: main\n    image: {image}\n    command: [/bin/busybox, sleep, '600']\n"
        ),
    )?;
    c.bosun_ok(&["apply", "-f", &pod]);
    wait_for_blocking("the pod's container", DEADLINE, || {
        Ok((c.containers()?.iter().any(|x| x.is_running())).then_some(()))
    })?;
    c.bosun_ok(&["delete", "pod", "mine"]);
    wait_for_blocking("the pod's container removed", DEADLINE, || {
        Ok(c.containers()?.is_empty().then_some(()))
    })?;
    let foreign = containers_with_label(&tag)?;
    assert_eq!(foreign.len(), 2);
    assert!(
        foreign.iter().all(|f| f.is_running()),
        "foreign containers keep running: {foreign:?}"
    );
    Ok(())
}

fn deployment(image: &str, value: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: app}}}}\n  template:\n    metadata: {{labels: {{app: app}}}}\n    spec:\n      terminationGracePeriodSeconds: 0\n      containers:\n      - name: main\n        image: {image}\n        command: [/bin/busybox, sleep, '600']\n        env:\n        - {{name: VERSION, value: '{value}'}}\n"
    )
}

fn pod_names(c: &TestCluster) -> Vec<String> {
    c.bosun_ok(&["get", "pods", "-l", "app=app", "-o", "name"])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_changed_template_replaces_the_pods() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let v1 = c.write_file("v1.yaml", &deployment(&image, "1"))?;
    let v2 = c.write_file("v2.yaml", &deployment(&image, "2"))?;
    c.bosun_ok(&["apply", "-f", &v1]);
    c.wait_for_output(&["get", "deploy", "app"], "2/2 ready", DEADLINE, |o| {
        o.contains("2/2")
    })?;
    let first = pod_names(&c);
    assert_eq!(first.len(), 2);

    assert_eq!(
        c.bosun_ok(&["apply", "-f", &v2]).trim(),
        "deployment.apps/app configured"
    );
    wait_for_blocking("2 new pods, running the new template", DEADLINE, || {
        let now = pod_names(&c);
        let running = c
            .containers()?
            .into_iter()
            .filter(|x| x.is_running())
            .collect::<Vec<_>>();
        let replaced = now.len() == 2 && now.iter().all(|n| !first.contains(n));
        Ok((replaced && running.len() == 2).then_some(running))
    })
    .and_then(|running| {
        for r in running {
            let env = bosun_tests::docker::inspect_json(&r.id)?["Config"]["Env"].to_string();
            anyhow::ensure!(
                env.contains("VERSION=2"),
                "container {} runs the new template: {env}",
                r.name
            );
        }
        Ok(())
    })?;
    let version = c.bosun_ok(&["version"]);
    assert!(
        version.contains("Client Version: v") && version.contains("Server Version: v"),
        "{version}"
    );
    Ok(())
}

#[test]
fn logs_follow_streams_new_output() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let pod = c.write_file(
        "ticker.yaml",
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: ticker}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - name: main\n    image: {image}\n    command: [/bin/busybox, sh, -c, 'i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done']\n"
        ),
    )?;
    c.bosun_ok(&["apply", "-f", &pod]);
    c.wait_for_output(&["get", "pod", "ticker"], "Running", DEADLINE, |o| {
        o.contains("Running")
    })?;
    let mut follower = c.spawn_client(&["logs", "-f", "ticker"], "follow")?;
    // Lines written after the stream opened arrive while it stays open.
    follower.wait_output_contains("tick 20", DEADLINE)?;
    assert!(follower.is_running(), "a followed stream stays open");
    follower.kill()?;
    let tail = c.bosun_ok(&["logs", "ticker", "--tail", "2"]);
    assert_eq!(tail.lines().count(), 2, "{tail}");
    Ok(())
}
