//! Test builders for pods and nodes (compiled only for tests).
use bosun_shared::meta::{Condition, ObjectMeta, OwnerReference};
use bosun_shared::node::{Node, NodeStatus};
use bosun_shared::pod::{Container, ContainerPort, Pod, PodPhase, PodStatus, ResourceRequirements};
use bosun_shared::quantity::Quantity;

/// A ready node with the given allocatable CPU and memory (`""` leaves a dimension out).
pub(super) fn node(name: &str, cpu: &str, memory: &str) -> Node {
    let mut status = NodeStatus {
        conditions: vec![Condition {
            type_: "Ready".into(),
            status: "True".into(),
            ..Condition::default()
        }],
        ..NodeStatus::default()
    };
    for (key, value) in [("cpu", cpu), ("memory", memory)] {
        if !value.is_empty() {
            status.capacity.insert(key.into(), Quantity::from(value));
        }
    }
    Node {
        metadata: ObjectMeta {
            name: name.into(),
            ..ObjectMeta::default()
        },
        status: Some(status),
        ..Node::default()
    }
}

/// `node` with its Ready condition set to `status` (`True`, `False`, `Unknown`).
pub(super) fn with_ready(mut node: Node, status: &str) -> Node {
    if let Some(s) = node.status.as_mut() {
        s.conditions[0].status = status.into();
    }
    node
}

/// `node`, cordoned.
pub(super) fn cordoned(mut node: Node) -> Node {
    node.spec.unschedulable = true;
    node
}

/// `node` with the given labels added.
pub(super) fn labelled(mut node: Node, labels: &[(&str, &str)]) -> Node {
    for (k, v) in labels {
        node.metadata.labels.insert((*k).into(), (*v).into());
    }
    node
}

/// A pending pod in `default` with one container requesting `cpu` and `memory` (`""`: none).
pub(super) fn pod(name: &str, cpu: &str, memory: &str) -> Pod {
    let mut resources = ResourceRequirements::default();
    for (key, value) in [("cpu", cpu), ("memory", memory)] {
        if !value.is_empty() {
            resources.requests.insert(key.into(), Quantity::from(value));
        }
    }
    Pod {
        metadata: ObjectMeta {
            name: name.into(),
            namespace: "default".into(),
            ..ObjectMeta::default()
        },
        spec: bosun_shared::pod::PodSpec {
            containers: vec![Container {
                name: "main".into(),
                image: "busybox".into(),
                resources,
                ..Container::default()
            }],
            ..Default::default()
        },
        ..Pod::default()
    }
}

/// `pod` bound to `node`, running.
pub(super) fn bound_to(mut pod: Pod, node: &str) -> Pod {
    pod.spec.node_name = Some(node.into());
    pod.status = Some(PodStatus {
        phase: PodPhase::Running,
        ..PodStatus::default()
    });
    pod
}

/// `pod` in the given phase.
pub(super) fn in_phase(mut pod: Pod, phase: PodPhase) -> Pod {
    pod.status.get_or_insert_with(PodStatus::default).phase = phase;
    pod
}

/// `pod` controlled by the owner with `uid`.
pub(super) fn owned_by(mut pod: Pod, uid: &str) -> Pod {
    pod.metadata.owner_references.push(OwnerReference {
        api_version: "apps/v1".into(),
        kind: "ReplicaSet".into(),
        name: format!("rs-{uid}").into(),
        uid: uid.into(),
        controller: Some(true),
    });
    pod
}

/// `pod` publishing `port` on the node with `protocol` (`TCP`, `UDP`).
pub(super) fn with_host_port(mut pod: Pod, protocol: &str, port: i32) -> Pod {
    pod.spec.containers[0].ports.push(ContainerPort {
        container_port: port,
        host_port: Some(port),
        protocol: Some(protocol.into()),
        ..ContainerPort::default()
    });
    pod
}

/// `pod` with a node selector.
pub(super) fn selecting(mut pod: Pod, selector: &[(&str, &str)]) -> Pod {
    for (k, v) in selector {
        pod.spec.node_selector.insert((*k).into(), (*v).into());
    }
    pod
}
