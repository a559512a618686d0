//! `describe node`.
use std::collections::BTreeMap;
use std::time::SystemTime;

use bosun_shared::node::Node;
use bosun_shared::pod::Pod;
use bosun_shared::quantity::{format_bytes, format_millis, Quantity};
use bosun_shared::time::age;

use super::timestamp::rfc1123z_or_unknown;
use super::{clean, ConditionColumn, Writer};
use crate::output::columns::node_roles;

pub(super) fn describe(w: &mut Writer, node: &Node, pods: &[&Pod], now: SystemTime) {
    let meta = &node.metadata;
    let status = node.status.clone().unwrap_or_default();
    w.field(0, "Name", &meta.name);
    w.field(0, "Roles", node_roles(node));
    w.labels(0, "Labels", &meta.labels);
    w.annotations(0, "Annotations", &meta.annotations);
    w.field(
        0,
        "CreationTimestamp",
        rfc1123z_or_unknown(meta.creation_timestamp.as_deref()),
    );
    w.taints(0, &node.spec.taints);
    w.field(0, "Unschedulable", node.spec.unschedulable.to_string());
    use ConditionColumn::*;
    w.conditions(
        &status.conditions,
        &[LastHeartbeatTime, LastTransitionTime, Reason, Message],
    );
    w.line(0, "Addresses:");
    for a in &status.addresses {
        w.field(1, &clean(&a.type_), &a.address);
    }
    quantities(w, "Capacity", &status.capacity);
    // Allocatable defaults to capacity, as the scheduler reads it.
    let allocatable = if status.allocatable.is_empty() {
        &status.capacity
    } else {
        &status.allocatable
    };
    quantities(w, "Allocatable", allocatable);
    let info = &status.node_info;
    w.line(0, "System Info:");
    w.field(1, "Operating System", &info.operating_system);
    w.field(1, "Architecture", &info.architecture);
    w.field(
        1,
        "Container Runtime Version",
        &info.container_runtime_version,
    );
    w.field(1, "Kubelet Version", &info.kubelet_version);
    let pods: Vec<&Pod> = pods
        .iter()
        .copied()
        .filter(|p| !p.phase().is_terminal())
        .filter(|p| p.spec.node_name.as_deref() == Some(meta.name.as_str()))
        .collect();
    non_terminated_pods(w, node, &pods, now);
    allocated(w, node, &pods);
}

/// `Capacity:` or `Allocatable:` with `cpu:  2` lines.
fn quantities(w: &mut Writer, title: &str, map: &BTreeMap<String, Quantity>) {
    w.line(0, &format!("{title}:"));
    for (name, q) in map {
        w.field(1, &clean(name), &q.0);
    }
}

/// What pods ask of the node: requests (limits standing in for missing ones) and limits.
struct Usage {
    cpu_requests: i64,
    cpu_limits: i64,
    memory_requests: i64,
    memory_limits: i64,
}

impl Usage {
    fn of(pod: &Pod) -> Usage {
        let limits = |name: &str, value: fn(&Quantity) -> Option<i64>| -> i64 {
            pod.spec
                .containers
                .iter()
                .filter_map(|c| c.resources.limits.get(name).and_then(value))
                .sum()
        };
        Usage {
            cpu_requests: pod.cpu_request_millis(),
            cpu_limits: limits("cpu", |q| q.millis().ok()),
            memory_requests: pod.memory_request_bytes(),
            memory_limits: limits("memory", |q| q.value().ok()),
        }
    }

    fn total(pods: &[&Pod]) -> Usage {
        pods.iter().map(|p| Usage::of(p)).fold(
            Usage {
                cpu_requests: 0,
                cpu_limits: 0,
                memory_requests: 0,
                memory_limits: 0,
            },
            |a, b| Usage {
                cpu_requests: a.cpu_requests + b.cpu_requests,
                cpu_limits: a.cpu_limits + b.cpu_limits,
                memory_requests: a.memory_requests + b.memory_requests,
                memory_limits: a.memory_limits + b.memory_limits,
            },
        )
    }

    /// The four amounts as `500m (25%)` of the node's allocatable CPU and memory.
    fn cells(&self, node: &Node) -> [String; 4] {
        let (cpu, memory) = (node.cpu_millis(), node.memory_bytes());
        [
            share(format_millis(self.cpu_requests), self.cpu_requests, cpu),
            share(format_millis(self.cpu_limits), self.cpu_limits, cpu),
            share(
                format_bytes(self.memory_requests),
                self.memory_requests,
                memory,
            ),
            share(format_bytes(self.memory_limits), self.memory_limits, memory),
        ]
    }
}

/// `amount (p%)`, the percentage truncated as kubectl does; 0% of nothing.
fn share(text: String, amount: i64, of: i64) -> String {
    let percent = if of > 0 {
        i128::from(amount) * 100 / i128::from(of)
    } else {
        0
    };
    format!("{text} ({percent}%)")
}

