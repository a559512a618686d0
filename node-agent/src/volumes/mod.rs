//! [`PodVolumes`]: the node's side of pod volumes. Every volume is a path of the node bound
//! into the containers that mount it:
//!
//! - `emptyDir`: `<data dir>/pods/<uid>/volumes/<name>`, or with `medium: Memory` a directory
//!   in the node's tmpfs (`/dev/shm`); removed with the pod.
//! - `hostPath`: the path itself, after its `type` check ([`host_path`]).
//! - `configMap`: the keys as files in `<data dir>/pods/<uid>/volumes/<name>`, rewritten
//!   atomically when the ConfigMap changes ([`files`]).
//! - `secret`: the same, but in the tmpfs: a Secret never touches the node's disk.
//! - `persistentVolumeClaim`: the claim's Docker named volume (made on first use, labelled
//!   with the claim's uid and reclaim policy), on the node the claim is bound to; removed once
//!   the master no longer lists the claim for this node, unless its policy is `Retain`.
//!
//! `subPath` mounts a path inside the volume (created as a directory if missing). ConfigMap
//! and Secret volumes are read-only, as in Kubernetes.
mod files;
mod host_path;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bosun_shared::pod::{Container, Pod};
use bosun_shared::volume::{KeyToPath, Volume, DEFAULT_FILE_MODE};
use bosun_shared::Kind;
use tracing::warn;

use crate::assigned_config::AssignedConfig;
use crate::runtime::{Mount, Runtime};

/// Labels of a claim's volume: it is one, of this node, of this claim, with this policy.
const CLAIM_LABEL: &str = "bosun.claim.uid";
const CLAIM_NAME_LABEL: &str = "bosun.claim";
const RECLAIM_LABEL: &str = "bosun.reclaim-policy";
const KIND_LABEL: &str = "bosun.volume";

pub struct PodVolumes<R> {
    /// `<data dir>/pods`.
    disk: PathBuf,
    /// A directory of this node in a tmpfs.
    memory: PathBuf,
    node: String,
    runtime: Arc<R>,
    /// The reclaim policy each claim had when last seen (true: Retain), by uid: a claim
    /// switched to Retain after its volume was made keeps it.
    retained: std::sync::Mutex<HashMap<String, bool>>,
}

/// Where a volume is on the node, and whether mounts of it are read-only.
struct Prepared {
    path: PathBuf,
    /// A Docker named volume: mounted by name (so the engine knows it is in use and refuses
    /// to remove it), except below a `subPath`, which the engine's API (1.41) cannot mount.
    volume: Option<String>,
    read_only: bool,
}

impl<R: Runtime> PodVolumes<R> {
    pub fn new(data_dir: &Path, node: &str, runtime: Arc<R>) -> Self {
        let shm = Path::new("/dev/shm");
        let tmpfs = if shm.is_dir() { shm } else { Path::new("/run") };
        PodVolumes {
            disk: data_dir.join("pods"),
            memory: tmpfs.join(format!("bosun-{node}")),
            node: node.to_string(),
            runtime,
            retained: Default::default(),
        }
    }

    /// Uids of the claims container `c` of `pod` mounts.
    pub fn claim_uids_of(&self, pod: &Pod, c: &Container, config: &AssignedConfig) -> Vec<String> {
        pod.spec
            .volumes
            .iter()
            .filter(|v| c.volume_mounts.iter().any(|m| m.name == v.name))
            .filter_map(|v| v.persistent_volume_claim.as_ref())
            .filter_map(|claim| {
                let o = config.get(
                    Kind::PersistentVolumeClaim,
                    &pod.metadata.namespace,
                    &claim.claim_name,
                )?;
                Some(o.as_claim()?.metadata.uid.to_string())
            })
            .collect()
    }

    /// Labels every claim volume of this node carries.
    fn node_labels(&self) -> BTreeMap<String, String> {
        let mut l = crate::labels::node_selector(&self.node);
        l.insert(KIND_LABEL.into(), "persistentvolumeclaim".into());
        l
    }

