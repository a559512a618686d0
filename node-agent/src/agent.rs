//! [`Agent`]: registers the node, keeps the session, runs the reconciler.
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bosun_shared::node::{Node, NodeAddress, NodeInfo, NodeStatus};
use bosun_shared::pki::tls::Credentials;
use bosun_shared::pki::JoinToken;
use bosun_shared::quantity::Quantity;
use bosun_shared::Object;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::info;

use crate::board::StatusBoard;
use crate::desired::DesiredPods;
use crate::reconciler::Reconciler;
use crate::runtime::{Runtime, RuntimeError};
use crate::session::SessionClient;

/// How to run an agent.
#[derive(Debug, Clone)]
pub struct AgentConfig {
    /// Node name (defaults to the host name).
    pub name: String,
    /// `http://host:port` of every master (the agent follows the leader among them).
    pub masters: Vec<String>,
    /// Where assignments are kept.
    pub data_dir: PathBuf,
    /// Labels of the node (`--label k=v`).
    pub labels: BTreeMap<String, String>,
    /// Address other machines reach this node at (reported as InternalIP).
    pub address: String,
    /// Join token, for a node without a certificate yet.
    pub token: Option<JoinToken>,
    /// A simulated node (`bosun hollow`): its assignments are written without `fsync`.
    pub simulated: bool,
    /// Credentials handed over directly (`bosun up`: the master in the same process issued
    /// them); otherwise they are read from the data directory or made by joining.
    pub credentials: Option<Credentials>,
}

/// Why an agent stopped.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Credentials(#[from] crate::join::CredentialError),
}

pub struct Agent<R: Runtime> {
    pub config: AgentConfig,
    pub runtime: Arc<R>,
}

/// Maximum pods per node, as reported in capacity.
const MAX_PODS: &str = "110";

impl<R: Runtime> Agent<R> {
    /// Runs until `shutdown`. Containers are never stopped by shutting the agent down.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), AgentError> {
        std::fs::create_dir_all(&self.config.data_dir).map_err(|e| {
            RuntimeError::Engine(format!(
                "data directory {}: {e}",
                self.config.data_dir.display()
            ))
        })?;
        let credentials = match self.config.credentials.clone() {
            Some(c) => c,
            None => {
                crate::join::credentials(
                    &self.config.data_dir,
                    &self.config.name,
                    &self.config.masters,
                    self.config.token.as_ref(),
                    &shutdown,
                )
                .await?
            }
        };
        let credentials = bosun_shared::pki::tls::CurrentCredentials::new(credentials);
        let node = self.node_object().await?;
        let desired = Arc::new(DesiredPods::load_with(
            &self.config.data_dir,
            !self.config.simulated,
        ));
        let board = Arc::new(StatusBoard::default());
        info!(node = %self.config.name, masters = ?self.config.masters, pods = desired.snapshot().len(), "agent started");
        let tasks = TaskTracker::new();
        tasks.spawn(desired.clone().run_saver(shutdown.clone()));
        let reconciler = Reconciler::new(
            self.config.name.clone(),
            self.config.address.clone(),
            self.runtime.clone(),
            desired.clone(),
            board.clone(),
        );
        let events = reconciler.events();
        tasks.spawn(reconciler.run(shutdown.clone()));
        tasks.spawn(
            crate::renew::Renewer {
                node: self.config.name.clone(),
                masters: self.config.masters.clone(),
                dir: self.config.data_dir.join("pki"),
                credentials: credentials.clone(),
            }
            .run(shutdown.clone()),
        );
        let session = SessionClient {
            events,
            node: self.config.name.clone(),
            masters: self.config.masters.clone(),
            runtime: self.runtime.clone(),
            desired,
            board,
            node_object: node.to_json(),
            credentials: credentials.clone(),
        };
        tasks.spawn(session.run(shutdown.clone()));
        tasks.close();
        tasks.wait().await;
        Ok(())
    }

    /// The Node this agent registers: name, labels, capacity and engine info.
    async fn node_object(&self) -> Result<Object, RuntimeError> {
        let info = self.runtime.info().await?;
        let mut labels = self.config.labels.clone();
        labels.insert("kubernetes.io/hostname".into(), self.config.name.clone());
        labels.insert("kubernetes.io/os".into(), info.os.clone());
        labels.insert("kubernetes.io/arch".into(), go_arch(&info.arch).to_string());
        let capacity = BTreeMap::from([
            (
                "cpu".to_string(),
                Quantity(bosun_shared::quantity::format_millis(info.cpu_millis)),
            ),
            (
                "memory".to_string(),
                Quantity(info.memory_bytes.to_string()),
            ),
            ("pods".to_string(), Quantity(MAX_PODS.to_string())),
        ]);
        let mut node = Node::default();
        node.metadata.name = self.config.name.clone().into();
        node.metadata.labels = labels
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        node.status = Some(NodeStatus {
            allocatable: capacity.clone(),
            capacity,
            conditions: vec![],
            addresses: vec![
                NodeAddress {
                    type_: "InternalIP".into(),
                    address: self.config.address.clone(),
                },
                NodeAddress {
                    type_: "Hostname".into(),
                    address: self.config.name.clone(),
                },
            ],
            node_info: NodeInfo {
                architecture: info.arch,
                operating_system: info.os,
                container_runtime_version: info.version,
                kubelet_version: format!("bosun-{}", env!("CARGO_PKG_VERSION")),
            },
        });
        Ok(node.into())
    }
}

/// Kubernetes names architectures as Go does (`amd64`, `arm64`); Docker reports `x86_64`.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" => "arm",
        other => other,
    }
}
