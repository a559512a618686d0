//! Three masters on real gRPC sockets and one agent (in-memory engine): a client following a
//! pod's logs through a follower, which relays them from the leader, does not keep that
//! follower from stopping, and is told why its stream ended.
mod common;

use bosun_master::pki::MasterPki;
use bosun_proto::v1::LogsRequest;
use bosun_shared::pki::Role;
use bosun_shared::Kind;
use common::{fake_agent, pod, wait_for, Cluster, DEADLINE};
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_relaying_followed_logs_stops_and_ends_the_stream_with_a_reason() {
    let mut c = Cluster::start(3, Default::default()).await;
    let token = MasterPki::initial_tokens(&c.nodes[0].dir)
        .into_iter()
        .find(|(role, _)| *role == Role::Node)
        .expect("the first master made a node token")
        .1;
    let agent_stop = CancellationToken::new();
    let data = tempfile::tempdir().unwrap();
    let masters = c.nodes.iter().map(|n| n.addr.to_string()).collect();
    let agent = fake_agent(masters, data.path().join("n1"), token);
    let agent = tokio::spawn(agent.run(agent_stop.clone()));

    c.create_retrying(&pod("p")).await;
    wait_for("pod p running", DEADLINE, || async {
        let client = c.client(c.leader().await).await;
        let p = client.get(Kind::Pod, "default", "p").await.ok()?;
        (p.as_pod()?.phase() == bosun_shared::pod::PodPhase::Running).then_some(())
    })
    .await;

    let follower = (c.leader().await + 1) % 3;
    let client = c.client(follower).await;
    let request = LogsRequest {
        namespace: "default".into(),
        pod: "p".into(),
        follow: true,
        tail_lines: -1, // all
        ..Default::default()
    };
    let mut logs = Box::pin(client.logs(request).await.expect("logs through a follower"));
    let first = tokio::time::timeout(DEADLINE, logs.next())
        .await
        .expect("a first chunk")
        .expect("the stream is open")
        .expect("a chunk, not an error");
    assert!(String::from_utf8_lossy(&first).contains("fake log line"));

    // Before the fix the follower's graceful shutdown waited for the relay forever.
    tokio::time::timeout(DEADLINE, c.kill(follower))
        .await
        .expect("the follower stops while a client follows logs through it");
    let end = tokio::time::timeout(DEADLINE, logs.next())
        .await
        .expect("the followed logs end when the follower stops");
    match end {
        Some(Err(e)) => assert!(e.to_string().contains("shutting down"), "{e}"),
        other => panic!("expected an error naming the shutdown, got {other:?}"),
    }

    agent_stop.cancel();
    let _ = agent.await;
    c.stop_all().await;
}