    /// The claim's volume on this node (made if missing), or why the pod cannot use it.
    async fn claim_volume(
        &self,
        pod: &Pod,
        name: &str,
        config: &AssignedConfig,
    ) -> Result<(String, PathBuf), String> {
        let ns = &pod.metadata.namespace;
        let claim = config.get(Kind::PersistentVolumeClaim, ns, name);
        let Some(c) = claim.as_deref().and_then(bosun_shared::Object::as_claim) else {
            return Err(format!("persistentvolumeclaim \"{name}\" not found"));
        };
        match c.node() {
            Some(n) if n == self.node => {}
            Some(n) => {
                return Err(format!(
                    "persistentvolumeclaim \"{name}\" is bound to node {n}"
                ))
            }
            None => return Err(format!("persistentvolumeclaim \"{name}\" is not bound yet")),
        }
        let mut labels = self.node_labels();
        labels.insert(CLAIM_LABEL.into(), c.metadata.uid.to_string());
        labels.insert(CLAIM_NAME_LABEL.into(), format!("{ns}/{name}"));
        let policy = if c.retained() { "Retain" } else { "Delete" };
        labels.insert(RECLAIM_LABEL.into(), policy.into());
        let volume = c.volume_name();
        self.runtime
            .ensure_volume(&volume, &labels)
            .await
            .map(|path| (volume, PathBuf::from(path)))
            .map_err(|e| format!("volume of persistentvolumeclaim \"{name}\": {e}"))
    }

    /// Removes the volumes of claims the master no longer lists for this node (deleted, or
    /// bound elsewhere), unless their policy is `Retain`; one still in use is tried again on
    /// a later pass.
    pub async fn collect_claims(
        &self,
        config: &AssignedConfig,
        containers: &[crate::runtime::ObservedContainer],
    ) {
        // Only what a master sent in full counts: a restarted agent knows no claim yet.
        if !config.known() {
            return;
        }
        let Ok(volumes) = self.runtime.list_volumes(&self.node_labels()).await else {
            return;
        };
        // The policy a claim has now wins over the one its volume was made with.
        let live = config.claim_policies();
        let policies = {
            let mut retained = self.retained.lock().expect("retained claims lock");
            for (uid, retain) in &live {
                retained.insert(uid.clone(), *retain);
            }
            retained.clone()
        };
        // Claims mounted by a container that still exists (running or not).
        let in_use: std::collections::HashSet<&str> = containers
            .iter()
            .filter_map(|c| c.labels.get(crate::labels::CLAIMS))
            .flat_map(|l| l.split(','))
            .collect();
        for (name, labels) in volumes {
            let Some(uid) = labels.get(CLAIM_LABEL) else {
                continue;
            };
            let retain = policies
                .get(uid)
                .copied()
                .unwrap_or_else(|| labels.get(RECLAIM_LABEL).map(String::as_str) == Some("Retain"));
            if live.contains_key(uid) || retain || in_use.contains(uid.as_str()) {
                continue;
            }
            match self.runtime.remove_volume(&name).await {
                Ok(()) => {
                    tracing::info!(volume = %name, claim = ?labels.get(CLAIM_NAME_LABEL), "removed the volume of a deleted claim")
                }
                Err(e) => {
                    tracing::debug!(volume = %name, error = %e, "claim volume not removed yet")
                }
            }
        }
    }

    fn disk_dir(&self, uid: &str, name: &str) -> PathBuf {
        self.disk.join(uid).join("volumes").join(name)
    }

    fn memory_dir(&self, uid: &str, name: &str) -> PathBuf {
        self.memory.join(uid).join(name)
    }

    /// Makes every volume of `pod` ready and returns the mounts of container `c`, or why
    /// the container cannot start.
    pub async fn mounts(
        &self,
        pod: &Pod,
        c: &Container,
        config: &AssignedConfig,
    ) -> Result<Vec<Mount>, String> {
        let mut prepared: HashMap<&str, Prepared> = HashMap::new();
        for v in &pod.spec.volumes {
            if c.volume_mounts.iter().any(|m| m.name == v.name) {
                let p = match &v.persistent_volume_claim {
                    Some(claim) => {
                        let (volume, path) =
                            self.claim_volume(pod, &claim.claim_name, config).await?;
                        Prepared {
                            path,
                            volume: Some(volume),
                            read_only: claim.read_only == Some(true),
                        }
                    }
                    None => self.prepare(pod, v, config)?,
                };
                prepared.insert(&v.name, p);
            }
        }
        c.volume_mounts
            .iter()
            .map(|m| {
                let p = prepared
                    .get(m.name.as_str())
                    .ok_or_else(|| format!("volume {} is not in the pod", m.name))?;
                let mut source = p.path.clone();
                let sub = m.sub_path.as_deref().filter(|s| !s.is_empty());
                if let Some(sub) = sub {
                    source = source.join(sub);
                    if std::fs::symlink_metadata(&source).is_err() {
                        std::fs::create_dir_all(&source)
                            .map_err(|e| format!("subPath {sub} of volume {}: {e}", m.name))?;
                    }
                }
                let source = match (&p.volume, sub) {
                    (Some(name), None) => name.clone(),
                    _ => source.display().to_string(),
                };
                Ok(Mount {
                    source,
                    target: m.mount_path.clone(),
                    read_only: p.read_only || m.read_only == Some(true),
                })
            })
            .collect()
    }

