//! The replicated object store: `kind/namespace/name -> object`, written through Raft,
//! persisted in sled, served from memory.
//!
//! - [`command`]: the batch of operations a Raft entry carries and its deterministic apply.
//! - [`state`]: objects in memory, watch history, live watchers.
//! - [`persist`]: raft-rs `Storage` and object persistence over sled.
//! - [`raft_node`]: the thread that owns the `RawNode` and runs the Ready loop.
//! - [`Store`]: the handle everything else uses.
pub mod command;
pub mod error;
pub mod key;
mod logger;
pub mod persist;
pub mod raft_node;
pub mod state;
mod watch;

use std::path::Path;
use std::sync::{Arc, RwLock};

use bosun_shared::selector::LabelSelector;
use bosun_shared::{Kind, Object};
use raft::eraftpb::ConfState;
use raft::RawNode;
use tokio::sync::{mpsc, oneshot, watch as tokio_watch};
use tokio_util::sync::CancellationToken;

pub use command::{Change, Command, EventType, Op};
pub use error::StoreError;
pub use raft_node::{RaftStatus, Transport};
pub use watch::WatchStream;

use persist::SledStorage;
use raft_node::{NoPeers, RaftLoop, RaftMsg, RAFT_INBOX_CAPACITY, TICK};
use state::StoreState;

/// Raft timing of DESIGN.md section 4: 100 ms ticks, heartbeat every tick, elections after 10.
fn raft_config(id: u64, applied: u64) -> raft::Config {
    raft::Config {
        id,
        election_tick: 10,
        heartbeat_tick: 1,
        applied,
        pre_vote: true,
        check_quorum: true,
        max_size_per_msg: 1024 * 1024,
        max_inflight_msgs: 256,
        ..Default::default()
    }
}

/// A handle on this master's store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inbox: mpsc::Sender<RaftMsg>,
    state: Arc<RwLock<StoreState>>,
    status: tokio_watch::Receiver<RaftStatus>,
}

impl Store {
    /// Opens the store in `data_dir` as a single-voter Raft group (`id` 1 on first start),
    /// starts the Raft thread and its ticker. Both stop when `shutdown` is cancelled.
    pub fn open_single(data_dir: &Path, shutdown: CancellationToken) -> Result<Store, StoreError> {
        Self::open(data_dir, 1, &[1], NoPeers, shutdown)
    }

