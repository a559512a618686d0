//! Volumes: the top-level `volumes`, and a service's `volumes` and `tmpfs`, into pod
//! `volumes`, container `volumeMounts` and PersistentVolumeClaims, in Kubernetes' form.
//!
//! - A bind mount (`./data:/data`, `type: bind`) is a `hostPath` (relative paths resolved
//!   against the base directory, `~` against `HOME`).
//! - A named volume is a `persistentVolumeClaim` of a claim `<project>-<volume>` (its `name:`
//!   if set), emitted once per volume some service uses: 1Gi, `ReadWriteOnce`. A local volume
//!   whose driver options bind a host directory (`type: none`, `o: bind`, `device: /path`) is
//!   that `hostPath` instead.
//! - An anonymous volume (`/only/a/path`) is an `emptyDir`, a tmpfs one with `medium: Memory`.
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use serde_json::{json, Map, Value};

use super::context::Ctx;
use super::names;
use super::resources::memory_quantity;
use super::value::{as_bool, as_map, as_str, list_or_map, string_or_list, type_name};
use super::{ComposeError, PROJECT_LABEL};

/// Size of the claim made for a named volume.
const CLAIM_SIZE: &str = "1Gi";

/// A top-level volume.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TopVolume {
    /// The PersistentVolumeClaim pods refer to.
    pub claim: String,
    /// Declared `external`: the claim is not created here.
    pub external: bool,
    /// A host directory bound by the local driver's options, used instead of a claim.
    pub host_path: Option<String>,
    /// The volume's `labels`, as the claim's annotations.
    pub annotations: BTreeMap<String, String>,
}

/// The top-level `volumes` mapping.
pub(crate) fn top_level(
    v: &Value,
    ctx: &mut Ctx,
) -> Result<BTreeMap<String, TopVolume>, ComposeError> {
    let mut out = BTreeMap::new();
    if v.is_null() {
        return Ok(out);
    }
    let mut claims: BTreeMap<String, String> = BTreeMap::new();
    for (key, spec) in as_map(v, "volumes")? {
        if key.starts_with("x-") {
            continue;
        }
        let path = format!("volumes.{key}");
        let volume = one_top_level(key, spec, &path, ctx)?;
        if volume.host_path.is_none() {
            if volume.claim.is_empty() {
                return Err(ComposeError::new(
                    path,
                    "the volume's name gives no valid claim name",
                ));
            }
            if let Some(other) = claims.insert(volume.claim.clone(), key.clone()) {
                return Err(ComposeError::new(
                    path,
                    format!(
                        "its claim would be named {:?}, as that of volume {other:?}",
                        volume.claim
                    ),
                ));
            }
        }
        out.insert(key.clone(), volume);
    }
    Ok(out)
}

fn one_top_level(
    key: &str,
    spec: &Value,
    path: &str,
    ctx: &mut Ctx,
) -> Result<TopVolume, ComposeError> {
    let mut name = None;
    let mut external = false;
    let mut driver_opts = None;
    let mut annotations = BTreeMap::new();
    if !spec.is_null() {
        for (k, item) in as_map(spec, path)? {
            let p = format!("{path}.{k}");
            match k.as_str() {
                "name" => name = Some(as_str(item, &p)?.to_string()),
                "external" => match item {
                    // The legacy form, `external: {name: x}`.
                    Value::Object(m) => {
                        external = true;
                        if let Some(n) = m.get("name") {
                            name = Some(as_str(n, &format!("{p}.name"))?.to_string());
                        }
                    }
                    other => external = as_bool(other, &p)?,
                },
                "driver" => {
                    let driver = as_str(item, &p)?;
                    if driver != "local" {
                        ctx.unsupported(
                            &p,
                            format!(
                                "volume driver {driver:?} is not used: the volume is a \
                                 PersistentVolumeClaim"
                            ),
                        );
                    }
                }
                "driver_opts" => driver_opts = Some((item, p)),
                "labels" => {
                    for (lk, lv) in list_or_map(item, &p)? {
                        annotations.insert(lk, lv.unwrap_or_default());
                    }
                }
                x if x.starts_with("x-") => {}
                _ => ctx.unsupported(&p, "not a volume attribute Bosun knows"),
            }
        }
    }
    let claim = match &name {
        Some(n) => names::dns_label(n),
        None => names::object_name(ctx.project, key),
    };
    if external {
        ctx.unsupported(
            format!("{path}.external"),
            format!(
                "Bosun does not look external volumes up: pods refer to the \
                 PersistentVolumeClaim {claim:?}, which must exist"
            ),
        );
    }
    let mut host_path = None;
    if let Some((opts, p)) = driver_opts {
        host_path = bind_device(opts, &p, ctx)?;
        if host_path.is_none() {
            ctx.unsupported(
                &p,
                "driver options (NFS, CIFS, ...) are not used: the volume is a \
                 PersistentVolumeClaim",
            );
        }
    }
    Ok(TopVolume {
        claim,
        external,
        host_path,
        annotations,
    })
}

