//! The Raft thread: the only owner of the `RawNode`, fed through one bounded channel.
//!
//! Each `Ready` is handled in the order raft-rs documents: send messages; install a snapshot;
//! apply committed entries; append entries and persist the hard state; flush sled once (the
//! group commit); only then send persisted messages and acknowledge proposals; advance and do
//! the same for the `LightReady`; `advance_apply`.
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use raft::eraftpb::{ConfChange, ConfChangeV2, Entry, EntryType, Message};
use raft::{RawNode, StateRole};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::command::{plan, Command, EventType};
use super::error::StoreError;
use super::key::key_of;
use super::persist::SledStorage;
use super::state::StoreState;
use bosun_shared::Object;

/// Capacity of the Raft thread's inbox.
pub const RAFT_INBOX_CAPACITY: usize = 4_096;
/// One Raft tick.
pub const TICK: Duration = Duration::from_millis(100);
/// Compact the log once it holds this many entries...
const COMPACT_THRESHOLD: u64 = 10_000;
/// ...keeping this many behind the applied index for slow followers.
const COMPACT_KEEP: u64 = 1_000;

/// Reply to a proposal: the objects as written, or why not.
pub type ProposalReply = oneshot::Sender<Result<Vec<Object>, StoreError>>;

/// A proposal's reply channel and its result, sent once the entry is durable.
type Reply = (ProposalReply, Result<Vec<Object>, StoreError>);

/// What the Raft thread is asked to do.
pub enum RaftMsg {
    Propose {
        cmd: Command,
        reply: ProposalReply,
    },
    /// A message from a peer.
    Step(Box<Message>),
    Tick,
    Shutdown,
}

/// Where this master stands in the Raft group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RaftStatus {
    pub id: u64,
    pub leader_id: u64,
    pub term: u64,
    pub is_leader: bool,
    pub applied: u64,
}

/// Sends Raft messages to peers; a failed send is reported back as unreachable.
pub trait Transport: Send + 'static {
    /// Queues messages for their peers; returns the ids of peers that could not be reached.
    fn send(&mut self, msgs: Vec<Message>) -> Vec<u64>;
}

/// The transport of a single-voter group: there is nobody to send to.
pub struct NoPeers;

impl Transport for NoPeers {
    fn send(&mut self, msgs: Vec<Message>) -> Vec<u64> {
        msgs.into_iter().map(|m| m.to).collect()
    }
}

/// State owned by the Raft thread.
pub struct RaftLoop<T: Transport> {
    pub node: RawNode<SledStorage>,
    pub storage: SledStorage,
    pub state: Arc<RwLock<StoreState>>,
    pub transport: T,
    pub status: watch::Sender<RaftStatus>,
    pending: HashMap<u64, ProposalReply>,
    next_proposal: u64,
    was_leader: bool,
}

impl<T: Transport> RaftLoop<T> {
    pub fn new(
        node: RawNode<SledStorage>,
        storage: SledStorage,
        state: Arc<RwLock<StoreState>>,
        transport: T,
        status: watch::Sender<RaftStatus>,
    ) -> Self {
        RaftLoop {
            node,
            storage,
            state,
            transport,
            status,
            pending: HashMap::new(),
            next_proposal: 1,
            was_leader: false,
        }
    }

    /// Runs until [`RaftMsg::Shutdown`] or until every sender is gone.
    pub fn run(mut self, mut inbox: mpsc::Receiver<RaftMsg>) {
        while let Some(msg) = inbox.blocking_recv() {
            if !self.handle(msg) {
                break;
            }
            // Drain what is queued so one Ready (one flush) covers many proposals.
            for _ in 0..RAFT_INBOX_CAPACITY {
                match inbox.try_recv() {
                    Ok(msg) => {
                        if !self.handle(msg) {
                            self.fail_pending("master is shutting down");
                            return;
                        }
                    }
                    Err(_) => break,
                }
            }
            if let Err(e) = self.on_ready() {
                // A storage failure leaves Raft inoperable; stop rather than diverge.
                tracing::error!(error = %e, "raft storage failed; stopping the raft thread");
                self.fail_pending(&format!("storage failed: {e}"));
                return;
            }
            self.publish_status();
        }
        self.fail_pending("master is shutting down");
    }

