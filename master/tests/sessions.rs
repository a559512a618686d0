//! Agents' sessions on followers, with three masters on real gRPC sockets and an agent on an
//! in-memory engine: the leader sends the agent to a follower; its pods run, its node stays
//! Ready through the follower's forwarded heartbeats, logs, exec and top reach it through
//! any master, and it keeps its session across a leader change. A follower cut off from the
//! leader ends its sessions, and the agent moves to a master that reaches it.
mod common;

use std::time::Instant;

use bosun_master::pki::MasterPki;
use bosun_proto::v1::{exec_input, ExecInput, ExecStart, LogsRequest};
use bosun_shared::pki::{JoinToken, Role};
use bosun_shared::pod::PodPhase;
use bosun_shared::Kind;
use common::{fake_agent, pod, wait_for, Cluster, DEADLINE};
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

fn node_token(c: &Cluster) -> JoinToken {
    MasterPki::initial_tokens(&c.nodes[0].dir)
        .into_iter()
        .find(|(role, _)| *role == Role::Node)
        .expect("the first master made a node token")
        .1
}

/// Starts agent `n1` knowing the masters `masters` (indexes into the cluster).
fn start_agent(
    c: &Cluster,
    masters: &[usize],
    data: &std::path::Path,
    stop: &CancellationToken,
) -> JoinHandle<Result<(), bosun_agent::agent::AgentError>> {
    let addresses = masters
        .iter()
        .map(|i| c.nodes[*i].addr.to_string())
        .collect();
    let agent = fake_agent(addresses, data.join("n1"), node_token(c));
    tokio::spawn(agent.run(stop.clone()))
}

/// The index of the running master holding `n1`'s session, waiting for one.
async fn holder(c: &Cluster) -> usize {
    wait_for("a master holding n1's session", DEADLINE, || async {
        (0..c.nodes.len()).find(|i| {
            c.nodes[*i]
                .master
                .as_ref()
                .is_some_and(|m| m.registry.connected("n1"))
        })
    })
    .await
}

/// Waits until pod `name`, read from master `via`, runs on `n1`.
async fn running(c: &Cluster, name: &str) {
    wait_for(&format!("pod {name} running"), DEADLINE, || async {
        let client = c.client(c.leader().await).await;
        let p = client.get(Kind::Pod, "default", name).await.ok()?;
        (p.as_pod()?.phase() == PodPhase::Running).then_some(())
    })
    .await;
}

/// The logs of pod `name` through master `via`.
async fn logs_through(c: &Cluster, via: usize, name: &str) -> String {
    let client = c.client(via).await;
    let request = LogsRequest {
        namespace: "default".into(),
        pod: name.into(),
        tail_lines: -1,
        ..Default::default()
    };
    let stream = client
        .logs(request)
        .await
        .unwrap_or_else(|e| panic!("logs through master {via}: {e}"));
    let chunks: Vec<_> = stream.collect().await;
    let mut text = String::new();
    for c in chunks {
        let c = c.unwrap_or_else(|e| panic!("a log chunk through master {via}: {e}"));
        text.push_str(&String::from_utf8_lossy(&c));
    }
    text
}

