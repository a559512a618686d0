//! Who may join and call a master, on real TLS sockets: each refusal the security issue lists
//! is tried several times and must fail every time, while the cluster's own credentials work.
mod common;

use std::time::{Duration, SystemTime};

use bosun_proto::v1::dispatcher_client::DispatcherClient;
use bosun_proto::v1::raft_client::RaftClient;
use bosun_proto::v1::{agent_message, AgentMessage, Hello, PodStatusReport, RaftBatch};
use bosun_shared::client::{Client, ClientError};
use bosun_shared::pki::join::{join, JoinError};
use bosun_shared::pki::tls::Credentials;
use bosun_shared::pki::{Ca, Identity, IssuedKey, JoinToken, Role, TokenRecord};
use bosun_shared::pod::{PodPhase, PodStatus};
use bosun_shared::{Kind, Object};
use common::{pod, wait_for, Cluster, DEADLINE};
use tonic::Code;

const DAY: Duration = Duration::from_secs(86_400);
/// Every refusal is tried this many times.
const TRIES: usize = 3;

fn with_identity(c: &Cluster, identity: Option<IssuedKey>) -> Credentials {
    Credentials {
        ca_pem: c.credentials().ca_pem.clone(),
        identity,
    }
}

/// `version` through the API with `credentials`: the error's text, or `None` if it worked.
async fn api_refusal(addr: &str, credentials: &Credentials) -> Option<String> {
    let outcome = async {
        let client = Client::connect(addr, credentials).await?;
        client.version().await?;
        Ok::<_, ClientError>(())
    };
    outcome.await.err().map(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_without_the_right_certificate_are_refused_every_time() {
    let c = Cluster::start(1, Default::default()).await;
    let addr = c.nodes[0].addr.to_string();
    let m = c.nodes[0].master.as_ref().unwrap();
    let ca = m.pki.ca(&m.store).unwrap();

    assert_eq!(
        api_refusal(&addr, c.credentials()).await,
        None,
        "admin works"
    );

    let other_ca = Ca::generate("elsewhere").unwrap();
    let now = SystemTime::now();
    let cases: Vec<(&str, Credentials, &str)> = vec![
        (
            "no certificate",
            with_identity(&c, None),
            "needs a client certificate",
        ),
        (
            "a certificate of another CA",
            with_identity(
                &c,
                Some(other_ca.issue_key(Role::Admin, "admin", DAY).unwrap()),
            ),
            "",
        ),
        (
            "an expired certificate",
            with_identity(
                &c,
                Some(
                    ca.issue_key_between(Role::Admin, "old", now - 2 * DAY, now - DAY)
                        .unwrap(),
                ),
            ),
            "",
        ),
        (
            "a node certificate on the API",
            with_identity(&c, Some(ca.issue_key(Role::Node, "n9", DAY).unwrap())),
            "node n9 may not call the Api service",
        ),
    ];
    for (what, credentials, says) in &cases {
        for _ in 0..TRIES {
            let refusal = api_refusal(&addr, credentials).await;
            let text = refusal.unwrap_or_else(|| panic!("{what} was let in"));
            assert!(text.contains(says), "{what}: {text}");
        }
    }

    // Raft takes masters only; the dispatcher takes nodes only.
    let node = with_identity(&c, Some(ca.issue_key(Role::Node, "n9", DAY).unwrap()));
    let admin = c.credentials().clone();
    for _ in 0..TRIES {
        let channel = node.endpoint(&addr).unwrap().connect().await.unwrap();
        let refused = RaftClient::new(channel)
            .stream(futures::stream::empty::<RaftBatch>())
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(refused.message().contains("Raft"), "{}", refused.message());

        let channel = admin.endpoint(&addr).unwrap().connect().await.unwrap();
        let hello = AgentMessage {
            msg: Some(agent_message::Msg::Hello(Hello::default())),
        };
        let refused = DispatcherClient::new(channel)
            .session(futures::stream::iter([hello]))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    }
}

fn node_json(name: &str) -> Vec<u8> {
    format!(r#"{{"apiVersion":"v1","kind":"Node","metadata":{{"name":"{name}"}}}}"#).into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_speaks_only_for_itself() {
    let c = Cluster::start(1, Default::default()).await;
    let addr = c.nodes[0].addr.to_string();
    let m = c.nodes[0].master.as_ref().unwrap();
    let ca = m.pki.ca(&m.store).unwrap();
    let admin = c.client(0).await;
    let Object::Pod(mut theirs) = pod("theirs") else {
        unreachable!()
    };
    theirs.spec.node_name = Some("n2".into());
    let Object::Pod(theirs) = admin.create(&theirs.into()).await.unwrap() else {
        unreachable!()
    };
    let Object::Pod(mut mine) = pod("mine") else {
        unreachable!()
    };
    mine.spec.node_name = Some("n1".into());
    let Object::Pod(mine) = admin.create(&mine.into()).await.unwrap() else {
        unreachable!()
    };

    let n1 = with_identity(&c, Some(ca.issue_key(Role::Node, "n1", DAY).unwrap()));
    for _ in 0..TRIES {
        // Registering as another node.
        let channel = n1.endpoint(&addr).unwrap().connect().await.unwrap();
        let hello = AgentMessage {
            msg: Some(agent_message::Msg::Hello(Hello {
                node: node_json("n2"),
                pods: vec![],
            })),
        };
        let refused = DispatcherClient::new(channel)
            .session(futures::stream::iter([hello]))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(refused.message().contains("n2"), "{}", refused.message());
    }

    // As itself, reporting the status of a pod bound to n2 and of its own: the node
    // registers, its own pod's status is recorded, the other is dropped.
    let running = PodStatus {
        phase: PodPhase::Running,
        ..Default::default()
    };
    let report = |p: &bosun_shared::pod::Pod| PodStatusReport {
        namespace: "default".into(),
        name: p.metadata.name.to_string(),
        uid: p.metadata.uid.to_string(),
        status: serde_json::to_vec(&running).unwrap(),
    };
    let channel = n1.endpoint(&addr).unwrap().connect().await.unwrap();
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(AgentMessage {
        msg: Some(agent_message::Msg::Hello(Hello {
            node: node_json("n1"),
            pods: vec![report(&theirs), report(&mine)],
        })),
    })
    .await
    .unwrap();
    let _session = DispatcherClient::new(channel)
        .session(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("a node's own session");
    wait_for("the status of n1's own pod", DEADLINE, || async {
        let p = admin.get(Kind::Pod, "default", "mine").await.ok()?;
        (p.as_pod()?.phase() == PodPhase::Running).then_some(())
    })
    .await;
    let now = admin.get(Kind::Pod, "default", "theirs").await.unwrap();
    assert_ne!(
        now.as_pod().unwrap().phase(),
        PodPhase::Running,
        "node n1 wrote the status of a pod bound to n2"
    );
    drop(tx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn join_tokens_admit_only_while_valid() {
    let c = Cluster::start(1, Default::default()).await;
    let addr = c.nodes[0].addr.to_string();
    let servers = [addr.clone()];
    let admin = c.client(0).await;
    let m = c.nodes[0].master.as_ref().unwrap();
    let hash = m.pki.ca_hash().unwrap();
    let refusal = |r: Result<Credentials, JoinError>| match r {
        Err(JoinError::Refused(e)) => e.to_string(),
        Err(e) => panic!("not a refusal: {e}"),
        Ok(_) => panic!("admitted"),
    };
    let store = |t: &JoinToken, expiration: Option<String>| {
        Object::Secret(TokenRecord::of(t, Role::Node, expiration, "test").to_secret())
    };

    // A valid token: a node certificate naming the node.
    let good = JoinToken::generate(&hash);
    admin.create(&store(&good, None)).await.unwrap();
    let got = join(&servers, &good, "joiner", DEADLINE).await.unwrap();
    let id = Identity::from_pem(&got.identity.unwrap().cert_pem).unwrap();
    assert_eq!((id.role, id.name.as_str()), (Role::Node, "joiner"));

    let wrong_secret = JoinToken {
        secret: JoinToken::generate(&hash).secret,
        ..good.clone()
    };
    let unknown = JoinToken::generate(&hash);
    let expired = JoinToken::generate(&hash);
    let past = bosun_shared::time::to_rfc3339(SystemTime::now() - DAY);
    admin
        .create(&store(&expired, Some(past.to_string())))
        .await
        .unwrap();
    let other_cluster = JoinToken::generate(Ca::generate("elsewhere").unwrap().hash());
    let cases = [
        (&wrong_secret, "wrong secret"),
        (&unknown, "not known"),
        (&expired, "expired"),
        (&other_cluster, "not the one the join token pins"),
    ];
    for (token, says) in cases {
        for _ in 0..TRIES {
            let text = refusal(join(&servers, token, "intruder", DEADLINE).await);
            assert!(text.contains(says), "{says}: {text}");
        }
    }

    // Revoked: the token's secret deleted, the same token no longer admits.
    let name = format!("join-token-{}", good.id);
    admin
        .delete(Kind::Secret, "bosun-system", &name)
        .await
        .unwrap();
    for _ in 0..TRIES {
        let text = refusal(join(&servers, &good, "joiner", DEADLINE).await);
        assert!(text.contains("not known"), "{text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_node_is_refused_until_it_joins_again() {
    let c = Cluster::start(1, Default::default()).await;
    let addr = c.nodes[0].addr.to_string();
    let m = c.nodes[0].master.as_ref().unwrap();
    let ca = m.pki.ca(&m.store).unwrap();
    let admin = c.client(0).await;
    let n1 = with_identity(&c, Some(ca.issue_key(Role::Node, "n1", DAY).unwrap()));
    let hello = || AgentMessage {
        msg: Some(agent_message::Msg::Hello(Hello {
            node: node_json("n1"),
            pods: vec![],
        })),
    };
    // A session open before the removal.
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    tx.send(hello()).await.unwrap();
    let channel = n1.endpoint(&addr).unwrap().connect().await.unwrap();
    let mut open = DispatcherClient::new(channel)
        .session(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .expect("a node's session")
        .into_inner();

    // What `bosun node remove n1` records.
    let record = bosun_shared::pki::revoke::revocation_secret("n1");
    admin.create(&Object::Secret(record)).await.unwrap();

    // The open session ends at its next message.
    let beat = AgentMessage {
        msg: Some(agent_message::Msg::Heartbeat(Default::default())),
    };
    tx.send(beat.clone()).await.unwrap();
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the removed node's session did not end"
        );
        let _ = tx.try_send(beat.clone());
        match tokio::time::timeout(Duration::from_millis(200), open.message()).await {
            Ok(Ok(Some(_))) | Err(_) => continue,
            Ok(_) => break,
        }
    }
    for _ in 0..TRIES {
        let channel = n1.endpoint(&addr).unwrap().connect().await.unwrap();
        let refused = DispatcherClient::new(channel)
            .session(futures::stream::iter([hello()]))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
        assert!(
            refused.message().contains("removed"),
            "{}",
            refused.message()
        );
        let renewal = bosun_shared::pki::join::renew(std::slice::from_ref(&addr), &n1, "n1").await;
        let e = renewal
            .expect_err("a revoked certificate was renewed")
            .to_string();
        assert!(e.contains("removed"), "{e}");
    }

    // With a new token it joins again: a certificate issued after the removal is accepted.
    let token = JoinToken::generate(&m.pki.ca_hash().unwrap());
    let record = TokenRecord::of(&token, Role::Node, None, "rejoin").to_secret();
    admin.create(&Object::Secret(record)).await.unwrap();
    wait_for("n1 back with a new certificate", DEADLINE, || async {
        let fresh = join(std::slice::from_ref(&addr), &token, "n1", DEADLINE)
            .await
            .ok()?;
        let channel = fresh.endpoint(&addr).ok()?.connect().await.ok()?;
        DispatcherClient::new(channel)
            .session(futures::stream::iter([hello()]))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_requests_get_clear_errors_and_the_master_keeps_serving() {
    use bosun_proto::v1::api_client::ApiClient;
    use bosun_proto::v1::certificates_client::CertificatesClient;
    use bosun_proto::v1::{IssueRequest, ObjectRequest};

    let c = Cluster::start(1, Default::default()).await;
    let addr = c.nodes[0].addr.to_string();
    let admin = c.credentials().clone();

    // A join request far past its 64 KiB limit, from a caller without a certificate.
    let anonymous = with_identity(&c, None);
    let channel = anonymous.endpoint(&addr).unwrap().connect().await.unwrap();
    let huge = IssueRequest {
        token: "x".repeat(200 * 1024),
        ..Default::default()
    };
    let refused = CertificatesClient::new(channel)
        .issue(huge)
        .await
        .unwrap_err();
    assert!(
        matches!(refused.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{refused:?}"
    );
    assert!(
        refused.message().contains("too large"),
        "{}",
        refused.message()
    );

    // An object past the API's 64 MiB limit.
    let channel = admin.endpoint(&addr).unwrap().connect().await.unwrap();
    let mut api = ApiClient::new(channel).max_encoding_message_size(usize::MAX);
    let refused = api
        .create(ObjectRequest {
            object: vec![b' '; 65 * 1024 * 1024],
            dry_run: false,
        })
        .await
        .unwrap_err();
    assert!(
        refused.message().contains("too large"),
        "{}",
        refused.message()
    );

    // Malformed JSON: the error says what is wrong with it.
    let refused = api
        .create(ObjectRequest {
            object: b"{\"kind\": \"Pod\", \"metadata\": ".to_vec(),
            dry_run: false,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument, "{refused:?}");

    // And the master still serves.
    let client = c.client(0).await;
    client.version().await.expect("still serving");
    client.create(&pod("after")).await.expect("still writing");
}