    fn handle(&mut self, msg: RaftMsg) -> bool {
        match msg {
            RaftMsg::Propose { cmd, reply } => self.propose(cmd, reply),
            RaftMsg::Step(m) => {
                if let Err(e) = self.node.step(*m) {
                    debug!(error = %e, "raft step");
                }
            }
            RaftMsg::Tick => {
                self.node.tick();
            }
            RaftMsg::Shutdown => return false,
        }
        true
    }

    fn propose(&mut self, cmd: Command, reply: ProposalReply) {
        if self.node.raft.state != StateRole::Leader {
            let _ = reply.send(Err(StoreError::NotLeader { leader: None }));
            return;
        }
        let id = self.next_proposal;
        self.next_proposal += 1;
        let mut ctx = self.node.raft.id.to_be_bytes().to_vec();
        ctx.extend_from_slice(&id.to_be_bytes());
        match self.node.propose(ctx, cmd.encode()) {
            Ok(()) => {
                self.pending.insert(id, reply);
            }
            Err(e) => {
                let _ = reply.send(Err(StoreError::Unavailable(format!(
                    "proposal dropped: {e}"
                ))));
            }
        }
    }

    fn fail_pending(&mut self, why: &str) {
        for (_, reply) in self.pending.drain() {
            let _ = reply.send(Err(StoreError::Unavailable(why.to_string())));
        }
    }

    fn send(&mut self, msgs: Vec<Message>) {
        if msgs.is_empty() {
            return;
        }
        for id in self.transport.send(msgs) {
            self.node.report_unreachable(id);
        }
    }

