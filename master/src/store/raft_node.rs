//! The Raft thread: the only owner of the `RawNode`, fed through one bounded channel.
//!
//! Each `Ready` is handled in the order raft-rs documents: send messages; install a snapshot;
//! apply committed entries; append entries and persist the hard state; flush sled once (the
//! group commit) when the Ready must be synced (new entries, term or vote); only then send
//! persisted messages and acknowledge proposals; advance and do the same for the `LightReady`;
//! `advance_apply`. Applying entries is in [`super::raft_apply`].
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use raft::eraftpb::Message;
use raft::{RawNode, SnapshotStatus, StateRole};
use tokio::sync::{mpsc, oneshot, watch};
use tracing::{debug, info, warn};

use super::error::StoreError;
use super::members::{ChangeContext, MemberBook};
use super::persist::SledStorage;
use super::raft_types::{
    ProposalReply, Queued, RaftMsg, RaftStatus, Transport, RAFT_INBOX_CAPACITY,
};
use super::state::StoreState;
use super::Command;

/// When the log is compacted behind the applied index.
#[derive(Debug, Clone, Copy)]
pub struct Compaction {
    /// Compact once the log holds this many entries...
    pub threshold: u64,
    /// ...or this many bytes of entries...
    pub threshold_bytes: u64,
    /// ...keeping at most this many entries behind the applied index for slow followers...
    pub keep: u64,
    /// ...and at most this many bytes of them.
    pub keep_bytes: u64,
    /// The leader also keeps the entries a follower has not acknowledged yet (a snapshot of
    /// every object costs far more than the entries it replaces), until the log holds this
    /// many bytes.
    pub lagging_bytes: u64,
}

impl Default for Compaction {
    fn default() -> Self {
        Compaction {
            threshold: 10_000,
            threshold_bytes: 16 << 20,
            keep: 1_000,
            keep_bytes: 4 << 20,
            lagging_bytes: 128 << 20,
        }
    }
}

/// Changed keys kept aside before a background checkpoint writes them to sled.
const CHECKPOINT_KEYS: usize = 1_000;
/// A turn of the Raft loop (its inbox drained, proposals encoded, then one Ready) that takes
/// longer than this (the shortest election timeout) is logged, with its two parts.
const SLOW_LOOP: std::time::Duration = std::time::Duration::from_millis(500);

/// A proposal of this master waiting for its entry to apply.
pub(super) struct Pending {
    pub reply: ProposalReply,
    /// The command as proposed: applying it needs no decoding of the entry again.
    pub command: Option<Command>,
}

/// State owned by the Raft thread.
pub struct RaftLoop<T: Transport> {
    pub node: RawNode<SledStorage>,
    pub storage: SledStorage,
    pub state: Arc<RwLock<StoreState>>,
    pub members: MemberBook,
    pub transport: T,
    pub status: watch::Sender<RaftStatus>,
    pub compaction: Compaction,
    /// Proposals of this master waiting for their entry to apply, by proposal number.
    pub(super) pending: HashMap<u64, Pending>,
    /// ReadIndex requests waiting for their read state, by request number.
    reads: HashMap<u64, oneshot::Sender<Result<u64, StoreError>>>,
    /// Numbers proposals and reads; starts at a random value each boot so that an entry
    /// proposed before a crash is never mistaken for a new proposal of the same number.
    next_id: u64,
    was_leader: bool,
    /// When each peer was last heard from (the leader's view of which followers are live).
    heard: super::raft_types::Heard,
    /// Cancelled when storage fails: the master stops instead of serving a frozen state.
    pub fatal: tokio_util::sync::CancellationToken,
    /// Set once the Raft thread has stopped (and released the storage).
    pub closed: watch::Sender<bool>,
}

