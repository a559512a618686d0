//! End to end with `bosun up` and the real Docker engine: a container's postStart hook runs
//! when it starts (a failing one kills it, with a FailedPostStartHook event); its preStop hook
//! runs when its pod is deleted; a process that ignores SIGTERM is killed once its
//! terminationGracePeriodSeconds are over, and not before.
use std::path::Path;
use std::time::{Duration, Instant};

use bosun_tests::{busybox_image, wait_for_blocking, ContainerInfo, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);
const GRACE_SECONDS: u64 = 4;

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn running(c: &TestCluster, pod: &str) -> anyhow::Result<bool> {
    Ok(c.containers()?
        .iter()
        .any(|k: &ContainerInfo| k.is_running() && k.label("bosun.pod.name") == Some(pod)))
}

#[test]
fn hooks_run_and_the_grace_period_is_kept() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let hooks = c.dir().join("files/hooks");
    let manifest = format!(
        r#"apiVersion: v1
kind: Pod
metadata:
  name: hooked
spec:
  terminationGracePeriodSeconds: {GRACE_SECONDS}
  containers:
  - name: app
    image: {image}
    # PID 1 ignores SIGTERM: only the SIGKILL at the end of the grace period stops it.
    command: ["/bin/busybox", "sleep", "3600"]
    lifecycle:
      postStart:
        exec: {{command: ["/bin/busybox", "sh", "-c", "echo started > /hooks/post-start"]}}
      preStop:
        exec: {{command: ["/bin/busybox", "sh", "-c", "echo stopping > /hooks/pre-stop"]}}
    volumeMounts: [{{name: hooks, mountPath: /hooks}}]
  volumes:
  - name: hooks
    hostPath: {{path: {}, type: DirectoryOrCreate}}
"#,
        hooks.display()
    );
    let file = c.write_file("hooked.yaml", &manifest)?;
    c.bosun_ok(&["apply", "-f", &file]);
    wait_for_blocking("the postStart hook's file", DEADLINE, || {
        Ok(hooks.join("post-start").exists().then_some(()))
    })?;
    assert!(running(&c, "hooked")?);

    let deleted = Instant::now();
    c.bosun_ok(&["delete", "pod", "hooked"]);
    wait_for_blocking("the preStop hook's file", DEADLINE, || {
        Ok(hooks.join("pre-stop").exists().then_some(()))
    })?;
    // Not before the grace period: still running halfway through it.
    let halfway = Duration::from_secs(GRACE_SECONDS) / 2;
    if let Some(rest) = halfway.checked_sub(deleted.elapsed()) {
        std::thread::sleep(rest);
        assert!(running(&c, "hooked")?, "killed before its grace period");
    }
    wait_for_blocking("the container killed after its grace", DEADLINE, || {
        Ok((!running(&c, "hooked")?).then_some(()))
    })?;
    let stopped = deleted.elapsed();
    assert!(
        stopped >= Duration::from_secs(GRACE_SECONDS) - Duration::from_millis(500),
        "stopped after {stopped:?}, before its {GRACE_SECONDS} s"
    );
    eprintln!("grace {GRACE_SECONDS} s: stopped after {stopped:?}");
    Ok(())
}

#[test]
fn a_failing_post_start_hook_kills_the_container() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let manifest = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: bad-hook\nspec:\n  containers:\n  - name: app\n    image: {image}\n    command: [\"/bin/busybox\", \"sleep\", \"3600\"]\n    lifecycle:\n      postStart:\n        exec: {{command: [\"/bin/busybox\", \"false\"]}}\n"
    );
    let file = c.write_file("bad.yaml", &manifest)?;
    c.bosun_ok(&["apply", "-f", &file]);
    let described = c.wait_for_output(
        &["describe", "pod", "bad-hook"],
        "FailedPostStartHook",
        DEADLINE,
        |o| o.contains("FailedPostStartHook"),
    )?;
    assert!(described.contains("PostStartHook failed"), "{described}");
    Ok(())
}
