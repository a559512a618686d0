//! [`Writer`]: how the agents' sessions and the events recorder write, on whichever master
//! they run. The leader proposes to its own Raft; a follower sends the command to the leader
//! (`Raft.Propose`) and then waits until it has applied as much as the leader had, so what
//! the session reads next includes its own write.
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::raft_client::RaftClient;
use bosun_proto::v1::ProposeRequest;

use super::clients::PeerChannels;
use crate::store::{Command, Store, StoreError};

/// How long a follower waits to apply what the leader applied for one of its writes.
const CATCH_UP: Duration = Duration::from_secs(10);
/// Largest command a follower forwards (a node's status batch for its every pod is far less).
const MAX_COMMAND_BYTES: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub struct Writer {
    store: Store,
    /// `None` for a master that never forwards (a store of its own, in tests).
    peers: Option<Arc<PeerChannels>>,
}

impl Writer {
    /// Writes to `store`, through the leader it reaches with `peers` when not leading.
    pub fn new(store: Store, peers: Arc<PeerChannels>) -> Self {
        Writer {
            store,
            peers: Some(peers),
        }
    }

    /// Writes to a store that never has another leader (a single master's).
    pub fn single(store: Store) -> Self {
        Writer { store, peers: None }
    }

    /// Writes `cmd` through the leader: `Ok` once it is applied on this master too.
    pub async fn write(&self, cmd: Command) -> Result<(), StoreError> {
        if self.store.is_leader() {
            return self.store.propose(cmd).await.map(|_| ());
        }
        let channel = self
            .peers
            .as_ref()
            .and_then(|p| p.leader(&self.store).ok())
            .ok_or(StoreError::NotLeader { leader: None })?;
        let answer = RaftClient::new(channel)
            .max_decoding_message_size(MAX_COMMAND_BYTES)
            .max_encoding_message_size(MAX_COMMAND_BYTES)
            .propose(ProposeRequest {
                command: cmd.encode(),
            })
            .await
            .map_err(|s| {
                StoreError::Unavailable(format!(
                    "forwarding a write to the leader: {}",
                    s.message()
                ))
            })?
            .into_inner();
        // A failed command also waits: a conflict is retried against what the leader had.
        self.caught_up(answer.applied).await?;
        if answer.error.is_empty() {
            return Ok(());
        }
        Err(serde_json::from_slice(&answer.error).unwrap_or_else(|e| {
            StoreError::Internal(format!(
                "the leader's answer to a write: unreadable error: {e}"
            ))
        }))
    }

    /// Waits until this master has applied `index`.
    async fn caught_up(&self, index: u64) -> Result<(), StoreError> {
        let mut status = self.store.status_changes();
        let reached = async { status.wait_for(|s| s.applied >= index).await.map(|_| ()) };
        match tokio::time::timeout(CATCH_UP, reached).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(StoreError::Unavailable("raft thread stopped".into())),
            Err(_) => Err(StoreError::Unavailable(format!(
                "this master did not apply the leader's entry {index} within {CATCH_UP:?}"
            ))),
        }
    }
}

/// The leader's side of `Raft.Propose`: applies the command, answers its applied index and
/// the error, if any.
pub async fn propose_for_peer(store: &Store, command: &[u8]) -> bosun_proto::v1::ProposeResponse {
    let result = match Command::decode(command) {
        Ok(cmd) => store.propose(cmd).await.map(|_| ()),
        Err(e) => Err(e),
    };
    bosun_proto::v1::ProposeResponse {
        applied: store.status().applied,
        error: match result {
            Ok(()) => Vec::new(),
            Err(e) => serde_json::to_vec(&e).unwrap_or_default(),
        },
    }
}
