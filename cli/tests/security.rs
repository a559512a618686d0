//! A running cluster (`bosun master` and `bosun agent` processes) as a stranger sees it: a
//! scan of every port the processes listen on finds no plaintext listener, and refused
//! connections are logged by the master.
use std::path::Path;
use std::time::Duration;

use bosun_tests::net::{listening_ports, plaintext_answer};
use bosun_tests::TestCluster;

const DEADLINE: Duration = Duration::from_secs(60);

fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_bosun"))
}

#[test]
fn a_port_scan_finds_no_plaintext_listener() -> anyhow::Result<()> {
    let mut c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let master = c.master_process().expect("master runs").pid();
    let agent = c.agent_process().expect("agent runs").pid();
    let mut scanned = 0;
    for pid in [master, agent] {
        for port in listening_ports(pid)? {
            scanned += 1;
            let answer = plaintext_answer(&format!("127.0.0.1:{port}"), Duration::from_secs(3))?;
            let tls_alert_or_nothing = answer.first().is_none_or(|b| *b == 0x15);
            assert!(
                tls_alert_or_nothing,
                "port {port} of pid {pid} answered plaintext: {:?}",
                String::from_utf8_lossy(&answer)
            );
        }
    }
    assert!(scanned >= 1, "the master listens somewhere");
    // The CLI, with the config the master wrote, still gets in. With the cluster's CA but
    // no certificate of its own, it is refused and told why.
    c.bosun_ok(&["get", "nodes"]);
    let cfg = bosun_shared::client_config::load(c.config_path())?;
    let mut anonymous = cfg.clone();
    for ctx in anonymous.contexts.values_mut() {
        ctx.cert = None;
        ctx.key = None;
    }
    let path = c.dir().join("anonymous.yaml");
    std::fs::write(&path, serde_json::to_string(&anonymous)?)?;
    let path = path.to_str().expect("UTF-8 path");
    let refused = std::process::Command::new(bin())
        .args(["--config", path, "get", "nodes"])
        .output()?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success(), "let in without a certificate");
    assert!(stderr.contains("needs a client certificate"), "{stderr}");
    // Both strangers are in the master's log.
    let log = c.logs_tail(400);
    assert!(
        log.contains("refused a connection") && log.contains("refused: no client certificate"),
        "refusals not logged:\n{log}"
    );
    Ok(())
}

#[test]
fn a_removed_node_cannot_come_back() -> anyhow::Result<()> {
    let mut c = TestCluster::start_split(bin())?;
    c.wait_node_ready(DEADLINE)?;
    let node = c.node_name().to_string();
    let out = c.bosun_ok(&["node", "remove", &node]);
    assert!(out.contains(&format!("node/{node} removed")), "{out}");
    // The agent is cut off and told why; its node does not reappear.
    let agent_log = c
        .agent_process()
        .expect("agent runs")
        .log_path()
        .to_path_buf();
    bosun_tests::wait_for_blocking("the agent to be refused", DEADLINE, || {
        let log = std::fs::read_to_string(&agent_log)?;
        Ok(log.contains("was removed from the cluster").then_some(()))
    })?;
    let nodes = c.bosun_ok(&["get", "nodes", "-o", "name"]);
    assert!(!nodes.contains(&node), "node {node} came back: {nodes}");
    Ok(())
}