/// The exit code of `true` run in pod `name` through master `via`.
async fn exec_through(c: &Cluster, via: usize, name: &str) -> Option<i32> {
    let client = c.client(via).await;
    let start = ExecInput {
        msg: Some(exec_input::Msg::Start(ExecStart {
            namespace: "default".into(),
            pod: name.into(),
            command: vec!["true".into()],
            ..Default::default()
        })),
    };
    let mut out = client
        .exec(futures::stream::iter([start]))
        .await
        .unwrap_or_else(|e| panic!("exec through master {via}: {e}"));
    while let Some(o) = out.next().await {
        let o = o.unwrap_or_else(|e| panic!("exec output through master {via}: {e}"));
        if let Some(code) = o.exit_code {
            return Some(code);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_agent_sent_to_a_follower_is_served_there_and_keeps_its_session_across_a_leader_change()
{
    let mut c = Cluster::start(3, Default::default()).await;
    let stop = CancellationToken::new();
    let data = tempfile::tempdir().unwrap();
    // The agent knows one master only: where its session goes, the masters tell it.
    let agent = start_agent(&c, &[0], data.path(), &stop);
    c.create_retrying(&pod("p")).await;
    running(&c, "p").await;

    let leader = c.leader().await;
    let at = holder(&c).await;
    assert_ne!(at, leader, "the leader sends new sessions to its followers");
    let lead = c.nodes[leader].master.as_ref().unwrap();
    wait_for(
        "the leader to hold n1's forwarded heartbeat",
        DEADLINE,
        || async {
            let beat = lead.registry.last_heartbeat("n1")?;
            let held = lead.registry.holder("n1")?;
            (held == c.nodes[at].master.as_ref().unwrap().advertised).then_some(beat)
        },
    )
    .await;

    // Logs and exec through every master: served where the session is, relayed elsewhere.
    for via in 0..3 {
        let text = logs_through(&c, via, "p").await;
        assert!(
            text.contains("fake log line"),
            "logs through {via}: {text:?}"
        );
        assert_eq!(
            exec_through(&c, via, "p").await,
            Some(0),
            "exec through {via}"
        );
    }
    let other = (0..3).find(|i| *i != leader && *i != at).unwrap();
    let (nodes, unreachable) = c.client(other).await.top().await.expect("top");
    assert!(
        unreachable.is_empty(),
        "top found every node: {unreachable:?}"
    );
    assert_eq!(
        nodes.len(),
        1,
        "top through the follower without the session"
    );

    // The leader goes; the agent's session with the follower stays, and the new leader
    // takes its heartbeats and schedules to it.
    let session = c.nodes[at]
        .master
        .as_ref()
        .unwrap()
        .registry
        .session_id("n1");
    let killed = Instant::now();
    c.kill(leader).await;
    let new = c.leader().await;
    let lead = c.nodes[new].master.as_ref().unwrap();
    wait_for(
        "the new leader to take n1's heartbeats",
        DEADLINE,
        || async {
            let beat = lead.registry.last_heartbeat("n1")?;
            (beat.at > killed).then_some(())
        },
    )
    .await;
    c.create_retrying(&pod("q")).await;
    running(&c, "q").await;
    assert_eq!(
        c.nodes[at]
            .master
            .as_ref()
            .unwrap()
            .registry
            .session_id("n1"),
        session,
        "the agent kept its session through the leader change"
    );
    let client = c.client(new).await;
    let n1 = client.get(Kind::Node, "", "n1").await.unwrap();
    assert!(n1.as_node().unwrap().is_ready(), "n1 stays Ready");
    let p = client.get(Kind::Pod, "default", "p").await.unwrap();
    assert_eq!(p.as_pod().unwrap().phase(), PodPhase::Running);

    stop.cancel();
    let _ = agent.await;
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_follower_cut_off_from_the_leader_ends_its_sessions_and_the_agent_moves() {
    let mut c = Cluster::start(3, Default::default()).await;
    let stop = CancellationToken::new();
    let data = tempfile::tempdir().unwrap();
    let agent = start_agent(&c, &[0, 1, 2], data.path(), &stop);
    c.create_retrying(&pod("p")).await;
    running(&c, "p").await;
    let at = holder(&c).await;
    let leader = c.leader().await;
    assert_ne!(at, leader, "the leader sends new sessions to its followers");

    let cut = c.status(at).unwrap().id;
    c.faults.isolate(cut, &c.ids());
    let moved = wait_for(
        "n1's session to move off the cut-off follower",
        DEADLINE,
        || async {
            let now = holder(&c).await;
            (now != at).then_some(now)
        },
    )
    .await;
    assert_ne!(moved, at);
    c.create_retrying(&pod("q")).await;
    running(&c, "q").await;
    c.faults.heal();

    stop.cancel();
    let _ = agent.await;
    c.stop_all().await;
}
