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
//!
//! This file holds the entry points for a service, [`service_volumes`] and [`service_tmpfs`];
//! the rest is:
//! - `top_level.rs`: the top-level `volumes`, and the PersistentVolumeClaims of those in use.
//! - `mounts.rs`: one entry of a service's `volumes`, short or long syntax, into a mount, with
//!   its host path and target made absolute and clean.
//! - `pod.rs`: a service's mounts into pod volumes and container mounts, one pod volume per
//!   host path or named volume, each uniquely named.
//! - `fixtures.rs`: helpers for the tests.
use serde_json::{json, Value};

use super::context::Ctx;
use super::resources::memory_quantity;
use super::value::{string_or_list, type_name};
use super::ComposeError;

#[cfg(test)]
mod fixtures;
mod mounts;
mod pod;
mod top_level;

use mounts::{absolute_target, long, short, Mount, Source};
pub(crate) use pod::PodVolumes;
pub(crate) use top_level::{claims, top_level, TopVolume};

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

#[cfg(test)]
mod tests {
    use super::fixtures::ctx_with;
    use super::*;

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
}
