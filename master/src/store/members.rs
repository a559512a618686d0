//! [`Member`]: a master in the Raft group: its Raft id, name and address. The member list is
//! part of the replicated state: it changes only by applying a membership change entry (whose
//! context carries the member), and travels in snapshots.
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};

/// One master.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Raft id (1 for the first master).
    pub id: u64,
    pub name: String,
    /// `host:port` of its one listener (clients, agents and peers).
    pub address: String,
}

/// The members by Raft id, shared by the Raft thread (writer), the transport and the API.
#[derive(Clone, Default)]
pub struct MemberBook(Arc<RwLock<BTreeMap<u64, Member>>>);

impl MemberBook {
    pub fn new(members: BTreeMap<u64, Member>) -> Self {
        MemberBook(Arc::new(RwLock::new(members)))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<u64, Member>> {
        // Writers only insert or remove entries; they cannot panic mid-write.
        self.0.read().expect("member book lock")
    }

    pub fn all(&self) -> BTreeMap<u64, Member> {
        self.read().clone()
    }

    pub fn get(&self, id: u64) -> Option<Member> {
        self.read().get(&id).cloned()
    }

    pub fn address(&self, id: u64) -> Option<String> {
        self.read().get(&id).map(|m| m.address.clone())
    }

    pub fn by_name(&self, name: &str) -> Option<Member> {
        self.read().values().find(|m| m.name == name).cloned()
    }

    pub fn replace(&self, members: BTreeMap<u64, Member>) {
        *self.0.write().expect("member book lock") = members;
    }

    /// Fills in the address of a member whose address is not known yet (a master bootstrapped
    /// before it knew how it is reached). Unknown ids are ignored: only membership changes add
    /// members, so a removed master that keeps calling cannot reappear.
    pub fn learn(&self, id: u64, address: &str) {
        let mut m = self.0.write().expect("member book lock");
        if let Some(member) = m.get_mut(&id).filter(|x| x.address.is_empty()) {
            member.address = address.to_string();
        }
    }
}

/// What a membership change entry carries in its context.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeContext {
    /// Master that proposed it, and its proposal number (to answer the proposer).
    pub proposer: u64,
    pub proposal: u64,
    /// The member added (for removals, the one removed).
    pub member: Member,
}