    fn prepare(&self, pod: &Pod, v: &Volume, config: &AssignedConfig) -> Result<Prepared, String> {
        let uid = &pod.metadata.uid;
        let made = |path: PathBuf| -> Result<Prepared, String> {
            std::fs::create_dir_all(&path)
                .map_err(|e| format!("volume {}: {}: {e}", v.name, path.display()))?;
            Ok(Prepared {
                path,
                volume: None,
                read_only: false,
            })
        };
        if let Some(e) = &v.empty_dir {
            return made(if e.in_memory() {
                self.memory_dir(uid, &v.name)
            } else {
                self.disk_dir(uid, &v.name)
            });
        }
        if let Some(h) = &v.host_path {
            host_path::check(&h.path, h.type_.as_deref().unwrap_or_default())?;
            return Ok(Prepared {
                path: PathBuf::from(&h.path),
                volume: None,
                read_only: false,
            });
        }
        if v.config_map.is_some() || v.secret.is_some() {
            let path = self.object_dir(uid, v);
            self.write_object(pod, v, config)?;
            return Ok(Prepared {
                path,
                volume: None,
                read_only: true,
            });
        }
        Err(format!(
            "volume {}: this kind of volume is not supported on this node",
            v.name
        ))
    }

    fn object_dir(&self, uid: &str, v: &Volume) -> PathBuf {
        if v.secret.is_some() {
            self.memory_dir(uid, &v.name)
        } else {
            self.disk_dir(uid, &v.name)
        }
    }

    /// Writes a configMap or secret volume's files (nothing if they are current).
    fn write_object(&self, pod: &Pod, v: &Volume, config: &AssignedConfig) -> Result<bool, String> {
        let ns = &pod.metadata.namespace;
        let (kind, name, items, mode, optional) = match (&v.config_map, &v.secret) {
            (Some(c), _) => (
                Kind::ConfigMap,
                &c.name,
                &c.items,
                c.default_mode,
                c.optional,
            ),
            (None, Some(s)) => (
                Kind::Secret,
                &s.secret_name,
                &s.items,
                s.default_mode,
                s.optional,
            ),
            _ => return Ok(false),
        };
        let values = match config.values(kind, ns, name) {
            Some(v) => v,
            None if optional == Some(true) => BTreeMap::new(),
            None => return Err(format!("{} \"{name}\" not found", kind.resource_name())),
        };
        let files = select(
            &values,
            items,
            mode.unwrap_or(DEFAULT_FILE_MODE),
            kind,
            name,
        )?;
        files::write_atomic(&self.object_dir(&pod.metadata.uid, v), &files)
            .map_err(|e| format!("volume {}: writing its files: {e}", v.name))
    }

    /// Rewrites the configMap and secret volumes of running pods whose objects changed.
    pub fn refresh(&self, pod: &Pod, config: &AssignedConfig) {
        for v in &pod.spec.volumes {
            let dir = self.object_dir(&pod.metadata.uid, v);
            if (v.config_map.is_some() || v.secret.is_some()) && dir.exists() {
                if let Err(e) = self.write_object(pod, v, config) {
                    warn!(pod = %pod.metadata.name, volume = %v.name, error = %e, "volume not updated");
                }
            }
        }
    }

    /// Removes the volumes of pods `keep` does not name (emptyDir data goes with its pod).
    pub fn cleanup(&self, keep: impl Fn(&str) -> bool) {
        for root in [&self.disk, &self.memory] {
            let Ok(entries) = std::fs::read_dir(root) else {
                continue;
            };
            for e in entries.flatten() {
                let uid = e.file_name().to_string_lossy().into_owned();
                if !keep(&uid) {
                    if let Err(err) = std::fs::remove_dir_all(e.path()) {
                        warn!(pod_uid = %uid, error = %err, "could not remove the pod's volumes");
                    }
                }
            }
        }
    }
}

