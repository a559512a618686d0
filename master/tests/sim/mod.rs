//! [`Sim`]: one in-process master on a real gRPC socket and simulated nodes: in-process
//! agents, each with its own in-memory engine (`FakeRuntime`), speaking the real session
//! protocol. What runs is read from the engines.
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bosun_agent::agent::{Agent, AgentConfig};
use bosun_agent::labels;
use bosun_agent::runtime::fake::{FakeContainer, FakeRuntime};
use bosun_agent::runtime::RunState;
use bosun_master::pki::MasterPki;
use bosun_master::server::{Master, MasterConfig};
use bosun_shared::client::Client;
use bosun_shared::pki::{JoinToken, Role};
use bosun_shared::{Kind, Object};
use tokio_util::sync::CancellationToken;

use crate::common::wait_for;

/// Long enough for a node to be declared lost (3 s) and its pods replaced, under load.
pub const DEADLINE: Duration = Duration::from_secs(60);
pub const NODES: usize = 20;

/// One simulated node: an agent process in this test, its engine, and how to stop it.
pub struct SimNode {
    pub name: String,
    pub engine: Arc<FakeRuntime>,
    pub stop: CancellationToken,
}

/// A master and its simulated nodes; everything stops when it drops.
pub struct Sim {
    pub client: Client,
    addr: String,
    /// The node join token the agents join with.
    token: JoinToken,
    pub nodes: Vec<SimNode>,
    shutdown: CancellationToken,
    _master: Master,
    dir: tempfile::TempDir,
}

impl Sim {
    pub async fn start(nodes: usize) -> Sim {
        let dir = tempfile::tempdir().unwrap();
        let shutdown = CancellationToken::new();
        let config = MasterConfig::new(
            "m1",
            "127.0.0.1:0".parse().unwrap(),
            dir.path().join("master"),
        );
        let master = Master::start(config, shutdown.clone())
            .await
            .expect("master starts");
        let addr = master.addr.to_string();
        let admin = master
            .pki
            .admin_credentials(&master.store, "admin")
            .unwrap();
        let client = Client::connect(&addr, &admin)
            .await
            .expect("client connects");
        let token = MasterPki::initial_tokens(&dir.path().join("master"))
            .into_iter()
            .find(|(role, _)| *role == Role::Node)
            .expect("the first master made a node token")
            .1;
        let mut sim = Sim {
            client,
            addr,
            token,
            nodes: vec![],
            shutdown,
            _master: master,
            dir,
        };
        for _ in 0..nodes {
            sim.add_node();
        }
        sim.wait_ready_nodes(nodes).await;
        sim
    }

    /// Starts another agent, `n<i>`, on a 4-CPU, 8 GiB engine holding `img:1` and `img:2`.
    pub fn add_node(&mut self) {
        let name = format!("n{}", self.nodes.len() + 1);
        let engine = Arc::new(FakeRuntime::new(4000, 8 << 30));
        engine.add_image("img:1");
        engine.add_image("img:2");
        let stop = self.shutdown.child_token();
        self.nodes.push(SimNode {
            name,
            engine: engine.clone(),
            stop: stop.clone(),
        });
        let agent = self.agent(self.nodes.len() - 1, engine);
        tokio::spawn(agent.run(stop));
    }

    /// The agent of node `i` on `engine`.
    fn agent(&self, i: usize, engine: Arc<FakeRuntime>) -> Agent<FakeRuntime> {
        let name = format!("n{}", i + 1);
        Agent {
            config: AgentConfig {
                masters: vec![self.addr.clone()],
                data_dir: self.dir.path().join(&name),
                labels: BTreeMap::new(),
                address: format!("10.0.0.{}", i + 1),
                name,
                token: Some(self.token.clone()),
                credentials: None,
                simulated: false,
            },
            runtime: engine,
        }
    }

    /// Stops the agent of node `i` and starts it again, on the same engine and data directory,
    /// after `outage`.
    pub async fn restart_node(&mut self, i: usize, outage: Duration) {
        self.nodes[i].stop.cancel();
        tokio::time::sleep(outage).await;
        let engine = self.nodes[i].engine.clone();
        let stop = self.shutdown.child_token();
        tokio::spawn(self.agent(i, engine).run(stop.clone()));
        self.nodes[i].stop = stop;
    }

    /// The index of the node running the most containers of pods named `prefix…`.
    pub fn busiest_node(&self, prefix: &str) -> usize {
        let running = self.running(prefix);
        (0..self.nodes.len())
            .max_by_key(|&i| running.iter().filter(|r| r.0 == self.nodes[i].name).count())
            .expect("at least one node")
    }

    pub async fn wait_ready_nodes(&self, n: usize) {
        wait_for(&format!("{n} nodes Ready"), DEADLINE, || async {
            let nodes = self.list(Kind::Node).await;
            let ready = nodes
                .iter()
                .filter_map(Object::as_node)
                .filter(|n| n.is_ready())
                .count();
            (ready == n).then_some(())
        })
        .await
    }

    pub async fn apply(&self, yaml: &str) {
        for parsed in bosun_shared::manifest::parse_manifests("test", yaml).expect("manifest") {
            self.client.apply(&parsed.object).await.expect("apply");
        }
    }

    pub async fn list(&self, kind: Kind) -> Vec<Object> {
        self.client
            .list(kind, None, None)
            .await
            .map(|(objects, _)| objects)
            .unwrap_or_default()
    }

    /// Running containers of pods whose name starts with `prefix`, read from the engines of
    /// the nodes still up, with their node.
    pub fn containers(&self, prefix: &str) -> Vec<(&SimNode, FakeContainer)> {
        let mut out = vec![];
        for node in self.nodes.iter().filter(|n| !n.stop.is_cancelled()) {
            for c in node.engine.containers() {
                let pod = c.spec.labels.get(labels::POD_NAME);
                if c.observed.state == RunState::Running
                    && pod.is_some_and(|p| p.starts_with(prefix))
                {
                    out.push((node, c));
                }
            }
        }
        out
    }

    /// [`Sim::containers`] as (node, pod name, image).
    pub fn running(&self, prefix: &str) -> Vec<(String, String, String)> {
        self.containers(prefix)
            .into_iter()
            .map(|(node, c)| {
                let pod = c
                    .spec
                    .labels
                    .get(labels::POD_NAME)
                    .cloned()
                    .unwrap_or_default();
                (node.name.clone(), pod, c.spec.image)
            })
            .collect()
    }

    /// Pods named `prefix…` the master reports Ready, with their image.
    pub async fn ready_pods(&self, prefix: &str) -> Vec<(String, String)> {
        self.list(Kind::Pod)
            .await
            .iter()
            .filter_map(Object::as_pod)
            .filter(|p| p.metadata.name.starts_with(prefix) && p.is_ready())
            .map(|p| {
                (
                    p.metadata.name.to_string(),
                    p.spec.containers[0].image.to_string(),
                )
            })
            .collect()
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
