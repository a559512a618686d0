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
    // The CLI, with the config the master wrote, still gets in; the stranger's attempts
    // are in the master's log.
    c.bosun_ok(&["get", "nodes"]);
    let log = c.logs_tail(400);
    assert!(
        log.contains("refused a connection"),
        "no refusal logged:\n{log}"
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