/// The host directory of local driver options `{type: none, o: bind, device: /path}`.
fn bind_device(opts: &Value, path: &str, ctx: &Ctx) -> Result<Option<String>, ComposeError> {
    let opts = as_map(opts, path)?;
    let get = |k: &str| opts.get(k).and_then(Value::as_str);
    let binds = get("o").is_some_and(|o| o.split(',').any(|o| o == "bind" || o == "rbind"));
    let (Some("none"), true, Some(device), 3) = (get("type"), binds, get("device"), opts.len())
    else {
        return Ok(None);
    };
    host_path(device, &format!("{path}.device"), ctx).map(Some)
}

/// The PersistentVolumeClaims of the named volumes services use, by volume key.
pub(crate) fn claims(ctx: &Ctx) -> Vec<Value> {
    ctx.used_volumes
        .iter()
        .filter_map(|key| ctx.volumes.get(key))
        .filter(|v| !v.external && v.host_path.is_none())
        .map(|v| {
            let mut meta = Map::new();
            meta.insert("name".into(), json!(v.claim));
            meta.insert(
                "labels".into(),
                json!({PROJECT_LABEL: names::label_value(ctx.project)}),
            );
            if !v.annotations.is_empty() {
                meta.insert("annotations".into(), json!(v.annotations));
            }
            json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": meta,
                "spec": {
                    "accessModes": ["ReadWriteOnce"],
                    "resources": {"requests": {"storage": CLAIM_SIZE}},
                },
            })
        })
        .collect()
}

