//! Two clusters in one config file: the second master writes its own context and makes it
//! current; `bosun config` lists and switches them, `--context` picks one per command.
use std::path::Path;
use std::time::Duration;

use bosun_tests::{wait_for_blocking, TestCluster};

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

#[test]
fn contexts_keep_two_clusters_apart() -> anyhow::Result<()> {
    let c = TestCluster::start_up(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let node = c.node_name().to_string();
    let data = c.dir().join("second-master");
    let data = data.to_str().expect("UTF-8 path");
    let mut second = c.spawn_client(
        &[
            "--context",
            "lab",
            "master",
            "--name",
            "lab-1",
            "--listen",
            "127.0.0.1:0",
            "--data-dir",
            data,
        ],
        "second-master",
    )?;
    wait_for_blocking("the second cluster's context", DEADLINE, || {
        let out = c.bosun_ok(&["config", "get-contexts"]);
        Ok(out
            .contains("* ")
            .then_some(out)
            .filter(|o| o.contains("lab")))
    })?;
    let listed = c.bosun_ok(&["config", "get-contexts"]);
    let current: Vec<&str> = listed.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(current.len(), 1, "{listed}");
    assert!(
        current[0].contains("lab"),
        "the new cluster is current: {listed}"
    );
    assert_eq!(c.bosun_ok(&["config", "current-context"]).trim(), "lab");

    // The lab cluster has no node; the first one, by name, has ours.
    let lab_nodes = c.bosun_ok(&["get", "nodes", "-o", "name"]);
    assert!(!lab_nodes.contains(&node), "{lab_nodes}");
    let first = c.bosun_ok(&["--context", "default", "get", "nodes", "-o", "name"]);
    assert!(first.contains(&node), "{first}");

    // Switching back; view hides the keys unless --raw.
    c.bosun_ok(&["config", "use-context", "default"]);
    assert!(c.bosun_ok(&["get", "nodes", "-o", "name"]).contains(&node));
    let view = c.bosun_ok(&["config", "view"]);
    assert!(
        view.contains("DATA+OMITTED") && !view.contains("PRIVATE KEY"),
        "{view}"
    );
    assert!(c
        .bosun_ok(&["config", "view", "--raw"])
        .contains("PRIVATE KEY"));
    let refused = c.bosun_fails(&["config", "use-context", "nope"]);
    assert!(
        refused.stderr.contains("no context \"nope\""),
        "{}",
        refused.stderr
    );
    second.kill()?;
    Ok(())
}
