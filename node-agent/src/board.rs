//! [`StatusBoard`]: the latest status of every pod, with a version per entry so the session
//! sends each change once, and everything again after a reconnect.
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use bosun_proto::v1::PodStatusReport;
use tokio::sync::Notify;

#[derive(Default)]
struct Entry {
    report: Option<PodStatusReport>,
    version: u64,
}

#[derive(Default)]
pub struct StatusBoard {
    entries: Mutex<(u64, HashMap<String, Entry>)>,
    /// Uids of the pods with containers on the engine or a step under way, as of the last
    /// reconcile pass; sent with every heartbeat.
    holding: Mutex<HashSet<String>>,
    pub changed: Notify,
}

impl StatusBoard {
    fn lock(&self) -> std::sync::MutexGuard<'_, (u64, HashMap<String, Entry>)> {
        // Only map operations happen under the lock.
        self.entries.lock().expect("status board lock")
    }

    /// Records the status of pod `uid` if it differs from the last one.
    pub fn set(&self, uid: &str, report: PodStatusReport) {
        let mut g = self.lock();
        let (counter, map) = &mut *g;
        let e = map.entry(uid.to_string()).or_default();
        if e.report.as_ref() == Some(&report) {
            return;
        }
        *counter += 1;
        e.report = Some(report);
        e.version = *counter;
        drop(g);
        self.changed.notify_one();
    }

    /// Records the pods held now; a change wakes the session, which sends it at once (a
    /// terminating pod is removed as soon as its containers are gone).
    pub fn set_holding(&self, uids: HashSet<String>) {
        let mut held = self.holding.lock().expect("holding lock");
        if *held != uids {
            *held = uids;
            drop(held);
            self.changed.notify_one();
        }
    }

    /// The pods this node still holds (sorted, for a stable message).
    pub fn holding(&self) -> Vec<String> {
        let mut uids: Vec<String> = self
            .holding
            .lock()
            .expect("holding lock")
            .iter()
            .cloned()
            .collect();
        uids.sort();
        uids
    }

    /// Forgets pods that are no longer assigned.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.lock().1.retain(|uid, _| keep(uid));
    }

    /// Reports changed after version `since`, and the newest version.
    pub fn since(&self, since: u64) -> (Vec<PodStatusReport>, u64) {
        let g = self.lock();
        let reports =
            g.1.values()
                .filter(|e| e.version > since)
                .filter_map(|e| e.report.clone())
                .collect();
        (reports, g.0)
    }
}
