//! `bosun taint nodes NAME key[=value]:Effect… [key[:Effect]-…]`: adds and removes a node's
//! taints, as `kubectl taint` does.
use bosun_shared::taint::{Taint, EFFECTS};

use crate::Context;

#[derive(clap::Args)]
pub struct TaintArgs {
    /// `nodes` (or `node`, `no`): the only kind with taints.
    pub kind: String,
    /// The node's name.
    pub name: String,
    /// `key=value:Effect` or `key:Effect` to add (Effect: NoSchedule, PreferNoSchedule,
    /// NoExecute); `key:Effect-` or `key-` to remove.
    #[arg(required = true)]
    pub taints: Vec<String>,
    /// Replace a taint of the same key and effect that has another value.
    #[arg(long)]
    pub overwrite: bool,
}

/// One argument: a taint to add, or the key (and effect) of taints to remove.
#[derive(Debug, PartialEq)]
enum Change {
    Add(Taint),
    Remove { key: String, effect: Option<String> },
}

fn parse(arg: &str) -> anyhow::Result<Change> {
    let effect_of = |e: &str| -> anyhow::Result<String> {
        anyhow::ensure!(
            EFFECTS.contains(&e),
            "invalid taint effect {e:?} in {arg:?}: must be one of {}",
            EFFECTS.join(", ")
        );
        Ok(e.to_string())
    };
    let key_of = |k: &str| -> anyhow::Result<String> {
        bosun_shared::names::validate_label_key(k)
            .map_err(|e| anyhow::anyhow!("invalid taint key {k:?} in {arg:?}: {e}"))?;
        Ok(k.to_string())
    };
    if let Some(removal) = arg.strip_suffix('-') {
        let (key, effect) = match removal.split_once(':') {
            Some((k, e)) => (k, Some(effect_of(e)?)),
            None => (removal, None),
        };
        return Ok(Change::Remove {
            key: key_of(key)?,
            effect,
        });
    }
    let (kv, effect) = arg.rsplit_once(':').ok_or_else(|| {
        anyhow::anyhow!("invalid taint {arg:?}: expected key=value:Effect or key:Effect")
    })?;
    let (key, value) = kv.split_once('=').unwrap_or((kv, ""));
    if !value.is_empty() {
        bosun_shared::names::validate_label_value(value)
            .map_err(|e| anyhow::anyhow!("invalid taint value {value:?} in {arg:?}: {e}"))?;
    }
    Ok(Change::Add(Taint::new(
        &key_of(key)?,
        value,
        &effect_of(effect)?,
    )))
}

/// Applies `changes` to `taints`; what it did (`tainted`, `untainted` or `modified`).
fn apply(
    taints: &mut Vec<Taint>,
    changes: &[Change],
    overwrite: bool,
) -> anyhow::Result<&'static str> {
    let (mut added, mut removed) = (false, false);
    for change in changes {
        match change {
            Change::Add(t) => {
                let same = |x: &Taint| x.key == t.key && x.effect == t.effect;
                if let Some(old) = taints.iter().find(|x| same(x)) {
                    anyhow::ensure!(
                        overwrite || old.value == t.value,
                        "node already has a taint with key {:?} and effect {:?}, and --overwrite is false",
                        t.key,
                        t.effect
                    );
                    taints.retain(|x| !same(x));
                }
                let mut t = t.clone();
                if t.effect == "NoExecute" {
                    // Eviction timing counts from it.
                    t.time_added = Some(bosun_shared::time::now_rfc3339().to_string());
                }
                taints.push(t);
                added = true;
            }
            Change::Remove { key, effect } => {
                let before = taints.len();
                taints.retain(|x| x.key != *key || effect.as_ref().is_some_and(|e| *e != x.effect));
                anyhow::ensure!(
                    taints.len() < before,
                    "taint {:?} not found",
                    match effect {
                        Some(e) => format!("{key}:{e}"),
                        None => key.clone(),
                    }
                );
                removed = true;
            }
        }
    }
    Ok(match (added, removed) {
        (true, true) => "modified",
        (false, true) => "untainted",
        _ => "tainted",
    })
}

pub async fn taint(ctx: &Context, args: TaintArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        matches!(args.kind.as_str(), "nodes" | "node" | "no"),
        "only nodes have taints, not {:?}",
        args.kind
    );
    let changes = args
        .taints
        .iter()
        .map(|a| parse(a))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let client = ctx.client().await?;
    let name = &args.name;
    let done = super::node::update_node(&client, name, |node| {
        apply(&mut node.spec.taints, &changes, args.overwrite).map(Some)
    })
    .await?;
    println!("node/{name} {}", done.unwrap_or("tainted"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint::new(key, value, effect)
    }

    #[test]
    fn taints_are_written_as_kubectl_writes_them() {
        assert_eq!(
            parse("dedicated=gpu:NoSchedule").unwrap(),
            Change::Add(taint("dedicated", "gpu", "NoSchedule"))
        );
        assert_eq!(
            parse("example.com/maintenance:NoExecute").unwrap(),
            Change::Add(taint("example.com/maintenance", "", "NoExecute"))
        );
        assert_eq!(
            parse("dedicated:NoSchedule-").unwrap(),
            Change::Remove {
                key: "dedicated".into(),
                effect: Some("NoSchedule".into())
            }
        );
        assert_eq!(
            parse("dedicated-").unwrap(),
            Change::Remove {
                key: "dedicated".into(),
                effect: None
            }
        );
        let err = |a: &str| parse(a).unwrap_err().to_string();
        assert!(err("dedicated=gpu").contains("expected key=value:Effect"));
        assert!(err("dedicated=gpu:Sometimes").contains("invalid taint effect \"Sometimes\""));
        assert!(err("-bad-:NoSchedule").contains("invalid taint key"));
    }

    #[test]
    fn adding_removing_and_overwriting() {
        let mut taints = vec![taint("a", "1", "NoSchedule")];
        let add = |k, v, e| Change::Add(taint(k, v, e));
        assert_eq!(
            apply(&mut taints, &[add("b", "", "NoExecute")], false).unwrap(),
            "tainted"
        );
        assert!(
            taints[1].time_added.is_some(),
            "NoExecute taints carry their time"
        );
        let clash = apply(&mut taints, &[add("a", "2", "NoSchedule")], false).unwrap_err();
        assert!(
            clash.to_string().contains("--overwrite is false"),
            "{clash}"
        );
        apply(&mut taints, &[add("a", "2", "NoSchedule")], true).unwrap();
        assert_eq!(taints.iter().filter(|t| t.key == "a").count(), 1);
        let remove = |k: &str| Change::Remove {
            key: k.into(),
            effect: None,
        };
        assert_eq!(
            apply(
                &mut taints,
                &[remove("a"), add("c", "", "NoSchedule")],
                false
            )
            .unwrap(),
            "modified"
        );
        assert_eq!(
            apply(&mut taints, &[remove("b")], false).unwrap(),
            "untainted"
        );
        let missing = apply(&mut taints, &[remove("zz")], false).unwrap_err();
        assert_eq!(missing.to_string(), "taint \"zz\" not found");
    }
}
