//! Leader-only: learners that have caught up with the leader's log become voters.
use std::time::Duration;

use raft::eraftpb::ConfChangeType;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

use crate::store::Store;

/// A learner within this many entries of the leader's last index counts as caught up.
pub const CATCH_UP_SLACK: u64 = 16;
const CHECK_EVERY: Duration = Duration::from_millis(300);

pub struct Promoter {
    pub store: Store,
}

impl Promoter {
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tick.tick() => self.check().await,
            }
        }
    }

    async fn check(&self) {
        let s = self.store.status();
        if s.joint {
            return; // the previous change is still being completed
        }
        for learner in &s.learners {
            let matched = s
                .matched
                .iter()
                .find(|(id, _)| id == learner)
                .map_or(0, |(_, m)| *m);
            if matched + CATCH_UP_SLACK < s.last_index {
                continue;
            }
            let Some(member) = self.store.members().get(*learner) else {
                continue;
            };
            match self
                .store
                .change_members(ConfChangeType::AddNode, member.clone())
                .await
            {
                Ok(()) => {
                    info!(id = member.id, name = %member.name, "learner caught up: now a voter")
                }
                Err(e) => debug!(id = member.id, error = %e, "promotion not done yet"),
            }
        }
    }
}
