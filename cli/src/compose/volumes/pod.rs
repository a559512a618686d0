//! A service's mounts into the pod's `volumes` and the container's `volumeMounts`: one pod
//! volume per host path or named volume however often it is mounted (a named one is looked up
//! among the top-level volumes and marked used), each pod volume named after its source or
//! target, uniquely.
use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use super::mounts::{Mount, Source};
use crate::compose::context::Ctx;
use crate::compose::names;
use crate::compose::ComposeError;

/// The pod volumes and container mounts of one service.
#[derive(Debug, Default)]
pub(crate) struct PodVolumes {
    pub volumes: Vec<Value>,
    pub mounts: Vec<Value>,
    names: BTreeSet<String>,
    /// Pod volume name of each shared source (a host path, a named volume).
    by_source: BTreeMap<String, String>,
    targets: BTreeSet<String>,
}

impl PodVolumes {
    pub(super) fn add(&mut self, m: Mount, path: &str, ctx: &mut Ctx) -> Result<(), ComposeError> {
        if !self.targets.insert(m.target.clone()) {
            return Err(ComposeError::new(
                path,
                format!("{} is mounted twice", m.target),
            ));
        }
        let shared_key = match &m.source {
            Source::Bind(p) => Some(format!("bind:{p}")),
            Source::Named(n) => Some(format!("volume:{n}")),
            Source::Anonymous | Source::Tmpfs(_) => None,
        };
        let existing = shared_key
            .as_ref()
            .and_then(|k| self.by_source.get(k))
            .cloned();
        let name = match existing {
            Some(name) => name,
            None => {
                let (hint, volume) = match &m.source {
                    Source::Bind(p) => (base_name(p), json!({"hostPath": {"path": p}})),
                    Source::Named(key) => {
                        let top = ctx.volumes.get(key).ok_or_else(|| {
                            ComposeError::new(
                                path,
                                format!(
                                    "refers to undefined volume {key:?}: declare it under the \
                                     top-level volumes"
                                ),
                            )
                        })?;
                        ctx.used_volumes.insert(key.clone());
                        let volume = match &top.host_path {
                            Some(p) => json!({"hostPath": {"path": p}}),
                            None => json!({"persistentVolumeClaim": {"claimName": top.claim}}),
                        };
                        (key.clone(), volume)
                    }
                    Source::Anonymous => (base_name(&m.target), json!({"emptyDir": {}})),
                    Source::Tmpfs(size) => {
                        let mut dir = Map::new();
                        dir.insert("medium".into(), json!("Memory"));
                        if let Some(size) = size {
                            dir.insert("sizeLimit".into(), json!(size));
                        }
                        (base_name(&m.target), json!({"emptyDir": dir}))
                    }
                };
                let name = self.unique_name(&hint);
                let mut volume = volume;
                if let Value::Object(v) = &mut volume {
                    v.insert("name".into(), json!(name));
                }
                self.volumes.push(volume);
                if let Some(k) = shared_key {
                    self.by_source.insert(k, name.clone());
                }
                name
            }
        };
        let mut mount = Map::new();
        mount.insert("name".into(), json!(name));
        mount.insert("mountPath".into(), json!(m.target));
        if m.read_only {
            mount.insert("readOnly".into(), json!(true));
        }
        if let Some(sub) = m.sub_path {
            mount.insert("subPath".into(), json!(sub));
        }
        self.mounts.push(Value::Object(mount));
        Ok(())
    }

    /// A DNS-1123 label from `hint`, not yet used by this pod.
    fn unique_name(&mut self, hint: &str) -> String {
        let base = match names::dns_label(hint) {
            b if b.is_empty() => "volume".to_string(),
            b => b,
        };
        let mut name = base.clone();
        let mut i = 2;
        while self.names.contains(&name) {
            name = names::with_suffix(&base, &format!("-{i}"));
            i += 1;
        }
        self.names.insert(name.clone());
        name
    }
}

/// The last component of a path (`/srv/app/data` -> `data`).
fn base_name(p: &str) -> String {
    p.rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or("")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::volumes::fixtures::{ctx_with, run};

    #[test]
    fn named_anonymous_and_tmpfs() {
        let mut ctx = ctx_with(json!({"db-data": null, "cache": {"driver": "local"}}));
        let pv = run(
            &mut ctx,
            json!([
                "db-data:/var/lib/postgresql/data",
                "/var/cache/app",
                {"type": "volume", "source": "cache", "target": "/cache", "read_only": true},
                {"type": "volume", "source": "db-data", "target": "/backup",
                 "volume": {"subpath": "dumps", "nocopy": true}},
                {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": "64m"}},
                {"type": "volume", "target": "/scratch"},
                "/srv/cache:/cache2",
            ]),
        )
        .unwrap();
        assert_eq!(
            pv.volumes,
            [
                json!({"name": "db-data", "persistentVolumeClaim": {"claimName": "lab-db-data"}}),
                json!({"name": "app", "emptyDir": {}}),
                json!({"name": "cache", "persistentVolumeClaim": {"claimName": "lab-cache"}}),
                json!({"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "64Mi"}}),
                json!({"name": "scratch", "emptyDir": {}}),
                json!({"name": "cache-2", "hostPath": {"path": "/srv/cache"}}),
            ]
        );
        assert_eq!(
            pv.mounts[3],
            json!({"name": "db-data", "mountPath": "/backup", "subPath": "dumps"})
        );
        assert_eq!(
            pv.mounts[2],
            json!({"name": "cache", "mountPath": "/cache", "readOnly": true})
        );
        assert_eq!(
            ctx.used_volumes.iter().collect::<Vec<_>>(),
            ["cache", "db-data"]
        );
    }
}
