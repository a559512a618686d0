//! The top-level `volumes`: each volume's claim (named after the project and the volume, or
//! its `name`), whether it is `external`, its labels, and the host directory a local driver's
//! bind options give it; then the PersistentVolumeClaims of the volumes services use.
use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::mounts::host_path;
use crate::compose::context::Ctx;
use crate::compose::names;
use crate::compose::value::{as_bool, as_map, as_str, list_or_map};
use crate::compose::{ComposeError, PROJECT_LABEL};

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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::compose::volumes::fixtures::{ctx_with, run};

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