/// `Non-terminated Pods:  (n in total)` and a table of what each asks.
fn non_terminated_pods(w: &mut Writer, node: &Node, pods: &[&Pod], now: SystemTime) {
    w.field(
        0,
        "Non-terminated Pods",
        format!("({} in total)", pods.len()),
    );
    w.line(
        1,
        "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge",
    );
    w.line(
        1,
        "---------\t----\t\t------------\t----------\t---------------\t-------------\t---",
    );
    for pod in pods {
        let [cpu_req, cpu_lim, mem_req, mem_lim] = Usage::of(pod).cells(node);
        w.line(
            1,
            &format!(
                "{}\t{}\t\t{cpu_req}\t{cpu_lim}\t{mem_req}\t{mem_lim}\t{}",
                pod.metadata.namespace,
                pod.metadata.name,
                age(pod.metadata.creation_timestamp.as_deref(), now)
            ),
        );
    }
}

/// `Allocated resources:`: the pods' totals against the node's allocatable resources.
fn allocated(w: &mut Writer, node: &Node, pods: &[&Pod]) {
    let [cpu_req, cpu_lim, mem_req, mem_lim] = Usage::total(pods).cells(node);
    w.line(0, "Allocated resources:");
    w.line(
        1,
        "(Total limits may be over 100 percent, i.e., overcommitted.)",
    );
    w.line(1, "Resource\tRequests\tLimits");
    w.line(1, "--------\t--------\t------");
    w.line(1, &format!("cpu\t{cpu_req}\t{cpu_lim}"));
    w.line(1, &format!("memory\t{mem_req}\t{mem_lim}"));
}

#[cfg(test)]
mod tests {
    use crate::output::fixtures::{self, now, running_pod};
    use bosun_shared::pod::PodPhase;
    use bosun_shared::Object;

    #[test]
    fn a_node_with_its_pods() {
        let mut node = fixtures::node("n1");
        node.spec.unschedulable = true;
        node.spec.taints = vec![
            bosun_shared::taint::Taint {
                key: "node.kubernetes.io/unschedulable".into(),
                effect: "NoSchedule".into(),
                ..Default::default()
            },
            bosun_shared::taint::Taint {
                key: "dedicated".into(),
                value: "gpu".into(),
                effect: "NoExecute".into(),
                time_added: None,
            },
        ];
        node.metadata
            .labels
            .insert("kubernetes.io/hostname".into(), "n1".into());
        let mut web = running_pod("web-a", "n1");
        let r = &mut web.spec.containers[0].resources;
        r.requests.insert("cpu".into(), "500m".into());
        r.requests.insert("memory".into(), "512Mi".into());
        r.limits.insert("memory".into(), "1Gi".into());
        let mut db = running_pod("db-0", "n1");
        db.metadata.namespace = "data".into();
        db.spec.containers[0]
            .resources
            .limits
            .insert("cpu".into(), "1".into());
        let mut done = running_pod("job-x", "n1");
        done.status.as_mut().unwrap().phase = PodPhase::Succeeded;
        let elsewhere = running_pod("other", "n2");
        let related: Vec<Object> = [web, db, done, elsewhere].map(Object::from).into();
        let out = crate::output::describe(&node.into(), &related, &[], now());
        assert_eq!(
            out,
            "Name:               n1
Roles:              <none>
Labels:             kubernetes.io/hostname=n1
Annotations:        <none>
CreationTimestamp:  Tue, 30 Dec 2025 00:00:00 +0000
Taints:             node.kubernetes.io/unschedulable:NoSchedule
                    dedicated=gpu:NoExecute
Unschedulable:      true
Conditions:
  Type    Status  LastHeartbeatTime                LastTransitionTime               Reason      Message
  ----    ------  -----------------                ------------------               ------      -------
  Ready   True    Wed, 31 Dec 2025 23:59:50 +0000  Tue, 30 Dec 2025 00:00:00 +0000  AgentReady  agent is posting ready status
Addresses:
  InternalIP:  10.0.0.1
Capacity:
  cpu:     2
  memory:  4Gi
  pods:    110
Allocatable:
  cpu:     2
  memory:  4Gi
  pods:    110
System Info:
  Operating System:           linux
  Architecture:               amd64
  Container Runtime Version:  docker://24.0.7
  Kubelet Version:            v0.1.0
Non-terminated Pods:          (2 in total)
  Namespace                   Name     CPU Requests  CPU Limits  Memory Requests  Memory Limits  Age
  ---------                   ----     ------------  ----------  ---------------  -------------  ---
  default                     web-a    500m (25%)    0 (0%)      512Mi (12%)      1Gi (25%)      5m30s
  data                        db-0     1 (50%)       1 (50%)     0 (0%)           0 (0%)         5m30s
Allocated resources:
  (Total limits may be over 100 percent, i.e., overcommitted.)
  Resource  Requests     Limits
  --------  --------     ------
  cpu       1500m (75%)  1 (50%)
  memory    512Mi (12%)  1Gi (25%)
Events:     <none>
"
        );
    }
}
