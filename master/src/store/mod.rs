//! The replicated object store: `kind/namespace/name -> object`, written through Raft,
//! persisted in sled, served from memory.
//!
//! - [`command`]: the batch of operations a Raft entry carries and its deterministic apply.
//! - [`state`]: objects in memory, watch history, live watchers.
//! - [`history`]: the recent changes; replaced versions kept as JSON only.
//! - [`encoded`]: a stored version with its JSON, encoded once for every reader.
//! - [`persist`]: raft-rs `Storage` over [`wal`] (the log) and sled (applied objects).
//! - [`members`]: the masters of the group, part of the replicated state.
//! - [`raft_types`], [`raft_node`], [`raft_apply`]: the thread that owns the `RawNode`, its
//!   Ready loop and how committed entries are applied.
//! - [`Store`]: the handle everything else uses.
pub mod command;
mod encoded;
pub mod error;
mod history;
pub mod key;
mod logger;
pub mod members;
pub mod persist;
mod raft_apply;
pub mod raft_node;
pub mod raft_types;
pub mod sealing;
pub mod state;
mod wal;
mod watch;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use bosun_shared::selector::LabelSelector;
use bosun_shared::{Kind, Object, ToCompactString};
use raft::eraftpb::{ConfChangeSingle, ConfChangeType, ConfChangeV2};
use raft::RawNode;
use tokio::sync::{mpsc, oneshot, watch as tokio_watch};
use tokio_util::sync::CancellationToken;

pub use command::{Change, Command, EventType, Op};
pub use encoded::{Encoded, Stored};
pub use error::StoreError;
pub use members::{Member, MemberBook};
pub use persist::SledStorage;
pub use raft_node::Compaction;
pub use raft_types::{NoPeers, RaftMsg, RaftStatus, Transport};
pub use watch::WatchStream;

use raft_node::RaftLoop;
use raft_types::{RAFT_INBOX_CAPACITY, TICK};
use state::StoreState;

/// How long a linearizable read waits for the leader to confirm it.
const READ_INDEX_TIMEOUT: Duration = Duration::from_secs(5);

/// Committed entries applied in one Ready at most, in bytes (at least one entry is): the Raft
/// thread applies a long backlog (a follower catching up, a burst of large commands) in
/// steps, handling ticks and heartbeats between them, instead of going silent for longer than
/// an election timeout.
const MAX_APPLY_PER_READY: u64 = 1024 * 1024;

/// Sends the Raft thread a tick every [`TICK`], then `Shutdown` once `shutdown` is cancelled.
///
/// Why a thread of its own: a tick drives the leader's heartbeats, and a Tokio task's timer
/// fires only when a worker is free. Two workers busy with a scheduling pass or 1,000 agent
/// sessions' updates delayed ticks by seconds: the followers heard no heartbeat and elected
/// another leader, while the old one's Raft thread sat idle.
fn tick(inbox: &mpsc::Sender<RaftMsg>, shutdown: &CancellationToken) {
    let mut next = std::time::Instant::now() + TICK;
    while !shutdown.is_cancelled() {
        std::thread::sleep(next.saturating_duration_since(std::time::Instant::now()));
        // A late wake (a suspended machine) does not send the missed ticks in a burst.
        next = (next + TICK).max(std::time::Instant::now());
        if inbox.blocking_send(RaftMsg::Tick).is_err() {
            return;
        }
    }
    let _ = inbox.blocking_send(RaftMsg::Shutdown);
}

/// Raft timing: 100 ms ticks, a heartbeat every tick, an election after 5 to 10 ticks without
/// one (DESIGN.md said 10 to 20; 5 brings a failover under a second and a half at p99 on a
/// LAN, where a heartbeat takes well under a millisecond).
fn raft_config(id: u64, applied: u64) -> raft::Config {
    raft::Config {
        id,
        election_tick: 5,
        heartbeat_tick: 1,
        applied,
        pre_vote: true,
        check_quorum: true,
        max_size_per_msg: 1024 * 1024,
        max_inflight_msgs: 256,
        max_committed_size_per_ready: MAX_APPLY_PER_READY,
        ..Default::default()
    }
}

/// How this master enters its Raft group when its data directory is new.
#[derive(Debug, Clone)]
pub enum Membership {
    /// The first master of a new group.
    Bootstrap(Member),
    /// A master the leader added (as a learner) with this id; it receives a snapshot.
    Joined { id: u64, members: Vec<Member> },
}

/// A handle on this master's store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inbox: mpsc::Sender<RaftMsg>,
    /// `true` once the Raft thread has stopped and released the storage.
    closed: tokio_watch::Receiver<bool>,
    state: Arc<RwLock<StoreState>>,
    status: tokio_watch::Receiver<RaftStatus>,
    members: MemberBook,
}

