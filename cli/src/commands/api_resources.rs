//! `bosun api-resources`: the kinds Bosun serves, with the names the CLI accepts, as kubectl
//! lists them.
use bosun_shared::Kind;

use crate::commands::emit;
use crate::output::align;

/// kubectl's short names: the accepted names that are neither the singular, the plural, nor
/// qualified with a group (`deploy` for deployments).
pub fn short_names(kind: Kind) -> Vec<&'static str> {
    let singular = kind.as_str().to_ascii_lowercase();
    kind.cli_names()
        .iter()
        .copied()
        .filter(|n| *n != singular && *n != kind.plural() && !n.contains('.'))
        .collect()
}

pub fn run() -> anyhow::Result<()> {
    emit(&table())
}

fn table() -> String {
    let mut rows = vec![["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
        .map(str::to_string)
        .to_vec()];
    let mut kinds = Kind::ALL.to_vec();
    kinds.sort_by_key(|k| k.plural());
    for k in kinds {
        rows.push(vec![
            k.plural().to_string(),
            short_names(k).join(","),
            k.api_version().to_string(),
            k.namespaced().to_string(),
            k.as_str().to_string(),
        ]);
    }
    align(&rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_every_kind_like_kubectl() {
        let t = table();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), Kind::ALL.len() + 1);
        assert_eq!(
            lines[0].split_whitespace().collect::<Vec<_>>(),
            ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
        );
        let deploy = lines.iter().find(|l| l.starts_with("deployments")).unwrap();
        assert_eq!(
            deploy.split_whitespace().collect::<Vec<_>>(),
            ["deployments", "deploy", "apps/v1", "true", "Deployment"]
        );
        let ns = lines.iter().find(|l| l.starts_with("namespaces")).unwrap();
        assert_eq!(
            ns.split_whitespace().collect::<Vec<_>>(),
            ["namespaces", "ns", "v1", "false", "Namespace"]
        );
    }
}
