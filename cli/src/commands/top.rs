//! `bosun top nodes|pods`: CPU and memory the agents measure now (from Docker's stats and
//! the nodes' `/proc`), printed as `kubectl top` prints them.
use bosun_shared::metrics::{NodeMetrics, Usage};

use crate::commands::emit;
use crate::output::align;
use crate::Context;

#[derive(clap::Subcommand)]
pub enum TopCommand {
    /// CPU and memory of each node.
    #[command(alias = "node", alias = "no")]
    Nodes(NodesArgs),
    /// CPU and memory of each pod.
    #[command(alias = "pod", alias = "po")]
    Pods(PodsArgs),
}

#[derive(clap::Args)]
pub struct NodesArgs {
    /// Only this node.
    pub name: Option<String>,
}

#[derive(clap::Args)]
pub struct PodsArgs {
    /// Only this pod.
    pub name: Option<String>,
    /// Pods of every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// One line per container.
    #[arg(long)]
    pub containers: bool,
}

pub async fn run(ctx: &Context, c: TopCommand) -> anyhow::Result<()> {
    let (nodes, unreachable) = ctx.client().await?.top().await?;
    for n in &unreachable {
        eprintln!("Warning: node {n} did not report its metrics in time");
    }
    let text = match c {
        TopCommand::Nodes(a) => nodes_table(&nodes, a.name.as_deref())?,
        TopCommand::Pods(a) => {
            let ns = (!a.all_namespaces).then_some(ctx.namespace.as_str());
            pods_table(&nodes, ns, a.name.as_deref(), a.containers)?
        }
    };
    emit(&text)
}

fn nodes_table(nodes: &[NodeMetrics], only: Option<&str>) -> anyhow::Result<String> {
    let mut rows = vec![vec![
        "NAME".to_string(),
        "CPU(cores)".into(),
        "CPU(%)".into(),
        "MEMORY(bytes)".into(),
        "MEMORY(%)".into(),
    ]];
    let mut nodes: Vec<&NodeMetrics> = nodes
        .iter()
        .filter(|n| only.is_none_or(|o| n.node == o))
        .collect();
    nodes.sort_by(|a, b| a.node.cmp(&b.node));
    if nodes.is_empty() {
        anyhow::bail!("metrics not available yet");
    }
    for n in nodes {
        rows.push(vec![
            n.node.clone(),
            cpu(n.usage),
            percent(n.usage.cpu_millicores, n.capacity.cpu_millicores),
            memory(n.usage),
            percent(n.usage.memory_bytes, n.capacity.memory_bytes),
        ]);
    }
    Ok(align(&rows))
}

fn pods_table(
    nodes: &[NodeMetrics],
    namespace: Option<&str>,
    only: Option<&str>,
    containers: bool,
) -> anyhow::Result<String> {
    let mut header = Vec::new();
    if namespace.is_none() {
        header.push("NAMESPACE".to_string());
    }
    header.push("POD".into());
    if containers {
        header.push("NAME".into());
    } else {
        header[namespace.is_none() as usize] = "NAME".into();
    }
    header.extend(["CPU(cores)".to_string(), "MEMORY(bytes)".to_string()]);
    let mut pods: Vec<_> = nodes
        .iter()
        .flat_map(|n| &n.pods)
        .filter(|p| namespace.is_none_or(|ns| p.namespace == ns))
        .filter(|p| only.is_none_or(|o| p.name == o))
        .collect();
    pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    if pods.is_empty() {
        match namespace {
            Some(ns) => anyhow::bail!("No resources found in {ns} namespace."),
            None => anyhow::bail!("No resources found"),
        }
    }
    let mut rows = vec![header];
    for p in pods {
        let lead = |row: &mut Vec<String>| {
            if namespace.is_none() {
                row.push(p.namespace.clone());
            }
            row.push(p.name.clone());
        };
        if containers {
            for c in &p.containers {
                let mut row = Vec::new();
                lead(&mut row);
                row.extend([c.name.clone(), cpu(c.usage), memory(c.usage)]);
                rows.push(row);
            }
        } else {
            let mut row = Vec::new();
            lead(&mut row);
            let u = p.usage();
            row.extend([cpu(u), memory(u)]);
            rows.push(row);
        }
    }
    Ok(align(&rows))
}

/// `250m`, as kubectl prints CPU.
fn cpu(u: Usage) -> String {
    format!("{}m", u.cpu_millicores)
}

/// `128Mi`, as kubectl prints memory.
fn memory(u: Usage) -> String {
    format!("{}Mi", u.memory_bytes / (1024 * 1024))
}

fn percent(used: u64, capacity: u64) -> String {
    if capacity == 0 {
        return "<unknown>".into();
    }
    format!("{}%", used * 100 / capacity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bosun_shared::metrics::{ContainerMetrics, PodMetrics};

    fn usage(cpu: u64, mem_mi: u64) -> Usage {
        Usage {
            cpu_millicores: cpu,
            memory_bytes: mem_mi << 20,
        }
    }

    fn metrics() -> Vec<NodeMetrics> {
        vec![NodeMetrics {
            node: "n1".into(),
            timestamp: String::new(),
            usage: usage(500, 1024),
            capacity: usage(2000, 4096),
            pods: vec![PodMetrics {
                namespace: "default".into(),
                name: "web-1".into(),
                containers: vec![
                    ContainerMetrics {
                        name: "app".into(),
                        usage: usage(12, 30),
                    },
                    ContainerMetrics {
                        name: "sidecar".into(),
                        usage: usage(3, 2),
                    },
                ],
            }],
        }]
    }

    #[test]
    fn tables_read_like_kubectl_top() {
        assert_eq!(
            nodes_table(&metrics(), None).unwrap(),
            "NAME   CPU(cores)   CPU(%)   MEMORY(bytes)   MEMORY(%)\n\
             n1     500m         25%      1024Mi          25%\n"
        );
        assert_eq!(
            pods_table(&metrics(), Some("default"), None, false).unwrap(),
            "NAME    CPU(cores)   MEMORY(bytes)\nweb-1   15m          32Mi\n"
        );
        assert_eq!(
            pods_table(&metrics(), None, None, true).unwrap(),
            "NAMESPACE   POD     NAME      CPU(cores)   MEMORY(bytes)\n\
             default     web-1   app       12m          30Mi\n\
             default     web-1   sidecar   3m           2Mi\n"
        );
        assert!(pods_table(&metrics(), Some("other"), None, false).is_err());
    }
}
