//! [`Master`]: one master process: store, gRPC services on one listener, leader-only controllers.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::api_server::ApiServer;
use bosun_proto::v1::certificates_server::CertificatesServer;
use bosun_proto::v1::cluster_client::ClusterClient;
use bosun_proto::v1::cluster_server::ClusterServer;
use bosun_proto::v1::dispatcher_server::DispatcherServer;
use bosun_proto::v1::raft_server::RaftServer;
use bosun_proto::v1::JoinRequest;
use bosun_shared::pki::tls::Credentials;
use bosun_shared::pki::JoinToken;
use bosun_shared::seal::{DataKey, Keyring};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::interceptor::InterceptedService;
use tracing::{info, warn};

use crate::api::ApiService;
use crate::cluster::ClusterService;
use crate::controllers::Manager;
use crate::dispatcher::{DispatcherService, Registry};
use crate::peers::clients::PeerChannels;
use crate::peers::service::RaftService;
use crate::peers::{Faults, GrpcTransport};
use crate::pki::authz::{self, Allow};
use crate::pki::issue::{CertificateService, SecretsBootstrap};
use crate::pki::MasterPki;
use crate::store::{Compaction, Member, Membership, SledStorage, Store, StoreError};

/// Largest gRPC message accepted (objects and lists travel as JSON).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// Largest membership request (a name and an address).
const CLUSTER_MESSAGE_BYTES: usize = 1024 * 1024;
/// Largest join or renewal request and answer (a token, a name, a CSR; a certificate). Anyone
/// may send one, so it stays small.
const JOIN_MESSAGE_BYTES: usize = 64 * 1024;
/// How long a new master keeps trying to join its cluster.
const JOIN_DEADLINE: Duration = Duration::from_secs(60);

/// How to run a master.
#[derive(Clone)]
pub struct MasterConfig {
    /// Name of this master (defaults to the host name); unique among the masters.
    pub name: String,
    /// Address of the client API, agent sessions and peer traffic (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Address other masters, agents and clients reach this one at (default: `listen`, or
    /// this machine's address when listening on every interface).
    pub advertise: Option<String>,
    /// Where the store lives.
    pub data_dir: PathBuf,
    /// Masters of an existing cluster to join when the data directory is new.
    pub join: Vec<String>,
    /// The master join token that admits this master (needed with `join` until this master
    /// holds a certificate).
    pub token: Option<JoinToken>,
    /// When the Raft log is compacted.
    pub compaction: Compaction,
    /// Faults injected into the peer transport (tests); none by default.
    pub faults: Arc<Faults>,
    /// How long the node certificates this master issues are valid.
    pub node_cert_validity: Duration,
    /// How long masters' certificates are valid (renewed at two thirds of it).
    pub master_cert_validity: Duration,
}

impl MasterConfig {
    pub fn new(name: &str, listen: SocketAddr, data_dir: PathBuf) -> Self {
        MasterConfig {
            name: name.to_string(),
            listen,
            advertise: None,
            data_dir,
            join: vec![],
            token: None,
            compaction: Compaction::default(),
            faults: Arc::default(),
            node_cert_validity: crate::pki::NODE_CERT_VALIDITY,
            master_cert_validity: crate::pki::MASTER_CERT_VALIDITY,
        }
    }
}

