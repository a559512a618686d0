//! Node certificates renew at two thirds of their life, under load, without the agent's
//! session ever being opened again: one in-process master issuing 6-second node
//! certificates, one in-process agent (in-memory engine) joined with the node token, pods
//! created all along.
mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use bosun_master::pki::MasterPki;
use bosun_master::server::{Master, MasterConfig};
use bosun_shared::client::Client;
use bosun_shared::pki::{Identity, Role};
use bosun_shared::{Kind, Object};
use common::{fake_agent, pod, wait_for, DEADLINE};
use tokio_util::sync::CancellationToken;

/// Long enough for three renewals of a 6-second certificate.
const WATCH: Duration = Duration::from_secs(14);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_certificates_renew_under_load_without_dropping_the_session() {
    let dir = tempfile::tempdir().unwrap();
    let shutdown = CancellationToken::new();
    let mut config = MasterConfig::new("m1", "127.0.0.1:0".parse().unwrap(), dir.path().join("m1"));
    config.node_cert_validity = Duration::from_secs(6);
    let master = Master::start(config, shutdown.clone()).await.unwrap();
    let admin = master
        .pki
        .admin_credentials(&master.store, "admin")
        .unwrap();
    let client = Client::connect(&master.addr.to_string(), &admin)
        .await
        .unwrap();
    let token = MasterPki::initial_tokens(&dir.path().join("m1"))
        .into_iter()
        .find(|(r, _)| *r == Role::Node)
        .unwrap()
        .1;
    let agent_dir = dir.path().join("n1");
    let agent = fake_agent(vec![master.addr.to_string()], agent_dir.clone(), token);
    tokio::spawn(agent.run(shutdown.child_token()));
    let session = wait_for("n1 connected", DEADLINE, || async {
        master.registry.session_id("n1")
    })
    .await;

    let serial = || {
        let pem = std::fs::read_to_string(agent_dir.join("pki/node.crt")).ok()?;
        Identity::from_pem(&pem).ok().map(|id| id.serial)
    };
    let mut serials = BTreeSet::new();
    let started = tokio::time::Instant::now();
    let mut n = 0;
    while started.elapsed() < WATCH {
        // Load: a pod every 100 ms, scheduled to n1, whose statuses flow back.
        n += 1;
        client.create(&pod(&format!("p{n}"))).await.unwrap();
        if let Some(s) = serial() {
            serials.insert(s);
        }
        assert_eq!(
            master.registry.session_id("n1"),
            Some(session),
            "the agent's session was opened again after {:?}",
            started.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        serials.len() >= 3,
        "expected at least two renewals in {WATCH:?}, saw certificates {serials:?}"
    );
    let node = client.get(Kind::Node, "", "n1").await.unwrap();
    assert!(
        node.as_node().is_some_and(|n| n.is_ready()),
        "n1 stayed Ready"
    );
    let (pods, _) = client.list(Kind::Pod, None, None).await.unwrap();
    let running = pods
        .iter()
        .filter_map(Object::as_pod)
        .filter(|p| p.phase() == bosun_shared::pod::PodPhase::Running)
        .count();
    assert!(running > 0, "statuses kept flowing: {running} pods Running");
    shutdown.cancel();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_certificates_renew_and_the_cluster_keeps_working() {
    let c = common::Cluster::start_configured(3, Default::default(), |config| {
        config.master_cert_validity = Duration::from_secs(6);
    })
    .await;
    let identity = |i: usize| c.nodes[i].master.as_ref().unwrap().pki.identity();
    let first: Vec<Identity> = (0..3).map(identity).collect();
    // Past the first certificates' end: every master serves a newer one.
    let expired = first.iter().map(|id| id.not_after).max().unwrap() + 1;
    wait_for(
        "the first certificates to expire and be replaced",
        DEADLINE,
        || async {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?
                .as_secs() as i64;
            let renewed = (0..3).all(|i| identity(i).serial != first[i].serial);
            (now > expired && renewed).then_some(())
        },
    )
    .await;
    // New connections to every master (TLS verifies the served certificate's dates), and
    // writes through followers (forwarded to the leader on new peer connections).
    for i in 0..3 {
        let client = c.client(i).await;
        client
            .create(&pod(&format!("after-renewal-{i}")))
            .await
            .unwrap_or_else(|e| panic!("write through m{}: {e}", i + 1));
    }
    let on_disk = std::fs::read_to_string(c.nodes[0].dir.join("pki/master.crt")).unwrap();
    assert_eq!(
        Identity::from_pem(&on_disk).unwrap().serial,
        identity(0).serial,
        "the renewed certificate is kept for restarts"
    );
}
