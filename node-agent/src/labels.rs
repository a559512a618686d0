//! Labels on the containers the agent owns, and their names.
//!
//! The agent finds its containers only by these labels and never touches any other container.
use std::collections::BTreeMap;

use bosun_shared::pod::Pod;

/// Every container Bosun creates carries `bosun.managed=true`.
pub const MANAGED: &str = "bosun.managed";
/// Name of the node (agent) that owns the container.
pub const NODE: &str = "bosun.node";
pub const POD_UID: &str = "bosun.pod.uid";
pub const POD_NAMESPACE: &str = "bosun.pod.namespace";
pub const POD_NAME: &str = "bosun.pod.name";
pub const CONTAINER: &str = "bosun.container";
/// Which restart of the container this is (0 for the first run).
pub const ATTEMPT: &str = "bosun.attempt";
/// Seconds between SIGTERM and SIGKILL, kept on the container for when the pod is gone.
pub const GRACE: &str = "bosun.grace-seconds";
/// Uids of the PersistentVolumeClaims the container mounts, comma-separated.
pub const CLAIMS: &str = "bosun.claims";
/// The container's preStop hook (JSON).
pub const PRE_STOP: &str = "bosun.pre-stop";
/// `"true"` on an init container.
pub const INIT: &str = "bosun.init";
/// The engine's id of the pod sandbox the container joined ([`crate::sandbox`]).
pub const SANDBOX: &str = "bosun.sandbox";
/// Grace period when a pod does not set one.
pub const DEFAULT_GRACE_SECONDS: u64 = 30;

/// The labels that select every container of `node`.
pub fn node_selector(node: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (NODE.to_string(), node.to_string()),
    ])
}

/// The labels of one attempt of one container of a pod.
pub fn container_labels(
    node: &str,
    pod: &Pod,
    container: &str,
    attempt: u32,
) -> BTreeMap<String, String> {
    let mut l = node_selector(node);
    l.insert(POD_UID.into(), pod.metadata.uid.to_string());
    l.insert(POD_NAMESPACE.into(), pod.metadata.namespace.to_string());
    l.insert(POD_NAME.into(), pod.metadata.name.to_string());
    l.insert(CONTAINER.into(), container.to_string());
    l.insert(ATTEMPT.into(), attempt.to_string());
    let grace = pod
        .spec
        .termination_grace_period_seconds
        .map_or(DEFAULT_GRACE_SECONDS, |g| g.max(0) as u64);
    l.insert(GRACE.into(), grace.to_string());
    if pod.spec.init_containers.iter().any(|c| c.name == container) {
        l.insert(INIT.into(), "true".into());
    }
    let pre_stop = pod
        .spec
        .containers
        .iter()
        .find(|c| c.name == container)
        .and_then(|c| c.lifecycle.as_ref()?.pre_stop.as_ref());
    if let Some(h) = pre_stop {
        // Plain data always serializes.
        l.insert(
            PRE_STOP.into(),
            serde_json::to_string(h).expect("hook serializes"),
        );
    }
    l
}

/// The container's preStop hook, recorded at creation: a removed pod's spec is gone by the
/// time its containers stop.
pub fn pre_stop_of(
    labels: &BTreeMap<String, String>,
) -> Option<bosun_shared::lifecycle::LifecycleHandler> {
    serde_json::from_str(labels.get(PRE_STOP)?).ok()
}

/// The grace period recorded on a container.
pub fn grace_of(labels: &BTreeMap<String, String>) -> std::time::Duration {
    let secs = labels
        .get(GRACE)
        .and_then(|g| g.parse().ok())
        .unwrap_or(DEFAULT_GRACE_SECONDS);
    std::time::Duration::from_secs(secs)
}

/// `bosun_<namespace>_<pod>_<container>_<uid prefix>_<attempt>`: unique per attempt.
pub fn container_name(pod: &Pod, container: &str, attempt: u32) -> String {
    let uid: String = pod
        .metadata
        .uid
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(8)
        .collect();
    format!(
        "bosun_{}_{}_{}_{}_{}",
        pod.metadata.namespace, pod.metadata.name, container, uid, attempt
    )
}

/// The attempt number of an observed container (0 when unlabelled).
pub fn attempt_of(labels: &BTreeMap<String, String>) -> u32 {
    labels
        .get(ATTEMPT)
        .and_then(|a| a.parse().ok())
        .unwrap_or(0)
}