/// Why a master could not start.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    /// The cluster's data key (Secrets at rest) could not be read, made or received.
    #[error("data key: {0}")]
    DataKey(String),
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("joining the cluster through {targets}: {message}")]
    Join { targets: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Pki(#[from] bosun_shared::pki::PkiError),
    #[error("joining the cluster")]
    Certificate(#[from] bosun_shared::pki::join::JoinError),
    #[error("joining the cluster through {0}: this master has no certificate yet; start it with --token and a master join token (the first master's <data-dir>/master-token, or `bosun token create --role master`)")]
    NoToken(String),
}

/// A running master.
pub struct Master {
    /// The address it actually listens on.
    pub addr: SocketAddr,
    /// The address it is known by.
    pub advertised: String,
    pub store: Store,
    /// Its credentials and the cluster CA.
    pub pki: Arc<MasterPki>,
    /// The agents connected to it.
    pub registry: Arc<Registry>,
    tasks: TaskTracker,
}

/// The address to advertise when none is given: the listen address, unless it is a wildcard.
fn default_advertise(listen: SocketAddr, join: &[String]) -> String {
    if !listen.ip().is_unspecified() {
        return listen.to_string();
    }
    // The local address used to reach a master we join, else the loopback.
    let ip = join
        .first()
        .and_then(|target| {
            let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
            s.connect(target.as_str()).ok()?;
            s.local_addr().ok().map(|a| a.ip())
        })
        .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
    SocketAddr::new(ip, listen.port()).to_string()
}

/// Asks the cluster to add this master; retries until a leader answers.
async fn join(
    targets: &[String],
    name: &str,
    address: &str,
    credentials: &Credentials,
) -> Result<(Membership, DataKey), MasterError> {
    let err = |message: String| MasterError::Join {
        targets: targets.join(","),
        message,
    };
    let deadline = tokio::time::Instant::now() + JOIN_DEADLINE;
    let mut last = String::from("no master address given");
    while tokio::time::Instant::now() < deadline {
        for target in targets {
            let answer = async {
                let channel = credentials
                    .endpoint(target)
                    .map_err(|e| e.to_string())?
                    .connect()
                    .await
                    .map_err(|e| e.to_string())?;
                let mut c = ClusterClient::new(channel);
                c.join(JoinRequest {
                    name: name.to_string(),
                    address: address.to_string(),
                })
                .await
                .map_err(|s| s.message().to_string())
            };
            match answer.await {
                Ok(r) => {
                    let r = r.into_inner();
                    info!(id = r.id, through = %target, "joined the cluster");
                    let members = r
                        .members
                        .into_iter()
                        .map(|m| Member {
                            id: m.id,
                            name: m.name,
                            address: m.address,
                        })
                        .collect();
                    let key = DataKey::from_file_text(&r.data_key)
                        .map_err(|e| err(format!("the cluster's data key from {target}: {e}")))?;
                    return Ok((Membership::Joined { id: r.id, members }, key));
                }
                Err(e) => {
                    warn!(through = %target, error = %e, "join not accepted yet");
                    last = e;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(err(last))
}

impl Master {
    /// Opens the store (joining a cluster if asked and new), binds the listener and starts
    /// serving; everything stops on `shutdown`.
    pub async fn start(
        config: MasterConfig,
        shutdown: CancellationToken,
    ) -> Result<Master, MasterError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| MasterError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MasterError::Listen {
                addr: config.listen,
                source,
            })?;
        let advertised = config
            .advertise
            .clone()
            .unwrap_or_else(|| default_advertise(addr, &config.join));
        let storage = SledStorage::open(&config.data_dir)?;
        let member = storage.id()?.is_some();
        let pki = match MasterPki::load(&config.data_dir)? {
            Some(p) => p,
            // A new cluster, or a one-master cluster from before certificates existed.
            None if config.join.is_empty() => {
                MasterPki::bootstrap(&config.data_dir, &config.name, config.master_cert_validity)?
            }
            None => {
                let targets = config.join.join(",");
                let token = config.token.as_ref().ok_or(MasterError::NoToken(targets))?;
                let credentials =
                    bosun_shared::pki::join::join(&config.join, token, &config.name, JOIN_DEADLINE)
                        .await?;
                MasterPki::joined(&config.data_dir, credentials)?
            }
        };
        let pki = Arc::new(pki);
        let key_path = config.data_dir.join("pki").join("data.key");
        let stored_key =
            || DataKey::load_or_create(&key_path).map_err(|e| MasterError::DataKey(e.to_string()));
        let (membership, data_key) = match member {
            // Already a member: resume, with the key it has. One from before data keys makes
            // one only if it is its group's only master; with others, they must all share one
            // key, so it must be given theirs.
            true if key_path.exists() => (None, stored_key()?),
            true => {
                let members = storage.load()?.members.len();
                if members > 1 {
                    return Err(MasterError::DataKey(format!(
                        "{} is missing and this master has {} peers: copy pki/data.key from one of them",
                        key_path.display(),
                        members - 1
                    )));
                }
                (None, stored_key()?)
            }
            false if config.join.is_empty() => (
                Some(Membership::Bootstrap(Member {
                    id: 1,
                    name: config.name.clone(),
                    address: advertised.clone(),
                })),
                stored_key()?,
            ),
            false => {
                let (m, key) = join(
                    &config.join,
                    &config.name,
                    &advertised,
                    &pki.credentials.get(),
                )
                .await?;
                let saved = key
                    .save(&key_path)
                    .map_err(|e| MasterError::DataKey(e.to_string()))?;
                if saved.id() != key.id() {
                    return Err(MasterError::DataKey(format!(
                        "{} holds key {} but the cluster's is {}: remove the file or this data directory",
                        key_path.display(),
                        saved.id(),
                        key.id()
                    )));
                }
                (Some(m), saved)
            }
        };
        let data_key = Arc::new(data_key);
        storage.set_keyring(Arc::new(Keyring::new((*data_key).clone())));
        let tasks = TaskTracker::new();
        let runtime = tokio::runtime::Handle::current();
        let (faults, transport_tasks, transport_shutdown) =
            (config.faults.clone(), tasks.clone(), shutdown.clone());
        let my_address = advertised.clone();
        let peer_credentials = pki.credentials.clone();
        let store = Store::open(
            storage,
            membership,
            move |me, inbox, members| {
                GrpcTransport::new(
                    me,
                    my_address,
                    members,
                    inbox,
                    faults,
                    peer_credentials,
                    transport_tasks,
                    runtime,
                    transport_shutdown,
                )
            },
            config.compaction,
            shutdown.clone(),
        )?;
        tasks.spawn(crate::starvation::watch(shutdown.clone()));
        let registry = Arc::new(Registry::default());
        let peers = Arc::new(PeerChannels::new(pki.credentials.clone()));
        let writer = crate::peers::Writer::new(store.clone(), peers.clone());
        let (events, event_queue) = crate::events::Recorder::channel();
        tasks.spawn(
            crate::events::EventWriter {
                store: store.clone(),
                writer: writer.clone(),
                rx: event_queue,
            }
            .run(shutdown.clone()),
        );
        let (reaches_tx, reaches_leader) = tokio::sync::watch::channel(true);
        tasks.spawn(
            crate::dispatcher::beats::BeatForwarder {
                store: store.clone(),
                registry: registry.clone(),
                peers: peers.clone(),
                address: advertised.clone(),
                reaches_leader: reaches_tx,
            }
            .run(shutdown.clone()),
        );
        let api = ApiService {
            store: store.clone(),
            registry: registry.clone(),
            name: config.name.clone(),
            peers: peers.clone(),
            shutdown: shutdown.clone(),
        };
        let hub = crate::dispatcher::hub::Hub::default();
        tasks.spawn(hub.clone().run(store.clone(), shutdown.clone()));
        let dispatcher = DispatcherService {
            store: store.clone(),
            registry: registry.clone(),
            hub,
            events: events.clone(),
            writer,
            reaches_leader,
            tasks: tasks.clone(),
            shutdown: shutdown.clone(),
        };
        let cluster = ClusterService {
            store: store.clone(),
            peers: peers.clone(),
            join_lock: Arc::default(),
            data_key: data_key.clone(),
        };
        let raft = RaftService {
            store: store.clone(),
            registry: registry.clone(),
            shutdown: shutdown.clone(),
        };
        let certificates = CertificateService {
            store: store.clone(),
            pki: pki.clone(),
            node_validity: config.node_cert_validity,
            master_validity: config.master_cert_validity,
        };
        let allow = |service, roles| Allow {
            service,
            roles,
            store: store.clone(),
        };
        let server = tonic::transport::Server::builder()
            // Dead clients (power loss, partition) are noticed within 15 s; agents sooner, by
            // their heartbeats. Pings every second to 1,000 agents were 1,000 frames a second
            // for the leader, and a 3 s timeout cut the sessions of a starved (not dead) agent.
            .http2_keepalive_interval(Some(Duration::from_secs(5)))
            .http2_keepalive_timeout(Some(Duration::from_secs(10)))
            .add_service(InterceptedService::new(
                ApiServer::new(api)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                allow("Api", authz::API),
            ))
            .add_service(InterceptedService::new(
                DispatcherServer::new(dispatcher)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                allow("Dispatcher", authz::DISPATCHER),
            ))
            .add_service(InterceptedService::new(
                RaftServer::new(raft)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                allow("Raft", authz::RAFT),
            ))
            .add_service(InterceptedService::new(
                ClusterServer::new(cluster)
                    .max_decoding_message_size(CLUSTER_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                allow("Cluster", authz::CLUSTER),
            ))
            // A signing request and a token: small. Anyone may ask, so keep it small.
            .add_service(
                CertificatesServer::new(certificates)
                    .max_decoding_message_size(JOIN_MESSAGE_BYTES)
                    .max_encoding_message_size(JOIN_MESSAGE_BYTES),
            )
            .serve_with_incoming_shutdown(
                crate::pki::listener::incoming(
                    listener,
                    pki.server.clone(),
                    &tasks,
                    shutdown.clone(),
                ),
                shutdown.clone().cancelled_owned(),
            );
        tasks.spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "gRPC server failed");
            }
        });
        tasks.spawn(
            crate::pki::renew::MasterRenewer {
                pki: pki.clone(),
                store: store.clone(),
                peers: peers.clone(),
                valid_for: config.master_cert_validity,
            }
            .run(shutdown.clone()),
        );
        let secrets = SecretsBootstrap {
            store: store.clone(),
            pki: pki.clone(),
            initial_tokens: MasterPki::initial_tokens(&config.data_dir),
        };
        if !member && config.join.is_empty() {
            // A new cluster: its CA and first tokens are stored before anyone is told the
            // tokens (a machine joining at once must find them).
            secrets.run(shutdown.clone()).await;
        } else {
            tasks.spawn(secrets.run(shutdown.clone()));
        }
        tasks.spawn(
            Manager {
                store: store.clone(),
                registry: registry.clone(),
                events,
            }
            .run(shutdown.clone()),
        );
        info!(name = %config.name, %addr, %advertised, data_dir = %config.data_dir.display(), "master started");
        Ok(Master {
            addr,
            advertised,
            store,
            pki,
            registry,
            tasks,
        })
    }

    /// Waits until every task of the master has stopped (after `shutdown` was cancelled).
    pub async fn stopped(self) {
        self.tasks.close();
        self.tasks.wait().await;
        self.store.wait_closed().await;
    }
}
