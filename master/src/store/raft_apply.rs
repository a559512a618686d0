//! Applying committed entries: commands to the objects, membership changes to the
//! configuration and the member list. Objects, members and the applied index of an entry are
//! written together, so a restart never half-applies one.
use raft::eraftpb::{ConfChange, ConfChangeType, ConfChangeV2, Entry, EntryType};
use raft_proto::ConfChangeI;
use tracing::{info, warn};

use super::command::{plan, EventType};
use super::encoded::Stored;
use super::error::StoreError;
use super::key::key_of;
use super::members::ChangeContext;
use super::raft_node::RaftLoop;
use super::raft_types::{ProposalReply, Transport};
use bosun_shared::Object;
use std::sync::Arc;

/// A proposal's reply channel and its result, sent once the entry is durable.
pub(super) type Reply = (ProposalReply, Result<Vec<Arc<Object>>, StoreError>);

impl<T: Transport> RaftLoop<T> {
    /// Applies committed entries; answers to local proposals are collected in `replies`.
    pub(super) fn apply_entries(
        &mut self,
        entries: Vec<Entry>,
        replies: &mut Vec<Reply>,
    ) -> Result<(), StoreError> {
        for entry in entries {
            match entry.get_entry_type() {
                EntryType::EntryNormal => self.apply_normal(&entry, replies)?,
                EntryType::EntryConfChange => {
                    let cc: ConfChange = decode(&entry)?;
                    self.apply_conf_change(&entry, cc.into_v2(), replies)?;
                }
                EntryType::EntryConfChangeV2 => {
                    let cc: ConfChangeV2 = decode(&entry)?;
                    self.apply_conf_change(&entry, cc, replies)?;
                }
            }
        }
        Ok(())
    }

    fn mark_applied(&mut self, index: u64) -> Result<(), StoreError> {
        self.storage.write_applied(vec![], vec![], index)?;
        self.write_state().advance(index);
        Ok(())
    }

    fn apply_normal(&mut self, entry: &Entry, replies: &mut Vec<Reply>) -> Result<(), StoreError> {
        let index = entry.index;
        let mut proposal = proposal_id(&entry.context)
            .filter(|(node, _)| *node == self.node.raft.id)
            .and_then(|(_, id)| self.pending.remove(&id));
        if entry.data.is_empty() {
            // The empty entry a new leader appends.
            return self.mark_applied(index);
        }
        // This master's own proposal is applied as proposed, without decoding it again.
        let cmd = match proposal.as_mut().and_then(|p| p.command.take()) {
            Some(cmd) => cmd,
            None => super::sealing::decode(self.storage.keys(), &entry.data)?,
        };
        let reply = proposal.map(|p| p.reply);
        let planned = {
            let state = self.state.read().expect("store state lock");
            plan(state.objects(), cmd, index).map(|changes| {
                let keys: Vec<_> = changes.iter().map(|c| key_of(&c.object)).collect();
                let replaced: Vec<Stored> = keys
                    .iter()
                    .filter_map(|k| state.objects().get(k).cloned())
                    .collect();
                (changes, keys, replaced)
            })
        };
        let result = match planned {
            Ok((changes, keys, replaced)) => {
                // The history keeps the versions these changes replace, and the deleted ones,
                // as JSON only (`history`): encoded here, not under the write lock below.
                for s in &replaced {
                    s.json();
                }
                for c in changes.iter().filter(|c| c.event == EventType::Deleted) {
                    c.json();
                }
                let mut upserts = Vec::new();
                let mut deletes = Vec::new();
                for (c, key) in changes.iter().zip(keys) {
                    if c.event == EventType::Deleted {
                        deletes.push(key);
                    } else {
                        upserts.push((key, c.object.clone()));
                    }
                }
                self.storage.write_applied(upserts, deletes, index)?;
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

    /// Makes a membership change effective, records the configuration and the member list.
    fn apply_conf_change(
        &mut self,
        entry: &Entry,
        cc: ConfChangeV2,
        replies: &mut Vec<Reply>,
    ) -> Result<(), StoreError> {
        let index = entry.index;
        let ctx: Option<ChangeContext> = serde_json::from_slice(&entry.context).ok();
        let cs = match self.node.apply_conf_change(&cc) {
            Ok(cs) => cs,
            Err(e) => {
                // An invalid change (e.g. removing the last voter) is refused, not fatal.
                warn!(index, error = %e, "membership change refused");
                self.mark_applied(index)?;
                if let Some(reply) = self.take_reply(ctx.as_ref()) {
                    let err = StoreError::Invalid {
                        object: "membership".into(),
                        message: e.to_string(),
                    };
                    replies.push((reply, Err(err)));
                }
                return Ok(());
            }
        };
        let mut members = self.members.all();
        for c in &cc.changes {
            match c.get_change_type() {
                ConfChangeType::AddNode | ConfChangeType::AddLearnerNode => {
                    if let Some(m) = ctx
                        .as_ref()
                        .map(|x| &x.member)
                        .filter(|m| m.id == c.node_id)
                    {
                        members.insert(m.id, m.clone());
                    }
                }
                ConfChangeType::RemoveNode => {
                    members.remove(&c.node_id);
                }
            }
        }
        // Addresses learned from peers that are not members are dropped here.
        // Members of either side of a joint configuration stay reachable until it is left.
        let in_config = |id: &u64| {
            cs.voters.contains(id)
                || cs.voters_outgoing.contains(id)
                || cs.learners.contains(id)
                || cs.learners_next.contains(id)
        };
        members.retain(|id, _| in_config(id));
        let list: Vec<_> = members.values().cloned().collect();
        self.storage.write_membership(&cs, &list, index)?;
        self.members.replace(members);
        self.write_state().advance(index);
        info!(index, voters = ?cs.voters, learners = ?cs.learners, "membership changed");
        let me = self.node.raft.id;
        if !in_config(&me) && !cs.voters.is_empty() {
            warn!("this master was removed from the cluster; stopping");
            self.fatal.cancel();
        }
        if let Some(reply) = self.take_reply(ctx.as_ref()) {
            replies.push((reply, Ok(vec![])));
        }
        Ok(())
    }

    fn take_reply(&mut self, ctx: Option<&ChangeContext>) -> Option<ProposalReply> {
        let ctx = ctx.filter(|c| c.proposer == self.node.raft.id)?;
        self.pending.remove(&ctx.proposal).map(|p| p.reply)
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