impl<T: Transport> RaftLoop<T> {
    // Every argument is a distinct part the thread owns; a builder would only rename them.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        node: RawNode<SledStorage>,
        storage: SledStorage,
        state: Arc<RwLock<StoreState>>,
        members: MemberBook,
        transport: T,
        status: watch::Sender<RaftStatus>,
        compaction: Compaction,
        fatal: tokio_util::sync::CancellationToken,
        closed: watch::Sender<bool>,
    ) -> Self {
        RaftLoop {
            node,
            storage,
            state,
            members,
            transport,
            status,
            compaction,
            pending: HashMap::new(),
            reads: HashMap::new(),
            next_id: uuid::Uuid::new_v4().as_u64_pair().0 >> 1,
            was_leader: false,
            heard: Default::default(),
            fatal,
            closed,
        }
    }

    /// Runs until [`RaftMsg::Shutdown`], a storage failure, or until every sender is gone.
    pub fn run(mut self, inbox: mpsc::Receiver<RaftMsg>) {
        self.serve(inbox);
        self.fail_all("master is shutting down");
        // A clean stop leaves nothing to re-apply at the next start.
        if let Err(e) = self.storage.checkpoint() {
            warn!(error = %e, "checkpoint of the store at shutdown failed");
        }
        self.status.send_modify(|s| s.is_leader = false);
        let closed = self.closed.clone();
        // Release the storage before telling anyone the thread has stopped.
        drop(self);
        let _ = closed.send(true);
    }

    fn serve(&mut self, mut inbox: mpsc::Receiver<RaftMsg>) {
        loop {
            // Committed entries left over from the last Ready (each applies at most
            // `MAX_APPLY_PER_READY` bytes) are applied without waiting for a message, after
            // whatever is queued meanwhile: ticks and heartbeats go on between them.
            let msg = if self.node.has_ready() {
                match inbox.try_recv() {
                    Ok(msg) => Some(msg),
                    Err(mpsc::error::TryRecvError::Empty) => None,
                    Err(mpsc::error::TryRecvError::Disconnected) => return,
                }
            } else {
                match inbox.blocking_recv() {
                    Some(msg) => Some(msg),
                    None => return,
                }
            };
            let started = std::time::Instant::now();
            let mut queued = Queued::default();
            if let Some(msg) = msg {
                if !self.take(msg, &mut queued) {
                    return;
                }
            }
            // Drain what is queued so one Ready (one flush) covers many proposals.
            let mut stop = false;
            for _ in 0..RAFT_INBOX_CAPACITY {
                match inbox.try_recv() {
                    Ok(msg) => {
                        if !self.take(msg, &mut queued) {
                            stop = true;
                            break;
                        }
                    }
                    Err(_) => break,
                }
            }
            if stop {
                return;
            }
            self.count_ticks(queued);
            let drained = started.elapsed();
            if let Err(e) = self.on_ready() {
                // A storage failure leaves Raft inoperable; stop the master rather than diverge.
                tracing::error!(error = %e, "raft storage failed; stopping this master");
                self.fail_all(&format!("storage failed: {e}"));
                self.fatal.cancel();
                return;
            }
            let took = started.elapsed();
            if took > SLOW_LOOP {
                warn!(
                    took_ms = took.as_millis() as u64,
                    inbox_ms = drained.as_millis() as u64,
                    ready_ms = (took - drained).as_millis() as u64,
                    "raft: one turn (the inbox, then a Ready) took longer than the shortest \
                     election timeout"
                );
            }
            self.publish_status();
        }
    }

    /// Handles `msg`, except ticks, which are counted in `queued` and handled after the rest
    /// of what was queued with them ([`RaftLoop::count_ticks`]).
    fn take(&mut self, msg: RaftMsg, queued: &mut Queued) -> bool {
        match msg {
            RaftMsg::Tick => {
                queued.ticks += 1;
                true
            }
            RaftMsg::Step(m) => {
                self.heard.heard(m.from, std::time::Instant::now());
                let leader = self.node.raft.leader_id;
                queued.heard_leader |= !self.is_leader() && leader != 0 && m.from == leader;
                self.handle(RaftMsg::Step(m))
            }
            other => self.handle(other),
        }
    }

    /// Handles the ticks queued in one drain, after the rest ([`Queued::ticks_to_count`]).
    fn count_ticks(&mut self, queued: Queued) {
        if queued.ticks > 2 {
            debug!(ticks = queued.ticks, "raft thread fell behind its ticks");
        }
        for _ in 0..queued.ticks_to_count() {
            self.handle(RaftMsg::Tick);
        }
    }

    fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn id(&self) -> u64 {
        self.node.raft.id
    }

    fn is_leader(&self) -> bool {
        self.node.raft.state == StateRole::Leader
    }

    /// The leader's address, for a "not the leader" answer.
    fn not_leader(&self) -> StoreError {
        StoreError::NotLeader {
            leader: self.members.address(self.node.raft.leader_id),
        }
    }

    fn handle(&mut self, msg: RaftMsg) -> bool {
        match msg {
            RaftMsg::Propose { cmd, reply } => self.propose(cmd, reply),
            RaftMsg::ChangeMembers {
                change,
                member,
                reply,
            } => self.change_members(change, member, reply),
            RaftMsg::ReadIndex { reply } => self.read_index(reply),
            RaftMsg::TransferLeader(to) => self.node.transfer_leader(to),
            RaftMsg::Step(m) => {
                if let Err(e) = self.node.step(*m) {
                    debug!(error = %e, "raft step");
                }
            }
            RaftMsg::Unreachable(id) => self.node.report_unreachable(id),
            RaftMsg::SnapshotSent { to, ok } => {
                let status = if ok {
                    SnapshotStatus::Finish
                } else {
                    SnapshotStatus::Failure
                };
                self.node.report_snapshot(to, status);
            }
            RaftMsg::Tick => {
                self.node.tick();
                // Readers that gave up (timed out) leave closed channels behind.
                self.reads.retain(|_, r| !r.is_closed());
            }
            RaftMsg::Shutdown => return false,
        }
        true
    }

    fn propose(&mut self, cmd: Command, reply: ProposalReply) {
        if !self.is_leader() {
            let _ = reply.send(Err(self.not_leader()));
            return;
        }
        let id = self.next();
        let mut ctx = self.id().to_be_bytes().to_vec();
        ctx.extend_from_slice(&id.to_be_bytes());
        let bytes = match super::sealing::encode(self.storage.keys(), &cmd) {
            Ok(b) => b,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        match self.node.propose(ctx, bytes) {
            Ok(()) => {
                let command = Some(cmd);
                self.pending.insert(id, Pending { reply, command });
            }
            Err(e) => {
                let _ = reply.send(Err(StoreError::Unavailable(format!(
                    "proposal dropped: {e}"
                ))));
            }
        }
    }

    fn change_members(
        &mut self,
        change: raft::eraftpb::ConfChangeV2,
        member: super::members::Member,
        reply: ProposalReply,
    ) {
        if !self.is_leader() {
            let _ = reply.send(Err(self.not_leader()));
            return;
        }
        if self.node.raft.has_pending_conf() {
            let _ = reply.send(Err(StoreError::Unavailable(
                "another membership change is in progress; try again".into(),
            )));
            return;
        }
        let id = self.next();
        let ctx = ChangeContext {
            proposer: self.id(),
            proposal: id,
            member,
        };
        // Plain data always serializes.
        let ctx = serde_json::to_vec(&ctx).expect("change context serializes");
        match self.node.propose_conf_change(ctx, change) {
            Ok(()) => {
                let command = None;
                self.pending.insert(id, Pending { reply, command });
            }
            Err(e) => {
                let _ = reply.send(Err(StoreError::Invalid {
                    object: "membership".into(),
                    message: e.to_string(),
                }));
            }
        }
    }

    fn read_index(&mut self, reply: oneshot::Sender<Result<u64, StoreError>>) {
        if self.node.raft.leader_id == 0 {
            let _ = reply.send(Err(StoreError::Unavailable(
                "no leader elected; cannot confirm a linearizable read".into(),
            )));
            return;
        }
        let id = self.next();
        self.node.read_index(id.to_be_bytes().to_vec());
        self.reads.insert(id, reply);
    }

    fn fail_all(&mut self, why: &str) {
        for (_, p) in self.pending.drain() {
            let _ = p.reply.send(Err(StoreError::Unavailable(why.to_string())));
        }
        for (_, reply) in self.reads.drain() {
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
            let loaded = self.storage.install_snapshot(ready.snapshot())?;
            let index = ready.snapshot().get_metadata().index;
            self.members.replace(loaded.members);
            self.write_state().reset(loaded.objects, index);
            info!(index, "installed raft snapshot");
        }
        // Entries and the hard state are written before committed entries are applied, so at
        // any crash point the stored commit index covers the stored applied index.
        self.storage.append(ready.entries())?;
        if let Some(hs) = ready.hs() {
            self.storage.set_hard_state(hs)?;
        }
        let mut replies = Vec::new();
        self.apply_entries(ready.take_committed_entries(), &mut replies)?;
        for rs in ready.take_read_states() {
            let id = rs
                .request_ctx
                .get(..8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map(u64::from_be_bytes);
            if let Some(reply) = id.and_then(|id| self.reads.remove(&id)) {
                let _ = reply.send(Ok(rs.index));
            }
        }
        // Only new entries, a snapshot, or a changed term or vote must be durable before the
        // messages that depend on them go out; a Ready that only advances the commit index or
        // applies entries needs no fsync (as in etcd): the commit index can be re-learned from
        // the leader, and applied objects are re-applied from the durable log after a crash.
        if ready.must_sync() {
            self.storage.flush()?;
        }
        self.send(ready.take_persisted_messages());
        let mut light = self.node.advance(ready);
        if let Some(commit) = light.commit_index() {
            self.storage.set_commit(commit)?;
        }
        self.send(light.take_messages());
        self.apply_entries(light.take_committed_entries(), &mut replies)?;
        // No second flush: an entry is acknowledged once it is durable in the log of a quorum
        // (the flush above, and the followers' before they answered). Applied objects become
        // durable with the next flush; a crash before it re-applies them from the log.
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        self.node.advance_apply();
        self.maybe_compact()?;
        Ok(())
    }

    pub(super) fn write_state(&self) -> std::sync::RwLockWriteGuard<'_, StoreState> {
        // Poisoned only if the Raft thread itself panicked while writing.
        self.state.write().expect("store state lock")
    }

    fn maybe_compact(&mut self) -> Result<(), StoreError> {
        // Small, frequent checkpoints on their own thread: one of 9,000 objects on this thread
        // once stalled it past an election timeout under load.
        self.storage.maybe_checkpoint(CHECKPOINT_KEYS)?;
        let c = self.compaction;
        let bytes = self.storage.log_bytes();
        if self.storage.log_len() < c.threshold && bytes < c.threshold_bytes {
            return Ok(());
        }
        // Only what sled holds durably may leave the log: when it lags, a checkpoint is
        // started whatever its size, and the log is compacted as far as sled holds.
        let applied = self.node.raft.raft_log.applied;
        let mut want = self.storage.compaction_point(applied, c.keep, c.keep_bytes);
        if self.is_leader() && bytes < c.lagging_bytes {
            let id = self.node.raft.id;
            let slowest = self.node.raft.prs().iter().filter(|(p, _)| **p != id);
            if let Some(matched) = slowest.map(|(_, p)| p.matched).min() {
                want = want.min(matched);
            }
        }
        if want > self.storage.durable_applied() {
            self.storage.maybe_checkpoint(0)?;
        }
        let upto = want.min(self.storage.durable_applied());
        if upto > self.storage.snapshot_index() {
            self.storage.compact(upto)?;
            debug!(upto, "compacted raft log");
        }
        Ok(())
    }

    fn publish_status(&mut self) {
        let is_leader = self.is_leader();
        if self.was_leader && !is_leader {
            warn!(term = self.node.raft.term, "lost raft leadership");
            self.fail_all("leadership changed; the outcome is unknown, check and retry");
        }
        if is_leader && !self.was_leader {
            info!(term = self.node.raft.term, "became raft leader");
        }
        self.was_leader = is_leader;
        let raft = &self.node.raft;
        let conf = raft.prs().conf().to_conf_state();
        let mut matched: Vec<(u64, u64)> = if is_leader {
            raft.prs().iter().map(|(id, p)| (*id, p.matched)).collect()
        } else {
            vec![]
        };
        matched.sort_unstable();
        let active = if is_leader {
            self.heard
                .live(&conf.voters, raft.id, std::time::Instant::now())
        } else {
            vec![]
        };
        let s = RaftStatus {
            id: raft.id,
            leader_id: raft.leader_id,
            term: raft.term,
            is_leader,
            commit: raft.raft_log.committed,
            applied: raft.raft_log.applied,
            last_index: raft.raft_log.last_index(),
            first_index: self.storage.snapshot_index() + 1,
            joint: !conf.voters_outgoing.is_empty(),
            voters: conf.voters,
            learners: conf.learners,
            matched,
            active,
        };
        self.status.send_if_modified(|old| {
            let changed = *old != s;
            if changed {
                *old = s;
            }
            changed
        });
    }
}
