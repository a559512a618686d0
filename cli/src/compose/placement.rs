//! `deploy.placement`: Swarm's placement constraints into a pod's `nodeSelector`, the one
//! placement rule Bosun's pods have.
//!
//! `node.hostname == X` selects `kubernetes.io/hostname: X` (the label Bosun's agent puts on
//! its Node, with the node's name), `node.labels.K == V` selects `K: V`, and
//! `node.platform.os`/`node.platform.arch` select `kubernetes.io/os`/`kubernetes.io/arch`.
//! Inequalities and the other attributes cannot be written as a `nodeSelector`.
use std::collections::BTreeMap;

use serde_json::Value;

use super::context::Ctx;
use super::value::{as_map, string_list};
use super::ComposeError;

/// The label a node's name is under.
pub(crate) const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
const OS_LABEL: &str = "kubernetes.io/os";
const ARCH_LABEL: &str = "kubernetes.io/arch";

/// `deploy.placement` (at `path`) into `selector`.
pub(crate) fn convert(
    v: &Value,
    path: &str,
    selector: &mut BTreeMap<String, String>,
    ctx: &mut Ctx,
) -> Result<(), ComposeError> {
    if v.is_null() {
        return Ok(());
    }
    for (key, item) in as_map(v, path)? {
        let p = format!("{path}.{key}");
        match key.as_str() {
            "constraints" => {
                if item.is_null() {
                    continue;
                }
                for (i, c) in string_list(item, &p)?.iter().enumerate() {
                    constraint(c, &format!("{p}[{i}]"), selector, ctx)?;
                }
            }
            "preferences" => ctx.unsupported(&p, "Bosun's scheduler has no spread preferences"),
            "max_replicas_per_node" => ctx.unsupported(
                &p,
                "Bosun's pods have only a nodeSelector, no limit of replicas per node",
            ),
            k if k.starts_with("x-") => {}
            _ => ctx.unsupported(&p, "not a placement attribute Bosun knows"),
        }
    }
    Ok(())
}

/// One constraint, `attribute == value` or `attribute != value`.
fn constraint(
    c: &str,
    path: &str,
    selector: &mut BTreeMap<String, String>,
    ctx: &mut Ctx,
) -> Result<(), ComposeError> {
    let (attr, equal, value) = match (c.split_once("=="), c.split_once("!=")) {
        (Some((a, v)), None) => (a, true, v),
        (None, Some((a, v))) => (a, false, v),
        _ => {
            return Err(ComposeError::new(
                path,
                format!("invalid constraint {c:?}: expected \"attribute == value\" or \"!=\""),
            ))
        }
    };
    let (attr, value) = (attr.trim(), value.trim());
    if attr.is_empty() || value.is_empty() {
        return Err(ComposeError::new(
            path,
            format!("invalid constraint {c:?}: the attribute and the value must not be empty"),
        ));
    }
    let label = match attr {
        "node.hostname" => Some((HOSTNAME_LABEL.to_string(), value.to_string())),
        "node.platform.os" => Some((OS_LABEL.to_string(), value.to_ascii_lowercase())),
        "node.platform.arch" => Some((ARCH_LABEL.to_string(), go_arch(value).to_string())),
        a => a
            .strip_prefix("node.labels.")
            .map(|key| (key.to_string(), value.to_string())),
    };
    let Some((key, value)) = label else {
        let reason = match attr {
            "node.role" => "Bosun has no node roles to place pods by",
            "node.id" => "Bosun's nodes have no Swarm ID; use node.hostname",
            a if a.starts_with("engine.labels.") => {
                "Bosun's nodes do not carry their Docker engine's labels"
            }
            _ => "not a constraint attribute Bosun can select nodes by",
        };
        ctx.unsupported(path, format!("{c:?}: {reason}"));
        return Ok(());
    };
    if !equal {
        ctx.unsupported(
            path,
            format!(
                "{c:?}: Bosun's pods have only a nodeSelector (labels that must equal), so a \
                 \"!=\" constraint cannot be written"
            ),
        );
        return Ok(());
    }
    match selector.get(&key) {
        Some(old) if *old != value => Err(ComposeError::new(
            path,
            format!("{c:?} contradicts an earlier constraint ({key} == {old}): no node matches"),
        )),
        _ => {
            selector.insert(key, value);
            Ok(())
        }
    }
}

/// Swarm's architecture names (`uname -m`) as Kubernetes' (Go's) ones.
fn go_arch(arch: &str) -> &str {
    match arch {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "armv7l" => "arm",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    #[test]
    fn constraints() {
        let env = |_: &str| None;
        let mut ctx = Ctx::new("p", Path::new("/"), &env);
        let mut sel = BTreeMap::new();
        let v = json!({
            "constraints": [
                "node.hostname == pi-4",
                "node.labels.disk==ssd",
                "node.platform.arch == aarch64",
                "node.labels.zone != attic",
                "node.role == manager",
                "node.id == abc",
                "engine.labels.x == y",
            ],
            "preferences": [{"spread": "node.labels.zone"}],
            "max_replicas_per_node": 1,
        });
        convert(&v, "services.a.deploy.placement", &mut sel, &mut ctx).unwrap();
        assert_eq!(
            sel,
            BTreeMap::from([
                ("disk".to_string(), "ssd".to_string()),
                ("kubernetes.io/arch".to_string(), "arm64".to_string()),
                ("kubernetes.io/hostname".to_string(), "pi-4".to_string()),
            ])
        );
        let paths: Vec<_> = ctx.unsupported.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "services.a.deploy.placement.constraints[3]",
                "services.a.deploy.placement.constraints[4]",
                "services.a.deploy.placement.constraints[5]",
                "services.a.deploy.placement.constraints[6]",
                "services.a.deploy.placement.max_replicas_per_node",
                "services.a.deploy.placement.preferences",
            ]
        );
        assert!(ctx.unsupported[0].reason.contains("\"!=\""));
    }

    #[test]
    fn bad_constraints() {
        let env = |_: &str| None;
        let mut ctx = Ctx::new("p", Path::new("/"), &env);
        let mut sel = BTreeMap::new();
        let bad = json!({"constraints": ["node.hostname = a"]});
        assert!(convert(&bad, "p", &mut sel, &mut ctx)
            .unwrap_err()
            .message
            .contains("invalid constraint"));
        let empty = json!({"constraints": ["node.hostname == "]});
        assert!(convert(&empty, "p", &mut sel, &mut ctx).is_err());
        let both = json!({"constraints": ["node.hostname == a", "node.hostname == b"]});
        let e = convert(&both, "p", &mut sel, &mut ctx).unwrap_err();
        assert_eq!(e.path, "p.constraints[1]");
        assert!(e.message.contains("contradicts"));
    }
}
