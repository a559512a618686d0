//! End to end with `bosun up` and the real Docker engine: a grace period chosen at deletion
//! (`drain --grace-period`, `delete --grace-period`) replaces the pod's own. The container's
//! main process is `sleep`, which as PID 1 ignores SIGTERM, so it stops only at the SIGKILL
//! that ends its grace period: with its own 120 s it would run for two minutes.
use std::path::Path;
use std::time::{Duration, Instant};

use bosun_tests::{busybox_image, wait_for_blocking, ContainerInfo, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);
/// Far below the pod's own 120 s, far above the 1 s chosen.
const STOPPED_WITHIN: Duration = Duration::from_secs(40);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

fn stubborn(image: &str, name: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  \
         terminationGracePeriodSeconds: 120\n  containers:\n  \
         - {{name: m, image: '{image}', command: [/bin/busybox, sleep, '3600']}}\n"
    )
}

fn running(c: &TestCluster, pod: &str) -> anyhow::Result<bool> {
    Ok(c.containers()?
        .iter()
        .any(|k: &ContainerInfo| k.is_running() && k.label("bosun.pod.name") == Some(pod)))
}

#[test]
fn a_grace_period_chosen_at_deletion_replaces_the_pods_own() -> anyhow::Result<()> {
    let image = busybox_image()?;
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let node = c.node_name().to_string();
    for name in ["drained", "deleted"] {
        let file = c.write_file(&format!("{name}.yaml"), &stubborn(&image, name))?;
        c.bosun_ok(&["apply", "-f", &file]);
        wait_for_blocking("the pod's container running", DEADLINE, || {
            Ok(running(&c, name)?.then_some(()))
        })?;
    }

    let start = Instant::now();
    c.bosun_ok(&["delete", "pod", "deleted", "--grace-period", "1"]);
    wait_for_blocking(
        "the deleted pod's container stopped",
        STOPPED_WITHIN,
        || Ok((!running(&c, "deleted")?).then_some(())),
    )?;
    eprintln!(
        "delete --grace-period 1: stopped after {:?}",
        start.elapsed()
    );

    let start = Instant::now();
    let out = c.bosun_ok(&["drain", &node, "--force", "--grace-period", "1"]);
    assert!(out.contains(&format!("node/{node} drained")), "{out}");
    wait_for_blocking(
        "the drained pod's container stopped",
        STOPPED_WITHIN,
        || Ok((!running(&c, "drained")?).then_some(())),
    )?;
    eprintln!(
        "drain --grace-period 1: stopped after {:?}",
        start.elapsed()
    );
    Ok(())
}