/// What a mount mounts.
#[derive(Debug, Clone, PartialEq)]
enum Source {
    /// A host path, absolute.
    Bind(String),
    /// A top-level volume, by key.
    Named(String),
    Anonymous,
    /// A tmpfs, with its size limit.
    Tmpfs(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
struct Mount {
    source: Source,
    target: String,
    read_only: bool,
    sub_path: Option<String>,
}

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
    fn add(&mut self, m: Mount, path: &str, ctx: &mut Ctx) -> Result<(), ComposeError> {
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

/// A service's `volumes` (at `path`) into `pv`.
pub(crate) fn service_volumes(
    v: &Value,
    path: &str,
    pv: &mut PodVolumes,
    ctx: &mut Ctx,
) -> Result<(), ComposeError> {
    let items = match v {
        Value::Null => return Ok(()),
        Value::Array(items) => items,
        other => {
            return Err(ComposeError::new(
                path,
                format!("must be a list, not {}", type_name(other)),
            ))
        }
    };
    for (i, item) in items.iter().enumerate() {
        let p = format!("{path}[{i}]");
        let mount = match item {
            Value::String(spec) => short(spec, &p, ctx)?,
            Value::Object(map) => long(map, &p, ctx)?,
            other => {
                return Err(ComposeError::new(
                    p,
                    format!("must be a string or a mapping, not {}", type_name(other)),
                ))
            }
        };
        if let Some(mount) = mount {
            pv.add(mount, &p, ctx)?;
        }
    }
    Ok(())
}

/// A service's `tmpfs` (`/run` or `/run:size=64m`, one or a list) into `pv`.
pub(crate) fn service_tmpfs(
    v: &Value,
    path: &str,
    pv: &mut PodVolumes,
    ctx: &mut Ctx,
) -> Result<(), ComposeError> {
    if v.is_null() {
        return Ok(());
    }
    let list = string_or_list(v, path)?;
    for (i, spec) in list.iter().enumerate() {
        let p = if v.is_array() {
            format!("{path}[{i}]")
        } else {
            path.to_string()
        };
        let (target, opts) = spec.split_once(':').unwrap_or((spec, ""));
        let mut size = None;
        for opt in opts.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            match opt.split_once('=') {
                Some(("size", s)) => size = memory_quantity(&json!(s), &p)?,
                _ => ctx.unsupported(
                    &p,
                    format!("tmpfs option {opt:?} is not used: an emptyDir has only a size"),
                ),
            }
        }
        let target = absolute_target(target, &p)?;
        pv.add(
            Mount {
                source: Source::Tmpfs(size),
                target,
                read_only: false,
                sub_path: None,
            },
            &p,
            ctx,
        )?;
    }
    Ok(())
}

/// A short-syntax volume, `[SOURCE:]TARGET[:MODE]`.
fn short(spec: &str, path: &str, ctx: &mut Ctx) -> Result<Option<Mount>, ComposeError> {
    let invalid = |why: &str| ComposeError::new(path, format!("invalid volume {spec:?}: {why}"));
    let parts: Vec<&str> = spec.split(':').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(invalid("empty section between colons"));
    }
    let (source, target, mode) = match parts.as_slice() {
        [target] => (None, *target, ""),
        [source, target] => (Some(*source), *target, ""),
        [source, target, mode] => (Some(*source), *target, *mode),
        _ => return Err(invalid("too many colons")),
    };
    let target = absolute_target(target, path)?;
    let mut read_only = false;
    for opt in mode.split(',').filter(|o| !o.is_empty()) {
        match opt {
            "ro" => read_only = true,
            "rw" => read_only = false,
            // Kubernetes never copies the image's files into a volume; no-ops on Linux.
            "nocopy" | "cached" | "delegated" | "consistent" => {}
            "z" | "Z" => ctx.unsupported(
                path,
                format!("option {opt:?}: Bosun does not relabel mounts for SELinux"),
            ),
            "shared" | "rshared" | "slave" | "rslave" | "private" | "rprivate" => ctx.unsupported(
                path,
                format!("option {opt:?}: Bosun does not set mount propagation"),
            ),
            _ => ctx.unsupported(path, format!("unknown volume option {opt:?}")),
        }
    }
    let source = match source {
        None => Source::Anonymous,
        Some(s) if s.starts_with(['.', '/', '~']) => Source::Bind(host_path(s, path, ctx)?),
        Some(name) => Source::Named(name.to_string()),
    };
    Ok(Some(Mount {
        source,
        target,
        read_only,
        sub_path: None,
    }))
}

/// A long-syntax volume; `None` for a type that is not converted.
fn long(
    map: &Map<String, Value>,
    path: &str,
    ctx: &mut Ctx,
) -> Result<Option<Mount>, ComposeError> {
    let mut kind = None;
    let mut source = None;
    let mut target = None;
    let mut read_only = false;
    let mut sub_path = None;
    let mut size = None;
    for (key, item) in map {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "type" => kind = Some(as_str(item, &p)?.to_string()),
            "source" => source = Some(as_str(item, &p)?.to_string()).filter(|s| !s.is_empty()),
            "target" => target = Some(as_str(item, &p)?.to_string()),
            "read_only" => read_only = as_bool(item, &p)?,
            "consistency" => {}
            "bind" | "volume" | "tmpfs" => {
                if item.is_null() {
                    continue;
                }
                for (opt, ov) in as_map(item, &p)? {
                    let op = format!("{p}.{opt}");
                    match (key.as_str(), opt.as_str()) {
                        ("bind", "create_host_path") => {
                            if !as_bool(ov, &op)? {
                                ctx.unsupported(
                                    &op,
                                    "a hostPath without a type does not check that the \
                                     directory exists",
                                );
                            }
                        }
                        ("bind", "propagation") => {
                            ctx.unsupported(&op, "Bosun does not set mount propagation")
                        }
                        ("bind", "selinux") => {
                            ctx.unsupported(&op, "Bosun does not relabel mounts for SELinux")
                        }
                        ("volume", "nocopy") => {}
                        ("volume", "subpath") => {
                            sub_path = Some(as_str(ov, &op)?.to_string());
                        }
                        ("tmpfs", "size") => size = memory_quantity(ov, &op)?,
                        ("tmpfs", "mode") => {
                            ctx.unsupported(&op, "an emptyDir's permissions cannot be set")
                        }
                        (_, o) if o.starts_with("x-") => {}
                        _ => ctx.unsupported(&op, "not a mount option Bosun knows"),
                    }
                }
            }
            k if k.starts_with("x-") => {}
            _ => ctx.unsupported(&p, "not a volume attribute Bosun knows"),
        }
    }
    let kind =
        kind.ok_or_else(|| ComposeError::new(path, "type is required (bind, volume or tmpfs)"))?;
    let target = target.ok_or_else(|| ComposeError::new(path, "target is required"))?;
    let target = absolute_target(&target, &format!("{path}.target"))?;
    let source = match (kind.as_str(), source) {
        ("bind", Some(s)) => Source::Bind(host_path(&s, &format!("{path}.source"), ctx)?),
        ("bind", None) => return Err(ComposeError::new(path, "a bind mount needs a source")),
        ("volume", Some(s)) => Source::Named(s),
        ("volume", None) => Source::Anonymous,
        ("tmpfs", None) => Source::Tmpfs(size),
        ("tmpfs", Some(_)) => return Err(ComposeError::new(path, "a tmpfs mount takes no source")),
        ("npipe" | "cluster" | "image", _) => {
            ctx.unsupported(
                format!("{path}.type"),
                format!("mounts of type {kind:?} are not supported: the mount is left out"),
            );
            return Ok(None);
        }
        (other, _) => {
            return Err(ComposeError::new(
                format!("{path}.type"),
                format!("unknown type {other:?}: expected bind, volume or tmpfs"),
            ))
        }
    };
    if sub_path.is_some() && !matches!(source, Source::Named(_)) {
        return Err(ComposeError::new(
            path,
            "volume.subpath needs a named volume as source",
        ));
    }
    Ok(Some(Mount {
        source,
        target,
        read_only,
        sub_path,
    }))
}

