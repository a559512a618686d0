//! [`StatusBoard`]: the latest status of every pod, with a version per entry so the session
//! sends each change once, and everything again after a reconnect.
use std::collections::HashMap;
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