/// The files of a configMap or secret volume: every key, or only `items`.
fn select(
    values: &BTreeMap<String, Vec<u8>>,
    items: &[KeyToPath],
    mode: i32,
    kind: Kind,
    name: &str,
) -> Result<files::Files, String> {
    let mode = |m: Option<i32>| (m.unwrap_or(mode) & 0o777) as u32;
    if items.is_empty() {
        return Ok(values
            .iter()
            .map(|(k, v)| (k.clone(), (v.clone(), mode(None))))
            .collect());
    }
    items
        .iter()
        .map(|i| {
            let v = values.get(&i.key).ok_or_else(|| {
                format!("couldn't find key {} in {} {name}", i.key, kind.as_str())
            })?;
            Ok((i.path.clone(), (v.clone(), mode(i.mode))))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::Object;

    fn pod() -> Pod {
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "namespace": "default", "uid": "u1"},
            "spec": {
                "containers": [{"name": "c", "image": "x", "volumeMounts": [
                    {"name": "scratch", "mountPath": "/scratch"},
                    {"name": "conf", "mountPath": "/etc/app"},
                    {"name": "creds", "mountPath": "/run/creds"},
                    {"name": "scratch", "mountPath": "/logs", "subPath": "logs"},
                ]}],
                "volumes": [
                    {"name": "scratch", "emptyDir": {}},
                    {"name": "conf", "configMap": {"name": "settings", "items": [{"key": "a", "path": "app/a.conf", "mode": 0o600}]}},
                    {"name": "creds", "secret": {"secretName": "db", "defaultMode": 0o400}},
                ],
            },
        }))
        .unwrap()
    }

    #[tokio::test]
    async fn volumes_are_prepared_mounted_updated_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let vols = PodVolumes {
            disk: dir.path().join("pods"),
            memory: dir.path().join("shm"),
            node: "n1".into(),
            runtime: Arc::new(crate::runtime::fake::FakeRuntime::new(1000, 1 << 30)),
            retained: Default::default(),
        };
        let config = AssignedConfig::default();
        let p = pod();
        let c = p.spec.containers[0].clone();
        assert_eq!(
            vols.mounts(&p, &c, &config).await.unwrap_err(),
            "configmap \"settings\" not found"
        );
        let cm = |a: &str| {
            Object::from_value(serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "default"}, "data": {"a": a, "b": "2"}}))
            .unwrap()
        };
        let secret = Object::from_value(serde_json::json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "db", "namespace": "default"}, "data": {"password": "aHVudGVyMg=="}})).unwrap();
        config.apply(true, vec![cm("1"), secret], &[]);
        let mounts = vols.mounts(&p, &c, &config).await.unwrap();
        let by_target: HashMap<&str, &Mount> =
            mounts.iter().map(|m| (m.target.as_str(), m)).collect();
        assert!(!by_target["/scratch"].read_only);
        assert!(by_target["/etc/app"].read_only);
        assert!(by_target["/logs"]
            .source
            .ends_with("u1/volumes/scratch/logs"));
        assert!(Path::new(&by_target["/logs"].source).is_dir());
        let conf = Path::new(&by_target["/etc/app"].source);
        assert_eq!(
            std::fs::read_to_string(conf.join("app/a.conf")).unwrap(),
            "1"
        );
        assert!(!conf.join("b").exists(), "only the items asked for");
        let creds = Path::new(&by_target["/run/creds"].source);
        assert!(
            creds.starts_with(dir.path().join("shm")),
            "secrets live in the tmpfs"
        );
        assert_eq!(
            std::fs::read_to_string(creds.join("password")).unwrap(),
            "hunter2"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(creds.join("password"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o400);

        config.apply(false, vec![cm("changed")], &[]);
        vols.refresh(&p, &config);
        assert_eq!(
            std::fs::read_to_string(conf.join("app/a.conf")).unwrap(),
            "changed"
        );

        vols.cleanup(|_| false);
        assert!(!dir.path().join("pods/u1").exists());
        assert!(!dir.path().join("shm/u1").exists());
    }
}
