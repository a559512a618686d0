//! [`NodeMetrics`]: CPU and memory of a node and of its pods' containers, as an agent measured
//! them for `bosun top` (what the Kubernetes metrics API serves, measured on demand).
use serde::{Deserialize, Serialize};

/// CPU and memory in use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Usage {
    /// Thousandths of a core, averaged over about a second.
    pub cpu_millicores: u64,
    /// Working set: memory in use less the page cache the kernel can reclaim.
    pub memory_bytes: u64,
}

impl Usage {
    pub fn add(&mut self, other: Usage) {
        self.cpu_millicores += other.cpu_millicores;
        self.memory_bytes += other.memory_bytes;
    }
}

/// One container's usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerMetrics {
    pub name: String,
    pub usage: Usage,
}

/// One pod's containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetrics {
    pub namespace: String,
    pub name: String,
    pub containers: Vec<ContainerMetrics>,
}

impl PodMetrics {
    /// The sum over the pod's containers.
    pub fn usage(&self) -> Usage {
        let mut u = Usage::default();
        for c in &self.containers {
            u.add(c.usage);
        }
        u
    }
}

/// What one agent measured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeMetrics {
    pub node: String,
    /// When it was measured (RFC 3339).
    pub timestamp: String,
    /// The whole machine's use (from `/proc`), not only the pods'.
    pub usage: Usage,
    /// What the machine has: CPUs in millicores, memory in bytes.
    pub capacity: Usage,
    pub pods: Vec<PodMetrics>,
}
