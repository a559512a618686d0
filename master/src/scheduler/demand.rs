//! What a pod asks of a node, and what the pods on a node already hold.
//!
//! Both are computed once per pod (quantities are parsed here, not in every filter) and in
//! integers: millicores and bytes, never floats.
use std::collections::{BTreeMap, BTreeSet};

use bosun_shared::pod::Pod;

/// The resources, host ports and owner of one pod, as the scheduler sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Demand {
    /// Requested CPU in millicores.
    pub cpu_millis: i64,
    /// Requested memory in bytes.
    pub memory_bytes: i64,
    /// Published host ports as (lowercase protocol, port).
    pub host_ports: Vec<(String, i32)>,
    /// UID of the controller owner (e.g. the ReplicaSet), if the pod has one.
    pub owner_uid: Option<String>,
}

impl Demand {
    /// Reads the demand of `pod`.
    pub fn of(pod: &Pod) -> Self {
        Demand {
            cpu_millis: pod.cpu_request_millis(),
            memory_bytes: pod.memory_request_bytes(),
            // hostPort 0 means "not published", as in Kubernetes.
            host_ports: pod
                .host_ports()
                .into_iter()
                .filter(|(_, port)| *port > 0)
                .collect(),
            owner_uid: pod
                .metadata
                .controller()
                .map(|o| o.uid.clone())
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
        let cases = [
            ("no requests", pod("a", "", ""), Demand::default()),
            (
                "cpu and memory",
                pod("a", "500m", "1Gi"),
                Demand {
                    cpu_millis: 500,
                    memory_bytes: 1 << 30,
                    ..Demand::default()
                },
            ),
            (
                "host port, protocol lowercased",
                with_host_port(pod("a", "", ""), "UDP", 53),
                Demand {
                    host_ports: vec![("udp".into(), 53)],
                    ..Demand::default()
                },
            ),
            (
                "host port 0 is not published",
                with_host_port(pod("a", "", ""), "TCP", 0),
                Demand::default(),
            ),
            (
                "controller owner",
                owned_by(pod("a", "", ""), "rs-1"),
                Demand {
                    owner_uid: Some("rs-1".into()),
                    ..Demand::default()
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
        assert!(usage.host_ports.contains(&("tcp".to_string(), 80)));
        assert_eq!(usage.same_owner(&a), 2);
        assert_eq!(usage.same_owner(&c), 0, "no owner: criterion ignored");
        let other = Demand::of(&owned_by(pod("d", "", ""), "rs-2"));
        assert_eq!(usage.same_owner(&other), 0);
    }
}