impl Store {
    /// Opens a single-master store in `data_dir` (bootstrapped as master 1 when new).
    pub fn open_single(
        data_dir: &std::path::Path,
        shutdown: CancellationToken,
    ) -> Result<Store, StoreError> {
        let storage = SledStorage::open(data_dir)?;
        let key = bosun_shared::seal::DataKey::load_or_create(&data_dir.join("data.key"))
            .map_err(|e| StoreError::Internal(e.to_string()))?;
        storage.set_keyring(Arc::new(bosun_shared::seal::Keyring::new(key)));
        let me = Member {
            id: 1,
            name: "master".into(),
            address: String::new(),
        };
        Self::open(
            storage,
            Some(Membership::Bootstrap(me)),
            |_, _, _| NoPeers,
            Compaction::default(),
            shutdown,
        )
    }

    /// Opens the store on `storage`. When the storage is new, `membership` says how it enters
    /// its group; a storage that already holds state resumes as the member it was.
    /// `make_transport` gets this master's Raft id, the Raft inbox (to report unreachable
    /// peers) and the member book.
    /// Starts the Raft thread and its ticker; both stop when `shutdown` is cancelled.
    pub fn open<T: Transport>(
        storage: SledStorage,
        membership: Option<Membership>,
        make_transport: impl FnOnce(u64, mpsc::Sender<RaftMsg>, MemberBook) -> T,
        compaction: Compaction,
        shutdown: CancellationToken,
    ) -> Result<Store, StoreError> {
        let mut initial_members = Vec::new();
        let id = match (storage.id()?, membership) {
            (Some(id), _) => id,
            (None, Some(Membership::Bootstrap(me))) => {
                storage.bootstrap(&me)?;
                storage.checkpoint()?;
                storage.flush()?;
                me.id
            }
            (None, Some(Membership::Joined { id, members })) => {
                storage.set_id(id)?;
                storage.checkpoint()?;
                initial_members = members;
                id
            }
            (None, None) => {
                return Err(StoreError::Internal(
                    "the data directory is empty and no way to join a group was given".into(),
                ))
            }
        };
        let loaded = storage.load()?;
        let mut members = loaded.members.clone();
        for m in initial_members {
            members.entry(m.id).or_insert(m);
        }
        let members = MemberBook::new(members);
        let applied = loaded.applied;
        // The commit index is written without an fsync of its own; entries are applied only
        // once committed, so a stored applied index proves its entries were committed.
        storage.raise_commit(applied)?;
        let state = Arc::new(RwLock::new(StoreState::new(loaded.objects, applied)));
        let mut node = RawNode::new(
            &raft_config(id, applied),
            storage.clone(),
            &logger::logger(),
        )
        .map_err(|e| StoreError::Internal(format!("raft: {e}")))?;
        let conf = node.raft.prs().conf().to_conf_state();
        if conf.voters == [id] {
            // Alone in the group: no need to wait an election timeout.
            let _ = node.campaign();
        }
        let (status_tx, status) = tokio_watch::channel(RaftStatus {
            id,
            applied,
            ..Default::default()
        });
        let (inbox, rx) = mpsc::channel(RAFT_INBOX_CAPACITY);
        let transport = make_transport(id, inbox.clone(), members.clone());
        let (closed_tx, closed) = tokio_watch::channel(false);
        let raft = RaftLoop::new(
            node,
            storage,
            state.clone(),
            members.clone(),
            transport,
            status_tx,
            compaction,
            shutdown.clone(),
            closed_tx,
        );
        std::thread::Builder::new()
            .name(format!("raft-{id}"))
            .spawn(move || raft.run(rx))
            .map_err(|e| StoreError::Internal(format!("spawn raft thread: {e}")))?;
        let ticker = inbox.clone();
        std::thread::Builder::new()
            .name(format!("raft-tick-{id}"))
            .spawn(move || tick(&ticker, &shutdown))
            .map_err(|e| StoreError::Internal(format!("spawn raft ticker: {e}")))?;
        Ok(Store {
            inbox,
            closed,
            state,
            status,
            members,
        })
    }

    /// Waits until the Raft thread has stopped and released the data directory (after the
    /// shutdown token was cancelled).
    pub async fn wait_closed(&self) {
        let mut closed = self.closed.clone();
        let _ = closed.wait_for(|c| *c).await;
    }