fn absolute_target(target: &str, path: &str) -> Result<String, ComposeError> {
    if !target.starts_with('/') {
        return Err(ComposeError::new(
            path,
            format!("the mount target {target:?} must be an absolute path"),
        ));
    }
    Ok(clean(Path::new(target)))
}

/// A bind mount's source as an absolute, clean path: `~` is `HOME`, a relative path is relative
/// to the base directory.
fn host_path(source: &str, path: &str, ctx: &Ctx) -> Result<String, ComposeError> {
    let full: PathBuf = if source == "~" || source.starts_with("~/") {
        let home = (ctx.env)("HOME").filter(|h| !h.is_empty()).ok_or_else(|| {
            ComposeError::new(path, format!("cannot expand {source:?}: HOME is not set"))
        })?;
        Path::new(&home).join(source.trim_start_matches('~').trim_start_matches('/'))
    } else if source.starts_with('~') {
        return Err(ComposeError::new(
            path,
            format!("cannot expand {source:?}: only ~/ (the current user's home) is supported"),
        ));
    } else {
        ctx.base_dir.join(source)
    };
    if !full.is_absolute() {
        return Err(ComposeError::new(
            path,
            format!(
                "{source:?} resolves to {:?}, not an absolute path: the base directory must be \
                 absolute",
                full.display()
            ),
        ));
    }
    Ok(clean(&full))
}

