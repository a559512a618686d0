//! What the Raft thread is asked ([`RaftMsg`]), what it tells ([`RaftStatus`]), and how it
//! reaches its peers ([`Transport`]).
use std::time::Duration;

use bosun_shared::Object;
use raft::eraftpb::{ConfChangeV2, Message};
use tokio::sync::oneshot;

use super::error::StoreError;
use super::members::Member;
use super::Command;

/// Capacity of the Raft thread's inbox.
pub const RAFT_INBOX_CAPACITY: usize = 4_096;
/// One Raft tick.
pub const TICK: Duration = Duration::from_millis(100);

/// A peer counts as live when this master heard from it this recently: a few election
/// timeouts (5 ticks each), and far less than a node's grace ([`RaftStatus::active`]).
pub const LIVE_WITHIN: Duration = Duration::from_secs(2);

/// When this master last heard from each peer. raft-rs's own `recent_active` is cleared at
/// every election timeout and set again by the next answer, so it flickers; this does not.
#[derive(Default)]
pub struct Heard(std::collections::HashMap<u64, std::time::Instant>);

impl Heard {
    pub fn heard(&mut self, from: u64, at: std::time::Instant) {
        self.0.insert(from, at);
    }

    /// The `voters` but `me` heard from within [`LIVE_WITHIN`] of `now`, in order.
    pub fn live(&self, voters: &[u64], me: u64, now: std::time::Instant) -> Vec<u64> {
        let mut live: Vec<u64> = voters
            .iter()
            .copied()
            .filter(|v| *v != me)
            .filter(|v| {
                self.0
                    .get(v)
                    .is_some_and(|at| now.saturating_duration_since(*at) < LIVE_WITHIN)
            })
            .collect();
        live.sort_unstable();
        live
    }
}

/// Reply to a proposal: the objects as written, or why not.
pub type ProposalReply = oneshot::Sender<Result<Vec<std::sync::Arc<Object>>, StoreError>>;

/// What the Raft thread is asked to do.
pub enum RaftMsg {
    Propose {
        cmd: Command,
        reply: ProposalReply,
    },
    /// A membership change; `member` is the master added or removed.
    ChangeMembers {
        change: ConfChangeV2,
        member: Member,
        reply: ProposalReply,
    },
    /// Confirms leadership with a quorum; answers the commit index a linearizable read must see.
    ReadIndex {
        reply: oneshot::Sender<Result<u64, StoreError>>,
    },
    /// Hands leadership to another voter.
    TransferLeader(u64),
    /// A message from a peer.
    Step(Box<Message>),
    /// The transport could not deliver to this peer.
    Unreachable(u64),
    /// A snapshot sent to this peer arrived (`true`) or failed.
    SnapshotSent {
        to: u64,
        ok: bool,
    },
    Tick,
    Shutdown,
}

/// Where this master stands in the Raft group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaftStatus {
    pub id: u64,
    pub leader_id: u64,
    pub term: u64,
    pub is_leader: bool,
    pub commit: u64,
    pub applied: u64,
    pub last_index: u64,
    /// The first entry still in the log (those before it were compacted).
    pub first_index: u64,
    pub voters: Vec<u64>,
    pub learners: Vec<u64>,
    /// In a joint configuration (a membership change not yet completed).
    pub joint: bool,
    /// On the leader: the highest log index known to be replicated on each member.
    pub matched: Vec<(u64, u64)>,
    /// On the leader: the other voters it heard from within [`LIVE_WITHIN`].
    pub active: Vec<u64>,
}

impl RaftStatus {
    /// `leader`, `follower`, `candidate`, `learner`, `joining` (added, but the configuration
    /// has not reached it yet) or `removed`.
    pub fn role(&self) -> &'static str {
        if self.is_leader {
            "leader"
        } else if self.voters.contains(&self.id) {
            if self.leader_id != 0 {
                "follower"
            } else {
                "candidate"
            }
        } else if self.learners.contains(&self.id) {
            "learner"
        } else if self.voters.is_empty() {
            "joining"
        } else {
            "removed"
        }
    }
}

/// Sends Raft messages to peers.
pub trait Transport: Send + 'static {
    /// Queues messages for their peers; returns the ids of peers whose queue refused them
    /// (reported to Raft as unreachable, never blocking the Raft thread).
    fn send(&mut self, msgs: Vec<Message>) -> Vec<u64>;
}

/// The transport of a single-voter group: there is nobody to send to.
pub struct NoPeers;

impl Transport for NoPeers {
    fn send(&mut self, msgs: Vec<Message>) -> Vec<u64> {
        msgs.into_iter().map(|m| m.to).collect()
    }
}

/// What one drain of the Raft thread's inbox found besides the messages it handled.
#[derive(Debug, Default)]
pub struct Queued {
    pub ticks: usize,
    /// A message from the leader (this master following it) was among them.
    pub heard_leader: bool,
}

impl Queued {
    /// The ticks to count, after the other queued messages. Ticks pile up while the thread
    /// is busy (a Ready that syncs or applies a lot on a loaded machine), and so do the
    /// leader's messages: counted first, in arrival order, the ticks made a follower call an
    /// election although the leader's heartbeat was waiting right behind them (bench-scale's
    /// deploy phase, session 12). After a message from the leader, one tick counts: the time
    /// this thread was busy says nothing about the leader.
    pub fn ticks_to_count(&self) -> usize {
        if self.heard_leader {
            self.ticks.min(1)
        } else {
            self.ticks
        }
    }
}

#[cfg(test)]
mod queued_tests {
    use super::Queued;

    #[test]
    fn a_heard_leader_leaves_one_tick_of_a_backlog() {
        let backlog = |ticks, heard_leader| {
            Queued {
                ticks,
                heard_leader,
            }
            .ticks_to_count()
        };
        assert_eq!(backlog(12, false), 12, "no leader heard: time counts");
        assert_eq!(backlog(12, true), 1);
        assert_eq!(backlog(0, true), 0);
    }
}