    /// Hands a message from a peer to Raft (waits when the inbox is full).
    pub async fn step(&self, msg: raft::eraftpb::Message) -> Result<(), StoreError> {
        self.inbox
            .send(RaftMsg::Step(Box::new(msg)))
            .await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))
    }

    pub fn members(&self) -> &MemberBook {
        &self.members
    }

    /// The address of the current leader, if known.
    pub fn leader_address(&self) -> Option<String> {
        let leader = self.status.borrow().leader_id;
        self.members.address(leader).filter(|a| !a.is_empty())
    }

    /// Adds a master as a learner, promotes a learner to voter, or removes a master; returns
    /// once the change is applied here.
    pub async fn change_members(
        &self,
        change_type: ConfChangeType,
        member: Member,
    ) -> Result<(), StoreError> {
        let mut single = ConfChangeSingle::default();
        single.set_change_type(change_type);
        single.node_id = member.id;
        // Joint consensus even for one change: the group moves through C(old, new), which raft-rs
        // leaves by itself (implicit transition) once it is committed.
        let mut change = ConfChangeV2 {
            changes: vec![single].into(),
            ..Default::default()
        };
        change.set_transition(raft::eraftpb::ConfChangeTransition::Implicit);
        let (reply, rx) = oneshot::channel();
        self.inbox
            .send(RaftMsg::ChangeMembers {
                change,
                member,
                reply,
            })
            .await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?
            .map(|_| ())
    }

    /// Asks Raft to hand leadership to `to`.
    pub async fn transfer_leader(&self, to: u64) {
        let _ = self.inbox.send(RaftMsg::TransferLeader(to)).await;
    }

    /// Waits until this master has applied everything the leader had committed when asked
    /// (ReadIndex): local reads after it are linearizable. Fails on a minority side.
    pub async fn linearizable(&self) -> Result<(), StoreError> {
        let (reply, rx) = oneshot::channel();
        self.inbox
            .send(RaftMsg::ReadIndex { reply })
            .await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?;
        let wait = async {
            let index = rx
                .await
                .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))??;
            let mut status = self.status.clone();
            status
                .wait_for(|s| s.applied >= index)
                .await
                .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?;
            Ok(())
        };
        tokio::time::timeout(READ_INDEX_TIMEOUT, wait)
            .await
            .map_err(|_| {
                StoreError::Unavailable(
                    "no quorum confirmed the read in time; retry or read with --stale".into(),
                )
            })?
    }

    /// Proposes a command and waits until it is applied (and flushed) on this master.
    pub async fn propose(&self, cmd: Command) -> Result<Vec<Arc<Object>>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.inbox
            .send(RaftMsg::Propose { cmd, reply })
            .await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?;
        rx.await
            .map_err(|_| StoreError::Unavailable("raft thread stopped".into()))?
    }

    /// Proposes a single operation and returns the object it wrote.
    pub async fn propose_one(&self, op: Op) -> Result<Arc<Object>, StoreError> {
        let mut objects = self.propose(Command { ops: vec![op] }).await?;
        objects
            .pop()
            .ok_or_else(|| StoreError::Internal("command applied without a result".into()))
    }

    /// Creates an object, stamping a fresh uid and the creation time first.
    pub async fn create(&self, mut obj: Object) -> Result<Arc<Object>, StoreError> {
        stamp_new(&mut obj);
        self.propose_one(Op::Create(obj)).await
    }

    /// Replaces metadata and spec, compare-and-swap on `expected_revision` when given.
    pub async fn update(
        &self,
        obj: Object,
        expected_revision: Option<u64>,
    ) -> Result<Arc<Object>, StoreError> {
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
    ) -> Result<Arc<Object>, StoreError> {
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
    ) -> Result<Arc<Object>, StoreError> {
        self.propose_one(Op::Delete {
            kind,
            namespace: namespace.to_string(),
            name: name.to_string(),
            expected_uid: None,
            grace_seconds: None,
            terminate_at: None,
        })
        .await
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, StoreState> {
        // Poisoned only if the Raft thread panicked mid-write; the master is then unusable.
        self.state.read().expect("store state lock")
    }

    pub fn get(&self, kind: Kind, namespace: &str, name: &str) -> Option<Arc<Object>> {
        self.read()
            .get(kind, namespace, name)
            .map(|s| s.object.clone())
    }

    /// [`Store::get`] with the version's encoding cell, for those who send it, and the
    /// revision it was read at.
    pub fn get_stored(&self, kind: Kind, namespace: &str, name: &str) -> (Option<Stored>, u64) {
        let s = self.read();
        (s.get(kind, namespace, name).cloned(), s.revision())
    }

    /// Objects of a kind, and the revision they were read at.
    pub fn list(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> (Vec<Arc<Object>>, u64) {
        let s = self.read();
        (s.list(kind, namespace, selector), s.revision())
    }

    /// [`Store::list`] with each version's encoding cell, for those who send them.
    pub fn list_stored(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        selector: Option<&LabelSelector>,
    ) -> (Vec<Stored>, u64) {
        let s = self.read();
        (s.list_stored(kind, namespace, selector), s.revision())
    }

    /// Objects of `kind` for which `keep` holds, and the revision.
    pub fn select(
        &self,
        kind: Kind,
        namespace: Option<&str>,
        keep: impl Fn(&Object) -> bool,
    ) -> (Vec<Arc<Object>>, u64) {
        let s = self.read();
        (s.select(kind, namespace, keep), s.revision())
    }

    pub fn revision(&self) -> u64 {
        self.read().revision()
    }

    /// How many objects of `kind` there are (in `namespace` when given), without copying them.
    pub fn count(&self, kind: Kind, namespace: Option<&str>) -> usize {
        self.read().count(kind, namespace)
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
            self.state.clone(),
        ))
    }

    /// Whether this master leads now (cheap: no copy of the status).
    pub fn is_leader(&self) -> bool {
        self.status.borrow().is_leader
    }

    pub fn status(&self) -> RaftStatus {
        self.status.borrow().clone()
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
    m.uid = uuid::Uuid::new_v4().to_compact_string();
    m.creation_timestamp = Some(bosun_shared::time::now_rfc3339());
    m.resource_version.clear();
}