    /// Opens the store with Raft id `id`; `voters` is the initial configuration of a new group.
    pub fn open<T: Transport>(
        data_dir: &Path,
        id: u64,
        voters: &[u64],
        transport: T,
        shutdown: CancellationToken,
    ) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Internal(format!("data directory {}: {e}", data_dir.display()))
        })?;
        let storage = SledStorage::open(data_dir)?;
        if storage.is_empty() {
            let cs = ConfState {
                voters: voters.to_vec(),
                ..Default::default()
            };
            storage.set_conf_state(&cs)?;
            storage.flush()?;
        }
        let (objects, applied) = storage.load_objects()?;
        let state = Arc::new(RwLock::new(StoreState::new(objects, applied)));
        let mut node = RawNode::new(
            &raft_config(id, applied),
            storage.clone(),
            &logger::logger(),
        )
        .map_err(|e| StoreError::Internal(format!("raft: {e}")))?;
        if voters == [id] {
            // Alone in the group: no need to wait an election timeout.
            let _ = node.campaign();
        }
        let (status_tx, status) = tokio_watch::channel(RaftStatus {
            id,
            applied,
            ..Default::default()
        });
        let (inbox, rx) = mpsc::channel(RAFT_INBOX_CAPACITY);
        let raft = RaftLoop::new(node, storage, state.clone(), transport, status_tx);
        std::thread::Builder::new()
            .name(format!("raft-{id}"))
            .spawn(move || raft.run(rx))
            .map_err(|e| StoreError::Internal(format!("spawn raft thread: {e}")))?;
        let ticker = inbox.clone();
        tokio::spawn(async move {
            let mut interval = tokio::time::interval(TICK);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = interval.tick() => {
                        if ticker.send(RaftMsg::Tick).await.is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = ticker.send(RaftMsg::Shutdown).await;
        });
        Ok(Store {
            inbox,
            state,
            status,
        })
    }

    /// Proposes a command and waits until it is applied (and flushed) on this master.
    pub async fn propose(&self, cmd: Command) -> Result<Vec<Object>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.inbox
            .send(RaftMsg::Propose { cmd, reply })
            .await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?
    }

    /// Proposes a single operation and returns the object it wrote.
    pub async fn propose_one(&self, op: Op) -> Result<Object, StoreError> {
        let mut objects = self.propose(Command { ops: vec![op] }).await?;
        objects
            .pop()
            .ok_or_else(|| StoreError::Internal("command applied without a result".into()))
    }

    /// Creates an object, stamping a fresh uid and the creation time first.
    pub async fn create(&self, mut obj: Object) -> Result<Object, StoreError> {
        stamp_new(&mut obj);
        self.propose_one(Op::Create(obj)).await
    }

    /// Replaces metadata and spec, compare-and-swap on `expected_revision` when given.
    pub async fn update(
        &self,
        obj: Object,
        expected_revision: Option<u64>,
    ) -> Result<Object, StoreError> {
        self.propose_one(Op::Update {
            object: obj,
            expected_revision,
        })
        .await
    }

    /// Replaces the status, compare-and-swap on `expected_revision` when given.
    pub async fn update_status(
        &self,
        obj: Object,
        expected_revision: Option<u64>,
    ) -> Result<Object, StoreError> {
        self.propose_one(Op::UpdateStatus {
            object: obj,
            expected_revision,
        })
        .await
    }

    pub async fn delete(
        &self,
        kind: Kind,
        namespace: &str,
        name: &str,
    ) -> Result<Object, StoreError> {
        self.propose_one(Op::Delete {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            expected_uid: None,
        })
        .await
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, StoreState> {
        // Poisoned only if the Raft thread panicked mid-write; the master is then unusable.
        self.state.read().expect("store state lock")
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<Object> {
        self.read().get(kind, namespace, name).cloned()
    }

    /// Objects of a kind, and the revision they were read at.
    pub fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> (Vec<Object>, u64) {
        let s = self.read();
        (s.list(kind, namespace, selector), s.revision())
    }

    pub fn revision(&self) -> u64 {
        self.read().revision()
    }

    /// Every change after `from_revision` to objects of `kind` (all kinds when `None`) in
    /// `namespace` (all when `None`), exactly once and in order; then live changes.
    pub fn watch(
        &self,
        kind: Option<Kind>,
        namespace: Option<String>,
        from_revision: u64,
    ) -> Result<WatchStream, StoreError> {
        let s = self.read();
        let backlog = s
            .changes_since(from_revision)
            .map_err(|oldest| StoreError::TooOld {
                requested: from_revision,
                oldest,
            })?;
        let live = s.subscribe();
        Ok(WatchStream::new(
            kind,
            namespace,
            from_revision,
            backlog,
            live,
        ))
    }

    pub fn status(&self) -> RaftStatus {
        *self.status.borrow()
    }

    /// Changes of leadership and term.
    pub fn status_changes(&self) -> tokio_watch::Receiver<RaftStatus> {
        self.status.clone()
    }

    /// Waits until this master leads the group.
    pub async fn wait_leader(&self) {
        let mut rx = self.status.clone();
        let _ = rx.wait_for(|s| s.is_leader).await;
    }
}

/// Stamps what a new object gets once, at the leader: uid and creation time.
pub fn stamp_new(obj: &mut Object) {
    let m = obj.meta_mut();
    m.uid = uuid::Uuid::new_v4().to_string();
    m.creation_timestamp = Some(bosun_shared::time::now_rfc3339());
    m.resource_version.clear();
}
