//! [`BeatForwarder`]: a follower sends its agents' heartbeats to the leader, whose node
//! lifecycle controller judges every node by them, wherever its session is.
//!
//! Every [`ROUND`] the beats taken since the last round that reached the leader go in one
//! batch; a new leader gets all of them. When no leader took a batch for [`CUT_OFF`], the
//! follower counts as cut off: its sessions end, so their agents find a master that reaches
//! the leader (their writes could not be stored either).
use std::sync::Arc;
use std::time::{Duration, Instant};

use bosun_proto::v1::raft_client::RaftClient;
use bosun_proto::v1::{BeatBatch, NodeBeat};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use super::Registry;
use crate::peers::clients::PeerChannels;
use crate::store::Store;

/// How often a follower forwards the beats it took.
pub const ROUND: Duration = Duration::from_millis(250);
/// How long a follower may go without reaching a leader before its sessions end. Longer than
/// an election (a leader change must not move every agent), shorter than the grace a node
/// gets before it counts as unreachable.
pub const CUT_OFF: Duration = Duration::from_secs(6);
/// How long one batch may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(2);

pub struct BeatForwarder {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub peers: Arc<PeerChannels>,
    /// This master's client address, where the leader relays logs and exec for its nodes.
    pub address: String,
    /// Whether this master reaches a leader (always, while it leads).
    pub reaches_leader: watch::Sender<bool>,
}

impl BeatForwarder {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(ROUND);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The leader that took the last batch, and when the round that built it started.
        let mut sent: Option<(u64, Instant)> = None;
        let mut reached = Instant::now();
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => {}
            }
            let round = Instant::now();
            let status = self.store.status();
            let ok = if status.is_leader {
                sent = None;
                true
            } else if status.leader_id == 0 {
                false
            } else {
                let since = sent
                    .filter(|(leader, _)| *leader == status.leader_id)
                    .map(|(_, at)| at);
                let done = self.send(round, since).await;
                if done {
                    sent = Some((status.leader_id, round));
                }
                done
            };
            if ok {
                reached = round;
            }
            let reaches = round.duration_since(reached) < CUT_OFF;
            self.reaches_leader.send_if_modified(|old| {
                let changed = *old != reaches;
                if changed && !reaches {
                    warn!("no leader took this master's heartbeats for {CUT_OFF:?}: ending its agents' sessions");
                }
                *old = reaches;
                changed
            });
        }
    }

    /// Sends the beats taken after `since` (all of them when `None`) to the leader; an empty
    /// batch too, which tells whether the leader is reached.
    async fn send(&self, round: Instant, since: Option<Instant>) -> bool {
        let beats: Vec<NodeBeat> = self
            .registry
            .local_beats()
            .into_iter()
            .filter(|(_, b)| since.is_none_or(|s| b.at > s))
            .map(|(node, b)| NodeBeat {
                node,
                ago_ms: round.saturating_duration_since(b.at).as_millis() as u64,
                every_ms: b.every.as_millis() as u32,
            })
            .collect();
        let Ok(channel) = self.peers.leader(&self.store) else {
            return false;
        };
        let batch = BeatBatch {
            from: self.store.status().id,
            from_address: self.address.clone(),
            beats,
        };
        let mut client = RaftClient::new(channel);
        let call = client.beats(batch);
        match tokio::time::timeout(SEND_TIMEOUT, call).await {
            Ok(Ok(_)) => true,
            Ok(Err(e)) => {
                debug!(error = %e.message(), "the leader did not take this master's heartbeats");
                false
            }
            Err(_) => {
                debug!("sending heartbeats to the leader timed out");
                false
            }
        }
    }
}
