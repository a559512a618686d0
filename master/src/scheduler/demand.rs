//! What a pod asks of a node, and what the pods on a node already hold.
//!
//! Both are computed once per pod (quantities are parsed here, not in every filter) and in
//! integers: millicores and bytes, never floats.
use std::collections::{BTreeMap, BTreeSet};

use bosun_shared::pod::Pod;

/// CPU that scoring counts for a pod that requests none, in millicores (Kubernetes' scheduler
/// counts the same). Without it, pods that request nothing cost nothing anywhere, and every
/// one of them went to the first node by name: 30,000 bare pods on one of 1,000 nodes.
pub(super) const SCORED_CPU_MILLIS: i64 = 100;
/// Memory that scoring counts for a pod that requests none (200 MiB, as Kubernetes).
pub(super) const SCORED_MEMORY_BYTES: i64 = 200 * 1024 * 1024;

/// The resources, host ports and owner of one pod, as the scheduler sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Demand {
    /// Requested CPU in millicores.
    pub cpu_millis: i64,
    /// Requested memory in bytes.
    pub memory_bytes: i64,
    /// What scoring counts: the requests, or the defaults above where the pod requests none.
    pub scored: Scored,
    /// Published host ports as (lowercase protocol, port).
    pub host_ports: Vec<(String, i32)>,
    /// UID of the controller owner (e.g. the ReplicaSet), if the pod has one.
    pub owner_uid: Option<String>,
}

/// CPU and memory as scoring counts them (never zero for a pod).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Scored {
    pub cpu_millis: i64,
    pub memory_bytes: i64,
}

impl Scored {
    /// A pod's requests, with the defaults where it requests none.
    pub fn of(cpu_millis: i64, memory_bytes: i64) -> Self {
        let or = |v: i64, default: i64| if v > 0 { v } else { default };
        Scored {
            cpu_millis: or(cpu_millis, SCORED_CPU_MILLIS),
            memory_bytes: or(memory_bytes, SCORED_MEMORY_BYTES),
        }
    }
}

impl Demand {
    /// Reads the demand of `pod`.
    pub fn of(pod: &Pod) -> Self {
        let cpu_millis = pod.cpu_request_millis();
        let memory_bytes = pod.memory_request_bytes();
        Demand {
            cpu_millis,
            memory_bytes,
            scored: Scored::of(cpu_millis, memory_bytes),
            // hostPort 0 means "not published", as in Kubernetes.
            host_ports: pod
                .host_ports()
                .into_iter()
                .filter(|(_, port)| *port > 0)
                .collect(),
            owner_uid: pod
                .metadata
                .controller()
                .map(|o| o.uid.to_string())
                .filter(|uid| !uid.is_empty()),
        }
    }
}

/// The sum of what the pods bound (or just placed) on one node hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct NodeUsage {
    /// Requested CPU in millicores.
    pub cpu_millis: i64,
    /// Requested memory in bytes.
    pub memory_bytes: i64,
    /// What scoring counts of the pods (see [`Scored`]).
    pub scored: Scored,
    /// Number of pods.
    pub pods: usize,
    /// Host ports in use, as (lowercase protocol, port).
    pub host_ports: BTreeSet<(String, i32)>,
    /// Number of pods per controller owner UID.
    pub owners: BTreeMap<String, usize>,
}

impl NodeUsage {
    /// Counts one more pod on the node.
    pub fn add(&mut self, demand: &Demand) {
        self.cpu_millis = self.cpu_millis.saturating_add(demand.cpu_millis);
        self.memory_bytes = self.memory_bytes.saturating_add(demand.memory_bytes);
        self.scored.cpu_millis = self
            .scored
            .cpu_millis
            .saturating_add(demand.scored.cpu_millis);
        self.scored.memory_bytes =
            (self.scored.memory_bytes).saturating_add(demand.scored.memory_bytes);
        self.pods += 1;
        self.host_ports.extend(demand.host_ports.iter().cloned());
        if let Some(uid) = &demand.owner_uid {
            *self.owners.entry(uid.clone()).or_default() += 1;
        }
    }

    /// How many pods on the node share the controller owner of `demand` (0 without one).
    pub fn same_owner(&self, demand: &Demand) -> usize {
        demand
            .owner_uid
            .as_ref()
            .and_then(|uid| self.owners.get(uid))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheduler::fixtures::{owned_by, pod, with_host_port};

    #[test]
    fn demand_of_pod() {
        // Requests nothing: scored at the defaults.
        let none = Demand {
            scored: Scored {
                cpu_millis: SCORED_CPU_MILLIS,
                memory_bytes: SCORED_MEMORY_BYTES,
            },
            ..Demand::default()
        };
        let cases = [
            ("no requests", pod("a", "", ""), none.clone()),
            (
                "cpu and memory",
                pod("a", "500m", "1Gi"),
                Demand {
                    cpu_millis: 500,
                    memory_bytes: 1 << 30,
                    scored: Scored {
                        cpu_millis: 500,
                        memory_bytes: 1 << 30,
                    },
                    ..Demand::default()
                },
            ),
            (
                "cpu only: memory scored at the default",
                pod("a", "250m", ""),
                Demand {
                    cpu_millis: 250,
                    scored: Scored {
                        cpu_millis: 250,
                        memory_bytes: SCORED_MEMORY_BYTES,
                    },
                    ..Demand::default()
                },
            ),
            (
                "host port, protocol lowercased",
                with_host_port(pod("a", "", ""), "UDP", 53),
                Demand {
                    host_ports: vec![("udp".into(), 53)],
                    ..none.clone()
                },
            ),
            (
                "host port 0 is not published",
                with_host_port(pod("a", "", ""), "TCP", 0),
                none.clone(),
            ),
            (
                "controller owner",
                owned_by(pod("a", "", ""), "rs-1"),
                Demand {
                    owner_uid: Some("rs-1".into()),
                    ..none.clone()
                },
            ),
        ];
        for (name, pod, want) in cases {
            assert_eq!(Demand::of(&pod), want, "{name}");
        }
    }

    #[test]
    fn usage_adds_up() {
        let mut usage = NodeUsage::default();
        let a = Demand::of(&owned_by(
            with_host_port(pod("a", "250m", "1Mi"), "TCP", 80),
            "rs-1",
        ));
        let b = Demand::of(&owned_by(pod("b", "1", "1Mi"), "rs-1"));
        let c = Demand::of(&pod("c", "", ""));
        usage.add(&a);
        usage.add(&b);
        usage.add(&c);
        assert_eq!(usage.cpu_millis, 1250);
        assert_eq!(usage.memory_bytes, 2 << 20);
        assert_eq!(usage.pods, 3);
        assert_eq!(usage.scored.cpu_millis, 1250 + SCORED_CPU_MILLIS);
        assert_eq!(usage.scored.memory_bytes, (2 << 20) + SCORED_MEMORY_BYTES);
        assert!(usage.host_ports.contains(&("tcp".to_string(), 80)));
        assert_eq!(usage.same_owner(&a), 2);
        assert_eq!(usage.same_owner(&c), 0, "no owner: criterion ignored");
        let other = Demand::of(&owned_by(pod("d", "", ""), "rs-2"));
        assert_eq!(usage.same_owner(&other), 0);
    }
}
