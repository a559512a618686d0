//! [`Master`]: one master process: store, gRPC services on one listener, leader-only controllers.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use bosun_proto::v1::api_server::ApiServer;
use bosun_proto::v1::dispatcher_server::DispatcherServer;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::api::ApiService;
use crate::controllers::Manager;
use crate::dispatcher::{DispatcherService, Registry};
use crate::store::{Store, StoreError};

/// Largest gRPC message accepted (objects and lists travel as JSON).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// How to run a master.
#[derive(Debug, Clone)]
pub struct MasterConfig {
    /// Name of this master (defaults to the host name).
    pub name: String,
    /// Address of the client API and agent sessions (port 0 picks a free port).
    pub listen: SocketAddr,
    /// Where the store lives.
    pub data_dir: PathBuf,
}

/// Why a master could not start.
#[derive(Debug, thiserror::Error)]
pub enum MasterError {
    #[error("listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A running master.
pub struct Master {
    /// The address it actually listens on.
    pub addr: SocketAddr,
    pub store: Store,
    tasks: TaskTracker,
}

impl Master {
    /// Opens the store, binds the listener and starts serving; everything stops on `shutdown`.
    pub async fn start(
        config: MasterConfig,
        shutdown: CancellationToken,
    ) -> Result<Master, MasterError> {
        let store = Store::open_single(&config.data_dir, shutdown.clone())?;
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
        let registry = Arc::new(Registry::default());
        let tasks = TaskTracker::new();
        let api = ApiService {
            store: store.clone(),
            registry: registry.clone(),
            name: config.name.clone(),
        };
        let dispatcher = DispatcherService {
            store: store.clone(),
            registry: registry.clone(),
            tasks: tasks.clone(),
            shutdown: shutdown.clone(),
        };
        let server = tonic::transport::Server::builder()
            .add_service(
                ApiServer::new(api)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
            )
            .add_service(DispatcherServer::new(dispatcher))
            .serve_with_incoming_shutdown(
                TcpListenerStream::new(listener),
                shutdown.clone().cancelled_owned(),
            );
        tasks.spawn(async move {
            if let Err(e) = server.await {
                tracing::error!(error = %e, "gRPC server failed");
            }
        });
        tasks.spawn(
            Manager {
                store: store.clone(),
                registry,
            }
            .run(shutdown.clone()),
        );
        tasks.close();
        info!(name = %config.name, %addr, data_dir = %config.data_dir.display(), "master started");
        Ok(Master { addr, store, tasks })
    }

    /// Waits until every task of the master has stopped (after `shutdown` was cancelled).
    pub async fn stopped(self) {
        self.tasks.wait().await;
    }
}