    fn on_ready(&mut self) -> Result<(), StoreError> {
        if !self.node.has_ready() {
            return Ok(());
        }
        let mut ready = self.node.ready();
        self.send(ready.take_messages());
        if !ready.snapshot().is_empty() {
            let objects = self.storage.install_snapshot(ready.snapshot())?;
            let index = ready.snapshot().get_metadata().index;
            self.write_state().reset(objects, index);
            info!(index, "installed raft snapshot");
        }
        let mut replies = Vec::new();
        self.apply_entries(ready.take_committed_entries(), &mut replies)?;
        self.storage.append(ready.entries())?;
        if let Some(hs) = ready.hs() {
            self.storage.set_hard_state(hs)?;
        }
        self.storage.flush()?;
        self.send(ready.take_persisted_messages());
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.storage.set_commit(commit)?;
        }
        self.send(light.take_messages());
        self.apply_entries(light.take_committed_entries(), &mut replies)?;
        self.storage.flush()?;
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        self.node.advance_apply();
        self.maybe_compact()?;
        Ok(())
    }

    fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, StoreState> {
        // Poisoned only if the Raft thread itself panicked while writing.
        self.state.write().expect("store state lock")
    }

    /// Applies committed entries; answers to local proposals are collected in `replies`.
    fn apply_entries(
        &mut self,
        entries: Vec<Entry>,
        replies: &mut Vec<Reply>,
    ) -> Result<(), StoreError> {
        for entry in entries {
            match entry.get_entry_type() {
                EntryType::EntryNormal => self.apply_normal(&entry, replies)?,
                EntryType::EntryConfChange => {
                    let cc: ConfChange = decode(&entry)?;
                    let cs = self.node.apply_conf_change(&cc);
                    self.record_conf_state(cs, entry.index)?;
                }
                EntryType::EntryConfChangeV2 => {
                    let cc: ConfChangeV2 = decode(&entry)?;
                    let cs = self.node.apply_conf_change(&cc);
                    self.record_conf_state(cs, entry.index)?;
                }
            }
        }
        Ok(())
    }

    /// Records the configuration a membership change made effective.
    fn record_conf_state(
        &mut self,
        cs: raft::Result<raft::eraftpb::ConfState>,
        index: u64,
    ) -> Result<(), StoreError> {
        let cs = cs.map_err(|e| StoreError::Internal(format!("conf change at {index}: {e}")))?;
        self.storage.set_conf_state(&cs)?;
        self.mark_applied(index)
    }

    fn mark_applied(&mut self, index: u64) -> Result<(), StoreError> {
        self.storage.write_applied(&[], &[], index)?;
        self.write_state().advance(index);
        Ok(())
    }

    fn apply_normal(&mut self, entry: &Entry, replies: &mut Vec<Reply>) -> Result<(), StoreError> {
        let index = entry.index;
        let reply = proposal_id(&entry.context)
            .filter(|(node, _)| *node == self.node.raft.id)
            .and_then(|(_, id)| self.pending.remove(&id));
        if entry.data.is_empty() {
            // The empty entry a new leader appends.
            return self.mark_applied(index);
        }
        let cmd = Command::decode(&entry.data)?;
        let planned = {
            let state = self.state.read().expect("store state lock");
            plan(state.objects(), &cmd, index)
        };
        let result = match planned {
            Ok(changes) => {
                let mut upserts = Vec::new();
                let mut deletes = Vec::new();
                for c in &changes {
                    let key = key_of(&c.object);
                    if c.event == EventType::Deleted {
                        deletes.push(key);
                    } else {
                        upserts.push((key, c.object.to_json()));
                    }
                }
                self.storage.write_applied(&upserts, &deletes, index)?;
                let objects = changes.iter().map(|c| c.object.clone()).collect();
                self.write_state().apply(changes, index);
                Ok(objects)
            }
            Err(e) => {
                self.mark_applied(index)?;
                Err(e)
            }
        };
        if let Some(reply) = reply {
            replies.push((reply, result));
        }
        Ok(())
    }

    fn maybe_compact(&mut self) -> Result<(), StoreError> {
        if self.storage.log_len() < COMPACT_THRESHOLD {
            return Ok(());
        }
        let applied = self.node.raft.raft_log.applied;
        if applied > COMPACT_KEEP {
            self.storage.compact(applied - COMPACT_KEEP)?;
            debug!(upto = applied - COMPACT_KEEP, "compacted raft log");
        }
        Ok(())
    }

    fn publish_status(&mut self) {
        let is_leader = self.node.raft.state == StateRole::Leader;
        if self.was_leader && !is_leader {
            warn!("lost raft leadership");
            self.fail_pending("leadership changed; the outcome of the write is unknown");
        }
        if is_leader && !self.was_leader {
            info!(term = self.node.raft.term, "became raft leader");
        }
        self.was_leader = is_leader;
        let s = RaftStatus {
            id: self.node.raft.id,
            leader_id: self.node.raft.leader_id,
            term: self.node.raft.term,
            is_leader,
            applied: self.node.raft.raft_log.applied,
        };
        self.status.send_if_modified(|old| {
            let changed = *old != s;
            *old = s;
            changed
        });
    }
}

/// (proposing master, proposal number) from an entry's context.
fn proposal_id(ctx: &[u8]) -> Option<(u64, u64)> {
    let node: [u8; 8] = ctx.get(..8)?.try_into().ok()?;
    let id: [u8; 8] = ctx.get(8..16)?.try_into().ok()?;
    Some((u64::from_be_bytes(node), u64::from_be_bytes(id)))
}

/// Decodes a protobuf message carried by an entry.
fn decode<M: protobuf::Message + Default>(entry: &Entry) -> Result<M, StoreError> {
    let mut m = M::default();
    m.merge_from_bytes(&entry.data)
        .map_err(|e| StoreError::Internal(format!("entry {}: {e}", entry.index)))?;
    Ok(m)
}
