//! In-process clusters of masters on real gRPC sockets, with a shared fault plan.
#![allow(dead_code)]
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bosun_agent::agent::{Agent, AgentConfig};
use bosun_agent::runtime::fake::FakeRuntime;
use bosun_master::peers::Faults;
use bosun_master::pki::MasterPki;
use bosun_master::server::{Master, MasterConfig};
use bosun_master::store::{Compaction, RaftStatus};
use bosun_shared::client::Client;
use bosun_shared::pki::tls::Credentials;
use bosun_shared::pki::{JoinToken, Role};
use bosun_shared::pod::Pod;
use bosun_shared::Object;
use tokio_util::sync::CancellationToken;

pub const DEADLINE: Duration = Duration::from_secs(30);

pub struct Node {
    pub name: String,
    pub dir: PathBuf,
    pub addr: SocketAddr,
    pub shutdown: CancellationToken,
    pub master: Option<Master>,
}

pub struct Cluster {
    pub nodes: Vec<Node>,
    pub faults: Arc<Faults>,
    pub compaction: Compaction,
    /// An administrator's credentials, issued by the first master's CA.
    pub admin: Option<Credentials>,
    /// The first master's master join token, which the others join with.
    pub master_token: Option<JoinToken>,
    /// Applied to every master's configuration before it starts.
    configure: fn(&mut MasterConfig),
    _tmp: tempfile::TempDir,
}

/// Polls `f` every 50 ms until it returns `Some`, or fails naming `what`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = tokio::time::Instant::now() + deadline;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < end,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn pod(name: &str) -> Object {
    let mut p = Pod::default();
    p.metadata.name = name.into();
    p.metadata.namespace = "default".into();
    p.spec.containers.push(bosun_shared::pod::Container {
        name: "c".into(),
        image: "img".into(),
        ..Default::default()
    });
    p.into()
}

/// Agent `n1` on an in-memory engine (4 CPUs, 8 GiB, holding image `img`), joining `masters`
/// with the node `token` and keeping its data in `data_dir`.
pub fn fake_agent(masters: Vec<String>, data_dir: PathBuf, token: JoinToken) -> Agent<FakeRuntime> {
    let engine = Arc::new(FakeRuntime::new(4000, 8 << 30));
    engine.add_image("img");
    Agent {
        config: AgentConfig {
            name: "n1".into(),
            masters,
            data_dir,
            labels: Default::default(),
            address: "10.0.0.1".into(),
            token: Some(token),
            credentials: None,
            simulated: false,
        },
        runtime: engine,
    }
}

impl Cluster {
    /// Starts `n` masters: the first bootstraps, the others join it; waits until all vote.
    pub async fn start(n: usize, compaction: Compaction) -> Cluster {
        Self::start_configured(n, compaction, |_| {}).await
    }

    /// Like [`start`](Self::start), with `configure` applied to every master's configuration.
    pub async fn start_configured(
        n: usize,
        compaction: Compaction,
        configure: fn(&mut MasterConfig),
    ) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Cluster {
            nodes: vec![],
            faults: Arc::new(Faults::default()),
            compaction,
            admin: None,
            master_token: None,
            configure,
            _tmp: tmp,
        };
        for i in 0..n {
            let name = format!("m{}", i + 1);
            let dir = c._tmp.path().join(&name);
            let join = if i == 0 {
                vec![]
            } else {
                vec![c.nodes[0].addr.to_string()]
            };
            let node = c
                .launch(&name, dir.clone(), "127.0.0.1:0".parse().unwrap(), join)
                .await;
            if i == 0 {
                let m = node.master.as_ref().expect("just started");
                c.admin = Some(m.pki.admin_credentials(&m.store, "admin").unwrap());
                c.master_token = MasterPki::initial_tokens(&dir)
                    .into_iter()
                    .find(|(role, _)| *role == Role::Master)
                    .map(|(_, t)| t);
            }
            c.nodes.push(node);
        }
        c.wait_voters(n).await;
        c
    }

    async fn launch(
        &self,
        name: &str,
        dir: PathBuf,
        listen: SocketAddr,
        join: Vec<String>,
    ) -> Node {
        let shutdown = CancellationToken::new();
        let mut config = MasterConfig::new(name, listen, dir.clone());
        config.join = join;
        config.token = self.master_token.clone();
        config.compaction = self.compaction;
        config.faults = self.faults.clone();
        (self.configure)(&mut config);
        let master = Master::start(config, shutdown.clone())
            .await
            .expect("master starts");
        Node {
            name: name.into(),
            dir,
            addr: master.addr,
            shutdown,
            master: Some(master),
        }
    }

    pub fn status(&self, i: usize) -> Option<RaftStatus> {
        self.nodes[i].master.as_ref().map(|m| m.store.status())
    }

    pub fn ids(&self) -> Vec<u64> {
        (0..self.nodes.len())
            .filter_map(|i| self.status(i).map(|s| s.id))
            .collect()
    }

    pub async fn wait_voters(&self, n: usize) {
        wait_for("every master to vote", DEADLINE, || async {
            let s = self.nodes.iter().find_map(|x| {
                x.master
                    .as_ref()
                    .map(|m| m.store.status())
                    .filter(|s| s.is_leader)
            })?;
            (s.voters.len() == n && s.learners.is_empty() && !s.joint).then_some(())
        })
        .await
    }

    /// The index of the leader among running masters, waiting for one.
    pub async fn leader(&self) -> usize {
        wait_for("a leader", DEADLINE, || async {
            (0..self.nodes.len()).find(|i| self.status(*i).is_some_and(|s| s.is_leader))
        })
        .await
    }

    /// The administrator's credentials.
    pub fn credentials(&self) -> &Credentials {
        self.admin.as_ref().expect("the first master issued them")
    }

    pub async fn client(&self, i: usize) -> Client {
        Client::connect(&self.nodes[i].addr.to_string(), self.credentials())
            .await
            .expect("client connects")
    }

    /// Stops master `i` (as a crash would: no goodbye to peers).
    pub async fn kill(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        node.shutdown.cancel();
        if let Some(m) = node.master.take() {
            m.stopped().await;
        }
        // `stopped` returns once the Raft thread has released the data directory.
    }

    /// Restarts master `i` on its data directory and address.
    pub async fn restart(&mut self, i: usize) {
        let (name, dir, addr) = (
            self.nodes[i].name.clone(),
            self.nodes[i].dir.clone(),
            self.nodes[i].addr,
        );
        self.nodes[i] = self.launch(&name, dir, addr, vec![]).await;
    }

    pub async fn stop_all(&mut self) {
        for i in 0..self.nodes.len() {
            if self.nodes[i].master.is_some() {
                self.kill(i).await;
            }
        }
    }
}

impl Cluster {
    /// Creates `obj` through whichever master leads, retrying while leadership moves (a write
    /// whose outcome was unknown and that did happen shows up as AlreadyExists).
    pub async fn create_retrying(&self, obj: &Object) {
        let name = obj.meta().name.clone();
        wait_for(&format!("the write of {name}"), DEADLINE, || async {
            let client = self.client(self.leader().await).await;
            match client.create(obj).await {
                Ok(_) | Err(bosun_shared::client::ClientError::AlreadyExists(_)) => Some(()),
                Err(_) => None,
            }
        })
        .await
    }
}
