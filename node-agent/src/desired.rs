//! [`DesiredPods`]: the pods the masters assigned to this node, kept on disk so that a restarted
//! agent (or one that cannot reach any master) keeps running exactly them.
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use bosun_shared::pod::Pod;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tracing::warn;

/// One assigned pod and when this agent first took it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Assigned {
    pub pod: Pod,
    pub start_time: String,
}

#[derive(Default, Serialize, Deserialize)]
struct OnDisk {
    pods: BTreeMap<String, Assigned>,
}

/// Assigned pods by uid; every change is written to `assignments.json` and wakes the reconciler.
pub struct DesiredPods {
    path: PathBuf,
    pods: Mutex<BTreeMap<String, Assigned>>,
    /// False until the assignments are known: read from the file, or received in full from a
    /// master. Until then nothing is removed: an agent whose file was lost must not stop
    /// containers a master still wants.
    known: std::sync::atomic::AtomicBool,
    /// Stop grace chosen when a pod was deleted (`--grace-period`), by uid, until its
    /// containers are gone. Kept in memory only: after an agent restart the pod's own grace
    /// applies.
    removal_grace: Mutex<HashMap<String, Duration>>,
    /// The ConfigMaps and Secrets the pods use (memory only).
    pub config: crate::assigned_config::AssignedConfig,
    pub changed: Notify,
}

/// Why the assignments could not be saved.
#[derive(Debug, thiserror::Error)]
#[error("saving assignments to {path}: {source}")]
pub struct SaveError {
    path: String,
    source: std::io::Error,
}

impl DesiredPods {
    /// Loads the assignments saved in `data_dir` (none if the file is missing or unreadable).
    pub fn load(data_dir: &Path) -> Self {
        let path = data_dir.join("assignments.json");
        let (pods, known) = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice::<OnDisk>(&bytes) {
                Ok(d) => (d.pods, true),
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "unreadable assignments file: waiting for a master before removing anything");
                    (BTreeMap::new(), false)
                }
            },
            Err(_) => (BTreeMap::new(), false),
        };
        DesiredPods {
            path,
            pods: Mutex::new(pods),
            known: known.into(),
            removal_grace: Mutex::default(),
            config: Default::default(),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Assigned>> {
        // Only map operations happen under the lock.
        self.pods.lock().expect("assignments lock")
    }

    /// The agent's data directory (where the assignments are saved).
    pub fn data_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn snapshot(&self) -> BTreeMap<String, Assigned> {
        self.lock().clone()
    }

    /// Records the grace periods chosen for pods being removed (seconds, by uid).
    pub fn set_removal_grace(&self, grace: &HashMap<String, i64>) {
        if grace.is_empty() {
            return;
        }
        let mut g = self.removal_grace.lock().expect("removal grace lock");
        for (uid, secs) in grace {
            g.insert(uid.clone(), Duration::from_secs((*secs).max(0) as u64));
        }
    }

    /// The grace period chosen when pod `uid` was deleted, if one was.
    pub fn removal_grace(&self, uid: &str) -> Option<Duration> {
        self.removal_grace
            .lock()
            .expect("removal grace lock")
            .get(uid)
            .copied()
    }

    /// Forgets the chosen grace of pods no longer on the engine.
    pub fn retain_removal_grace(&self, keep: impl Fn(&str) -> bool) {
        self.removal_grace
            .lock()
            .expect("removal grace lock")
            .retain(|uid, _| keep(uid));
    }

    /// Whether the assignments are known (see the field); containers of unassigned pods are
    /// removed only then.
    pub fn known(&self) -> bool {
        self.known.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Applies an assignment from the master: `full` replaces everything.
    pub fn apply(&self, full: bool, upsert: Vec<Pod>, removed: &[String]) -> Result<(), SaveError> {
        let now = bosun_shared::time::now_rfc3339();
        let data = {
            let mut pods = self.lock();
            let before = pods.clone();
            if full {
                pods.retain(|uid, _| upsert.iter().any(|p| &p.metadata.uid == uid));
            }
            for uid in removed {
                pods.remove(uid);
            }
            for pod in upsert {
                let uid = pod.metadata.uid.clone();
                let start_time = pods
                    .get(&uid)
                    .map_or_else(|| now.clone(), |a| a.start_time.clone());
                pods.insert(uid, Assigned { pod, start_time });
            }
            if full {
                self.known.store(true, std::sync::atomic::Ordering::Release);
            }
            if *pods == before {
                return Ok(());
            }
            // Plain data always serializes.
            serde_json::to_vec(&OnDisk { pods: pods.clone() }).expect("assignments serialize")
        };
        self.save(&data)?;
        self.changed.notify_one();
        Ok(())
    }

    /// Writes atomically: a crash leaves either the old or the new file.
    fn save(&self, data: &[u8]) -> Result<(), SaveError> {
        let err = |source| SaveError {
            path: self.path.display().to_string(),
            source,
        };
        let tmp = self.path.with_extension("json.tmp");
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        std::io::Write::write_all(&mut f, data).map_err(err)?;
        f.sync_all().map_err(err)?;
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(err)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(uid: &str) -> Pod {
        let mut p = Pod::default();
        p.metadata.uid = uid.into();
        p.metadata.name = format!("p-{uid}");
        p
    }

    #[test]
    fn assignments_survive_a_restart_and_full_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let d = DesiredPods::load(dir.path());
        d.apply(true, vec![pod("a"), pod("b")], &[]).unwrap();
        d.apply(false, vec![pod("c")], &["a".to_string()]).unwrap();
        let reloaded = DesiredPods::load(dir.path());
        assert_eq!(reloaded.snapshot().keys().collect::<Vec<_>>(), ["b", "c"]);
        reloaded.apply(true, vec![pod("c")], &[]).unwrap();
        assert_eq!(
            DesiredPods::load(dir.path())
                .snapshot()
                .keys()
                .collect::<Vec<_>>(),
            ["c"]
        );
    }
}
