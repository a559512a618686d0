//! Objects for the output tests, at a fixed `now`.
use std::time::{Duration, SystemTime};

use bosun_shared::deployment::{Deployment, DeploymentStatus};
use bosun_shared::meta::{Condition, ObjectMeta};
use bosun_shared::node::{Node, NodeAddress, NodeInfo, NodeStatus};
use bosun_shared::pod::{
    Container, ContainerState, ContainerStatus, Pod, PodPhase, PodStatus, StateRunning,
    StateWaiting,
};
use bosun_shared::time::to_rfc3339;
use bosun_shared::ToCompactString;

/// 2026-01-01T00:00:00Z.
pub fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600)
}

/// The RFC 3339 time `secs` seconds before [`now`].
pub fn ago(secs: u64) -> String {
    to_rfc3339(now() - Duration::from_secs(secs)).to_string()
}

fn meta(name: &str, namespace: &str, age_secs: u64) -> ObjectMeta {
    ObjectMeta {
        name: name.to_compact_string(),
        namespace: namespace.to_compact_string(),
        uid: format!("uid-{name}").into(),
        resource_version: "7".to_compact_string(),
        creation_timestamp: Some(ago(age_secs).into()),
        ..Default::default()
    }
}

/// A pending pod in `default`, 5m30s old, with containers of the given names (image
/// `nginx:1.25`) and an empty status.
pub fn pod(name: &str, containers: &[&str]) -> Pod {
    Pod {
        api_version: "v1".into(),
        kind: "Pod".into(),
        metadata: meta(name, "default", 330),
        spec: bosun_shared::pod::PodSpec {
            containers: containers
                .iter()
                .map(|c| Container {
                    name: c.to_compact_string(),
                    image: "nginx:1.25".to_compact_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        },
        status: Some(PodStatus::default()),
    }
}

/// A pod running on `node` with every container ready.
pub fn running_pod(name: &str, node: &str) -> Pod {
    let mut p = pod(name, &["app"]);
    p.spec.node_name = Some(node.to_compact_string());
    p.status = Some(PodStatus {
        phase: PodPhase::Running,
        host_ip: Some("10.0.0.1".to_compact_string()),
        pod_ip: Some("10.0.0.1".to_compact_string()),
        start_time: Some(ago(290).into()),
        conditions: vec![
            condition("PodScheduled", "True"),
            condition("Ready", "True"),
        ],
        container_statuses: vec![ContainerStatus {
            name: "app".to_compact_string(),
            image: "nginx:1.25".to_compact_string(),
            container_id: Some("docker://abc123".to_compact_string()),
            ready: true,
            state: ContainerState {
                running: Some(StateRunning {
                    started_at: Some(ago(280).into()),
                }),
                ..Default::default()
            },
            ..Default::default()
        }],
        ..Default::default()
    });
    p
}

/// A container state waiting for `reason`.
pub fn waiting(reason: &str) -> ContainerState {
    ContainerState {
        waiting: Some(Box::new(StateWaiting {
            reason: Some(reason.to_compact_string()),
            message: None,
        })),
        ..Default::default()
    }
}

pub fn condition(type_: &str, status: &str) -> Condition {
    Condition {
        type_: type_.to_compact_string(),
        status: status.to_compact_string(),
        ..Default::default()
    }
}

/// A ready node, two days old, with 2 CPUs and 4Gi of memory.
pub fn node(name: &str) -> Node {
    let resources = [("cpu", "2"), ("memory", "4Gi"), ("pods", "110")]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
    Node {
        api_version: "v1".into(),
        kind: "Node".into(),
        metadata: meta(name, "", 2 * 86400),
        spec: Default::default(),
        status: Some(NodeStatus {
            capacity: resources,
            allocatable: Default::default(),
            conditions: vec![{
                let mut c = Condition {
                    reason: Some("AgentReady".into()),
                    message: Some("agent is posting ready status".into()),
                    last_transition_time: Some(ago(2 * 86400).into()),
                    ..condition("Ready", "True")
                };
                c.set_last_heartbeat_time(Some(ago(10).into()));
                c
            }],
            addresses: vec![NodeAddress {
                type_: "InternalIP".into(),
                address: "10.0.0.1".into(),
            }],
            node_info: NodeInfo {
                architecture: "amd64".into(),
                operating_system: "linux".into(),
                container_runtime_version: "docker://24.0.7".into(),
                kubelet_version: "v0.1.0".into(),
            },
        }),
    }
}

/// A deployment of `replicas` nginx pods labelled `app=<name>`, all ready, an hour old.
pub fn deployment(name: &str, replicas: i32) -> Deployment {
    let labels: bosun_shared::meta::StringMap = [("app".into(), name.into())].into_iter().collect();
    let mut d = Deployment {
        api_version: "apps/v1".into(),
        kind: "Deployment".into(),
        metadata: meta(name, "default", 3600),
        ..Default::default()
    };
    d.spec.replicas = Some(replicas);
    d.spec.selector.match_labels = labels.clone();
    d.spec.template.metadata.labels = labels;
    d.spec.template.spec = pod(name, &["nginx"]).spec;
    d.status = Some(DeploymentStatus {
        observed_generation: 1,
        replicas,
        updated_replicas: replicas,
        ready_replicas: replicas,
        available_replicas: replicas,
        unavailable_replicas: 0,
        conditions: vec![Condition {
            reason: Some("MinimumReplicasAvailable".into()),
            ..condition("Available", "True")
        }],
    });
    d
}
