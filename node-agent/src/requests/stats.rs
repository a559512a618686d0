//! CPU and memory of the node and of its pods' running containers, measured now (`bosun top`).
use std::sync::Arc;
use std::time::Duration;

use bosun_proto::v1::AgentMessage;
use bosun_shared::metrics::{ContainerMetrics, NodeMetrics, PodMetrics, Usage};
use futures::StreamExt;
use tokio::sync::mpsc;

use super::{data, host};
use crate::labels;
use crate::runtime::{RunState, Runtime};

/// Containers measured at once (each sample takes the engine about a second).
const CONCURRENCY: usize = 16;

pub async fn measure<R: Runtime>(
    runtime: Arc<R>,
    node: String,
    id: u64,
    tx: mpsc::Sender<AgentMessage>,
) {
    let answer = match metrics(&*runtime, &node).await {
        Ok(m) => data(
            id,
            serde_json::to_vec(&m).unwrap_or_default(),
            true,
            String::new(),
        ),
        Err(e) => data(id, vec![], true, e),
    };
    let _ = tx.send(answer).await;
}

async fn metrics<R: Runtime>(runtime: &R, node: &str) -> Result<NodeMetrics, String> {
    let before = host::cpu_times();
    let started = tokio::time::Instant::now();
    let containers = runtime
        .list(&labels::node_selector(node))
        .await
        .map_err(|e| e.to_string())?;
    let running: Vec<_> = containers
        .into_iter()
        .filter(|c| c.state == RunState::Running)
        // A pod sandbox only holds namespaces; its use is nil, as `kubectl top` leaves it out.
        .filter(|c| {
            c.labels.get(labels::CONTAINER).map(String::as_str) != Some(crate::sandbox::CONTAINER)
        })
        .collect();
    let usages: Vec<_> = futures::stream::iter(running)
        .map(|c| async move {
            let u = runtime.usage(&c.id).await.unwrap_or_default();
            (c, u)
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    // The machine's figure needs its own second between samples.
    tokio::time::sleep_until(started + Duration::from_secs(1)).await;
    let info = runtime.info().await.map_err(|e| e.to_string())?;
    let cpus = (info.cpu_millis / 1000).max(1) as u64;
    let usage = Usage {
        cpu_millicores: match (before, host::cpu_times()) {
            (Some(b), Some(a)) => host::millicores(b, a, cpus),
            _ => 0,
        },
        memory_bytes: host::memory_used().unwrap_or(0),
    };
    let mut pods: Vec<PodMetrics> = Vec::new();
    for (c, u) in usages {
        let label = |k: &str| c.labels.get(k).cloned().unwrap_or_default();
        let (ns, name) = (label(labels::POD_NAMESPACE), label(labels::POD_NAME));
        let container = ContainerMetrics {
            name: label(labels::CONTAINER),
            usage: Usage {
                cpu_millicores: u.cpu_millicores,
                memory_bytes: u.memory_bytes,
            },
        };
        match pods
            .iter_mut()
            .find(|p| p.namespace == ns && p.name == name)
        {
            Some(p) => p.containers.push(container),
            None => pods.push(PodMetrics {
                namespace: ns,
                name,
                containers: vec![container],
            }),
        }
    }
    pods.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    Ok(NodeMetrics {
        node: node.to_string(),
        timestamp: bosun_shared::time::now_rfc3339().to_string(),
        usage,
        capacity: Usage {
            cpu_millicores: info.cpu_millis as u64,
            memory_bytes: info.memory_bytes as u64,
        },
        pods,
    })
}