/// `p` with `.` and `..` resolved lexically, as a string.
fn clean(p: &Path) -> String {
    let mut parts: Vec<String> = Vec::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        (name == "HOME").then(|| "/home/me".to_string())
    }

    fn ctx_with(volumes: Value) -> Ctx<'static> {
        let mut ctx = Ctx::new("lab", Path::new("/srv/lab"), &env);
        ctx.volumes = top_level(&volumes, &mut ctx).unwrap();
        ctx
    }

    fn run(ctx: &mut Ctx, v: Value) -> Result<PodVolumes, ComposeError> {
        let mut pv = PodVolumes::default();
        service_volumes(&v, "services.app.volumes", &mut pv, ctx)?;
        Ok(pv)
    }

    #[test]
    fn binds() {
        let mut ctx = ctx_with(Value::Null);
        let pv = run(
            &mut ctx,
            json!([
                "./data:/data:ro",
                "/etc/app/config.yml:/config.yml",
                "../shared/:/shared",
                "~/media:/media:rw",
                "./data:/data2",
                "/abs/./x/../y:/y/"
            ]),
        )
        .unwrap();
        assert_eq!(
            pv.volumes,
            [
                json!({"name": "data", "hostPath": {"path": "/srv/lab/data"}}),
                json!({"name": "config-yml", "hostPath": {"path": "/etc/app/config.yml"}}),
                json!({"name": "shared", "hostPath": {"path": "/srv/shared"}}),
                json!({"name": "media", "hostPath": {"path": "/home/me/media"}}),
                json!({"name": "y", "hostPath": {"path": "/abs/y"}}),
            ]
        );
        assert_eq!(
            pv.mounts,
            [
                json!({"name": "data", "mountPath": "/data", "readOnly": true}),
                json!({"name": "config-yml", "mountPath": "/config.yml"}),
                json!({"name": "shared", "mountPath": "/shared"}),
                json!({"name": "media", "mountPath": "/media"}),
                json!({"name": "data", "mountPath": "/data2"}),
                json!({"name": "y", "mountPath": "/y"}),
            ]
        );
        assert!(ctx.unsupported.is_empty());
    }

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

    #[test]
    fn claims_once_per_used_volume() {
        let mut ctx = ctx_with(json!({
            "data": {"labels": {"backup": "daily"}},
            "unused": {},
            "ext": {"external": true},
            "named": {"name": "Shared_Media"},
            "nas": {"driver_opts": {"type": "none", "o": "bind", "device": "/mnt/nas"}},
            "nfs": {"driver_opts": {"type": "nfs", "o": "addr=10.0.0.1", "device": ":/x"}},
        }));
        for _ in 0..2 {
            run(
                &mut ctx,
                json!(["data:/a", "ext:/b", "named:/c", "nas:/d", "nfs:/e"]),
            )
            .unwrap();
        }
        let pv = run(&mut ctx, json!(["nas:/d", "ext:/b", "named:/c"])).unwrap();
        assert_eq!(
            pv.volumes,
            [
                json!({"name": "nas", "hostPath": {"path": "/mnt/nas"}}),
                json!({"name": "ext", "persistentVolumeClaim": {"claimName": "lab-ext"}}),
                json!({"name": "named",
                       "persistentVolumeClaim": {"claimName": "shared-media"}}),
            ]
        );
        let claims = claims(&ctx);
        let names: Vec<_> = claims
            .iter()
            .map(|c| c["metadata"]["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["lab-data", "shared-media", "lab-nfs"]);
        assert_eq!(
            claims[0],
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "lab-data",
                                "labels": {"bosun.dev/compose-project": "lab"},
                                "annotations": {"backup": "daily"}},
                   "spec": {"accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "1Gi"}}}})
        );
        let paths: Vec<_> = ctx.unsupported.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(paths, ["volumes.ext.external", "volumes.nfs.driver_opts"]);
    }

    #[test]
    fn options_listed() {
        let mut ctx = ctx_with(Value::Null);
        run(
            &mut ctx,
            json!(["./a:/a:ro,z", "./b:/b:rshared", "./c:/c:weird",
                   {"type": "bind", "source": "./d", "target": "/d",
                    "bind": {"propagation": "rshared", "create_host_path": false}},
                   {"type": "tmpfs", "target": "/t", "tmpfs": {"mode": 1777}},
                   {"type": "npipe", "source": "x", "target": "/p"},
                   {"type": "bind", "source": "/e", "target": "/e", "consistency": "cached",
                    "extra": 1}]),
        )
        .unwrap();
        let paths: Vec<_> = ctx.unsupported.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "services.app.volumes[0]",
                "services.app.volumes[1]",
                "services.app.volumes[2]",
                "services.app.volumes[3].bind.create_host_path",
                "services.app.volumes[3].bind.propagation",
                "services.app.volumes[4].tmpfs.mode",
                "services.app.volumes[5].type",
                "services.app.volumes[6].extra",
            ]
        );
    }

    #[test]
    fn tmpfs_key() {
        let mut ctx = ctx_with(Value::Null);
        let mut pv = PodVolumes::default();
        service_tmpfs(
            &json!(["/run", "/tmp:size=100m,mode=1777"]),
            "s.tmpfs",
            &mut pv,
            &mut ctx,
        )
        .unwrap();
        service_tmpfs(&json!("/cache"), "s.tmpfs", &mut pv, &mut ctx).unwrap();
        assert_eq!(
            pv.volumes,
            [
                json!({"name": "run", "emptyDir": {"medium": "Memory"}}),
                json!({"name": "tmp", "emptyDir": {"medium": "Memory", "sizeLimit": "100Mi"}}),
                json!({"name": "cache", "emptyDir": {"medium": "Memory"}}),
            ]
        );
        assert_eq!(ctx.unsupported.len(), 1);
        assert_eq!(ctx.unsupported[0].path, "s.tmpfs[1]");
    }

    #[test]
    fn errors() {
        let mut ctx = ctx_with(json!({"data": null}));
        let mut err = |v: Value| run(&mut ctx, v).unwrap_err().to_string();
        assert_eq!(
            err(json!(["missing:/x"])),
            "services.app.volumes[0]: refers to undefined volume \"missing\": declare it under \
             the top-level volumes"
        );
        assert!(err(json!(["./a:data"])).contains("must be an absolute path"));
        assert!(err(json!(["a::/b"])).contains("empty section"));
        assert!(err(json!(["a:/b:ro:x"])).contains("too many colons"));
        assert!(err(json!(["./a:/x", "data:/x/"])).contains("/x is mounted twice"));
        assert!(err(json!([{"target": "/x"}])).contains("type is required"));
        assert!(err(json!([{"type": "bind", "target": "/x"}])).contains("needs a source"));
        assert!(
            err(json!([{"type": "tmpfs", "source": "a", "target": "/x"}])).contains("no source")
        );
        assert!(err(json!([{"type": "nfs", "target": "/x"}])).contains("unknown type"));
        assert!(err(json!([{"type": "volume", "source": "data"}])).contains("target is required"));
        assert!(err(json!([{"type": "bind", "source": "/a", "target": "/x",
                             "volume": {"subpath": "s"}}]))
        .contains("subpath"));
        assert!(err(json!([1])).contains("must be a string or a mapping"));
        assert!(err(json!("./a:/a")).contains("must be a list"));
        assert!(err(json!(["~other/x:/x"])).contains("only ~/"));
        let no_home = |_: &str| None;
        let mut ctx = Ctx::new("lab", Path::new("/srv"), &no_home);
        assert!(run(&mut ctx, json!(["~/x:/x"]))
            .unwrap_err()
            .message
            .contains("HOME"));
        let mut ctx = Ctx::new("lab", Path::new("relative"), &no_home);
        assert!(run(&mut ctx, json!(["./x:/x"]))
            .unwrap_err()
            .message
            .contains("absolute"));
    }

    #[test]
    fn top_level_errors() {
        let env = |_: &str| None;
        let mut ctx = Ctx::new("lab", Path::new("/"), &env);
        let clash = json!({"a": {"name": "same"}, "b": {"name": "same"}});
        assert!(top_level(&clash, &mut ctx)
            .unwrap_err()
            .message
            .contains("as that of volume"));
        assert!(top_level(&json!({"a": {"name": "__"}}), &mut ctx).is_err());
        assert!(top_level(&json!(["a"]), &mut ctx).is_err());
        let v = top_level(
            &json!({"a": {"external": {"name": "old-data"}}, "x-y": 1}),
            &mut ctx,
        )
        .unwrap();
        assert_eq!(v["a"].claim, "old-data");
        assert!(v["a"].external);
        assert_eq!(v.len(), 1);
    }
}
