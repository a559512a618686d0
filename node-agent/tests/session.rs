//! The agent's session against a master on a real gRPC socket that stops answering while
//! its connection stays up (HTTP/2 keepalives still answered): the agent must notice the
//! silence and open a new session, and must not leave a master that keeps acknowledging.
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bosun_agent::board::StatusBoard;
use bosun_agent::desired::DesiredPods;
use bosun_agent::events::EventLog;
use bosun_agent::runtime::fake::FakeRuntime;
use bosun_agent::session::SessionClient;
use bosun_proto::v1::dispatcher_server::{Dispatcher, DispatcherServer};
use bosun_proto::v1::{
    agent_message, master_message, AgentMessage, HeartbeatAck, MasterMessage, SessionConfig,
};
use bosun_shared::pki::tls::{Credentials, CurrentCredentials};
use bosun_shared::pki::{Ca, Role};
use futures::{Stream, StreamExt};
use tokio::sync::mpsc;
use tokio_stream::wrappers::{ReceiverStream, TcpListenerStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::ServerTlsConfig;
use tonic::{Request, Response, Status, Streaming};

/// A master that acknowledges heartbeats until `silent` is set, then says nothing more while
/// keeping every stream open.
#[derive(Clone, Default)]
struct Fake {
    sessions: Arc<AtomicUsize>,
    silent: Arc<AtomicBool>,
}

fn msg(m: master_message::Msg) -> MasterMessage {
    MasterMessage { msg: Some(m) }
}

#[tonic::async_trait]
impl Dispatcher for Fake {
    type SessionStream = Pin<Box<dyn Stream<Item = Result<MasterMessage, Status>> + Send>>;

    async fn session(
        &self,
        request: Request<Streaming<AgentMessage>>,
    ) -> Result<Response<Self::SessionStream>, Status> {
        self.sessions.fetch_add(1, Ordering::SeqCst);
        let mut inbound = request.into_inner();
        let (tx, rx) = mpsc::channel(64);
        let silent = self.silent.clone();
        tokio::spawn(async move {
            let config = SessionConfig {
                heartbeat_interval_ms: 100,
            };
            let _ = tx.send(msg(master_message::Msg::Config(config))).await;
            while let Some(Ok(m)) = inbound.next().await {
                if matches!(m.msg, Some(agent_message::Msg::Heartbeat(_)))
                    && !silent.load(Ordering::SeqCst)
                {
                    let _ = tx
                        .send(msg(master_message::Msg::HeartbeatAck(HeartbeatAck {})))
                        .await;
                }
            }
            // Holds `tx` (the response stream) open until the agent goes away.
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx).map(Ok))))
    }
}

async fn wait_until(what: &str, deadline: Duration, cond: impl Fn() -> bool) {
    let start = tokio::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn an_agent_leaves_a_master_that_went_silent() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let fake = Fake::default();
    let shutdown = CancellationToken::new();
    // A master certificate of a test CA, as the real masters serve (TLS only).
    let day = Duration::from_secs(86_400);
    let ca = Ca::generate("test").unwrap();
    let master = ca.issue_key(Role::Master, "m1", day).unwrap();
    let tls = ServerTlsConfig::new().identity(tonic::transport::Identity::from_pem(
        &master.cert_pem,
        &master.key_pem,
    ));
    let server = tonic::transport::Server::builder()
        .tls_config(tls)
        .unwrap()
        .add_service(DispatcherServer::new(fake.clone()))
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(listener),
            shutdown.clone().cancelled_owned(),
        );
    let server = tokio::spawn(server);

    let dir = tempfile::tempdir().unwrap();
    let client = SessionClient {
        node: "n1".into(),
        masters: vec![addr.to_string()],
        runtime: Arc::new(FakeRuntime::new(1000, 1 << 30)),
        desired: Arc::new(DesiredPods::load(dir.path())),
        board: Arc::new(StatusBoard::default()),
        events: Arc::new(EventLog::default()),
        node_object: br#"{"apiVersion":"v1","kind":"Node","metadata":{"name":"n1"}}"#.to_vec(),
        credentials: CurrentCredentials::new(Credentials {
            ca_pem: ca.cert_pem().to_string(),
            identity: Some(ca.issue_key(Role::Node, "n1", day).unwrap()),
        }),
    };
    let agent = tokio::spawn(client.run(shutdown.clone()));

    let sessions = || fake.sessions.load(Ordering::SeqCst);
    wait_until("the first session", Duration::from_secs(10), || {
        sessions() == 1
    })
    .await;
    // Acknowledged for longer than the silence limit (3 s at 100 ms heartbeats): one session.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(sessions(), 1, "the agent left a master that was answering");

    fake.silent.store(true, Ordering::SeqCst);
    let silenced = tokio::time::Instant::now();
    wait_until("a new session", Duration::from_secs(15), || sessions() == 2).await;
    let took = silenced.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "reconnected after {took:?}, before the master had been silent for long"
    );

    shutdown.cancel();
    agent.await.unwrap();
    server.await.unwrap().unwrap();
}
