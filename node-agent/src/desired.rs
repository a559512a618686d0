//! [`DesiredPods`]: the pods the masters assigned to this node, kept on disk so that a restarted
//! agent (or one that cannot reach any master) keeps running exactly them.
//!
//! Assignments arrive one pod at a time; each is recorded in memory at once ([`DesiredPods::stage`])
//! and a saver task writes the latest state, coalescing what arrived while it wrote, off the
//! runtime's threads. A pod's containers are created only once its assignment is on disk
//! ([`DesiredPods::is_saved`]), so a restarted agent never finds containers of pods it does not
//! know.
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

#[derive(Default, Deserialize)]
struct OnDisk {
    pods: BTreeMap<String, Assigned>,
}

/// What is written: the same document as [`OnDisk`], by reference.
#[derive(Serialize)]
struct OnDiskRef<'a> {
    pods: BTreeMap<&'a str, &'a Assigned>,
}

/// Assigned pods by uid, shared: a snapshot copies pointers, not pods.
pub type Pods = BTreeMap<String, std::sync::Arc<Assigned>>;

/// Assigned pods by uid; every change is written to `assignments.json` and wakes the reconciler.
pub struct DesiredPods {
    path: PathBuf,
    /// `fsync` each save (not for simulated nodes, which have nothing to keep).
    durable: bool,
    pods: Mutex<Pods>,
    /// Bumped by every change of `pods`.
    version: std::sync::atomic::AtomicU64,
    /// The version on disk, and the uids it holds.
    saved: Mutex<(u64, std::collections::HashSet<String>)>,
    /// Wakes the saver.
    dirty: Notify,
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
        Self::load_with(data_dir, true)
    }

    /// [`DesiredPods::load`]; `durable: false` skips `fsync` (simulated nodes).
    pub fn load_with(data_dir: &Path, durable: bool) -> Self {
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
        let saved = pods.keys().cloned().collect();
        let pods: Pods = pods
            .into_iter()
            .map(|(uid, a)| (uid, std::sync::Arc::new(a)))
            .collect();
        DesiredPods {
            path,
            durable,
            version: Default::default(),
            saved: Mutex::new((0, saved)),
            dirty: Notify::new(),
            pods: Mutex::new(pods),
            known: known.into(),
            removal_grace: Mutex::default(),
            config: Default::default(),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Pods> {
        // Only map operations happen under the lock.
        self.pods.lock().expect("assignments lock")
    }

    /// The agent's data directory (where the assignments are saved).
    pub fn data_dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    pub fn snapshot(&self) -> Pods {
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

    /// Applies an assignment from the master (`full` replaces everything) and saves it before
    /// returning.
    pub fn apply(&self, full: bool, upsert: Vec<Pod>, removed: &[String]) -> Result<(), SaveError> {
        self.stage(full, upsert, removed);
        self.save_now().map(|_| ())
    }

    /// Applies an assignment in memory and wakes the reconciler and the saver
    /// ([`DesiredPods::run_saver`]).
    pub fn stage(&self, full: bool, upsert: Vec<Pod>, removed: &[String]) {
        let now = bosun_shared::time::now_rfc3339();
        {
            let mut pods = self.lock();
            let mut changed = false;
            if full {
                let keep: std::collections::HashSet<&str> =
                    upsert.iter().map(|p| p.metadata.uid.as_str()).collect();
                let before = pods.len();
                pods.retain(|uid, _| keep.contains(uid.as_str()));
                changed |= pods.len() != before;
            }
            for uid in removed {
                changed |= pods.remove(uid).is_some();
            }
            for pod in upsert {
                let uid = pod.metadata.uid.to_string();
                let start_time = match pods.get(&uid) {
                    Some(a) if a.pod == pod => continue,
                    Some(a) => a.start_time.clone(),
                    None => now.to_string(),
                };
                pods.insert(uid, std::sync::Arc::new(Assigned { pod, start_time }));
                changed = true;
            }
            if full {
                self.known.store(true, std::sync::atomic::Ordering::Release);
            }
            if !changed {
                return;
            }
            self.version
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
        self.dirty.notify_one();
        self.changed.notify_one();
    }

    /// Whether pod `uid`'s assignment is on disk: only then are its containers created.
    pub fn is_saved(&self, uid: &str) -> bool {
        self.saved.lock().expect("saved lock").1.contains(uid)
    }

    /// Writes the latest assignments if they changed since the last save; whether it wrote.
    /// Blocking: the saver runs it off the runtime's threads.
    pub fn save_now(&self) -> Result<bool, SaveError> {
        let (data, version, uids) = {
            let pods = self.lock();
            let version = self.version.load(std::sync::atomic::Ordering::Acquire);
            if self.saved.lock().expect("saved lock").0 == version && version != 0 {
                return Ok(false);
            }
            let doc = OnDiskRef {
                pods: pods.iter().map(|(k, v)| (k.as_str(), &**v)).collect(),
            };
            // Plain data always serializes.
            let data = serde_json::to_vec(&doc).expect("assignments serialize");
            (data, version, pods.keys().cloned().collect())
        };
        self.save(&data)?;
        let mut saved = self.saved.lock().expect("saved lock");
        if saved.0 <= version {
            *saved = (version, uids);
        }
        drop(saved);
        self.changed.notify_one();
        Ok(true)
    }

    /// Saves what [`DesiredPods::stage`] recorded, coalescing changes that arrive while it
    /// writes; retries a failed save every second; saves once more at `shutdown`.
    pub async fn run_saver(
        self: std::sync::Arc<Self>,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        loop {
            let stop = tokio::select! {
                _ = shutdown.cancelled() => true,
                _ = self.dirty.notified() => false,
            };
            let me = self.clone();
            match tokio::task::spawn_blocking(move || me.save_now()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    warn!(error = %e, "could not save assignments; retrying");
                    if !stop {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        self.dirty.notify_one();
                    }
                }
                Err(e) => warn!(error = %e, "the assignment saver failed"),
            }
            if stop {
                return;
            }
        }
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
        if self.durable {
            f.sync_all().map_err(err)?;
        }
        std::fs::rename(&tmp, &self.path).map_err(err)?;
        // The rename itself is durable once the directory is synced.
        if let Some(dir) = self.path.parent().filter(|_| self.durable) {
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
        p.metadata.name = format!("p-{uid}").into();
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

    #[test]
    fn staged_pods_run_only_once_saved() {
        let dir = tempfile::tempdir().unwrap();
        let d = DesiredPods::load_with(dir.path(), false);
        d.stage(true, vec![pod("a")], &[]);
        d.stage(false, vec![pod("b")], &[]);
        assert_eq!(d.snapshot().len(), 2, "known at once");
        assert!(!d.is_saved("a") && !d.is_saved("b"), "not on disk yet");
        assert!(d.save_now().unwrap(), "both in one write");
        assert!(d.is_saved("a") && d.is_saved("b"));
        assert!(!d.save_now().unwrap(), "nothing new to write");
        assert_eq!(DesiredPods::load(dir.path()).snapshot().len(), 2);
    }
}
