//! One entry of a service's `volumes` into a `Mount`: the short syntax
//! (`[SOURCE:]TARGET[:MODE]`) and the long one (`type`, `source`, `target` and options), with
//! the host path and target it names made absolute and clean.
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::compose::context::Ctx;
use crate::compose::resources::memory_quantity;
use crate::compose::value::{as_bool, as_map, as_str};
use crate::compose::ComposeError;

/// What a mount mounts.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Source {
    /// A host path, absolute.
    Bind(String),
    /// A top-level volume, by key.
    Named(String),
    Anonymous,
    /// A tmpfs, with its size limit.
    Tmpfs(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Mount {
    pub source: Source,
    pub target: String,
    pub read_only: bool,
    pub sub_path: Option<String>,
}

/// A short-syntax volume, `[SOURCE:]TARGET[:MODE]`.
pub(super) fn short(spec: &str, path: &str, ctx: &mut Ctx) -> Result<Option<Mount>, ComposeError> {
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
pub(super) fn long(
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

pub(super) fn absolute_target(target: &str, path: &str) -> Result<String, ComposeError> {
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
pub(super) fn host_path(source: &str, path: &str, ctx: &Ctx) -> Result<String, ComposeError> {
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
    use serde_json::json;

    use super::*;
    use crate::compose::volumes::fixtures::{ctx_with, run};

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
}
