//! A container's runtime spec: its environment and volumes resolved on this node, its
//! registry credentials, its labels and limits.
use bosun_shared::pod::{Container, Pod};

use crate::desired::DesiredPods;
use crate::labels;
use crate::runtime::{ContainerSpec, Namespaces, PortBinding, Runtime};

/// Credentials for `image` from the pod's `imagePullSecrets`, the first that has some.
pub(super) fn registry_auth(
    pod: &Pod,
    image: &str,
    config: &crate::assigned_config::AssignedConfig,
) -> Option<bosun_shared::registry_auth::RegistryAuth> {
    pod.spec.image_pull_secrets.iter().find_map(|r| {
        let s = config.get(bosun_shared::Kind::Secret, &pod.metadata.namespace, &r.name)?;
        bosun_shared::registry_auth::credentials_for(image, s.as_secret()?)
    })
}

/// The container's runtime spec with its environment and volumes resolved, or why it cannot
/// be created.
pub(super) async fn spec_for<R: Runtime>(
    volumes: &crate::volumes::PodVolumes<R>,
    desired: &DesiredPods,
    node: &str,
    p: &Pod,
    c: &Container,
    attempt: u32,
) -> Result<ContainerSpec, String> {
    let config = &desired.config;
    let env = crate::env::resolve(p, c, node, config)?;
    let mounts = volumes.mounts(p, c, config).await?;
    let mut spec = container_spec(node, p, c, attempt, env, mounts);
    // The claims it mounts, so their volumes stay while the container exists (a subPath
    // mount is by path, which the engine does not count as a use of the volume).
    let claims = volumes.claim_uids_of(p, c, config);
    if !claims.is_empty() {
        spec.labels.insert(labels::CLAIMS.into(), claims.join(","));
    }
    Ok(spec)
}

/// A pod's name as a hostname: at most 63 characters, no trailing `-` or `.`.
pub(crate) fn hostname(pod: &str) -> String {
    let mut h: String = pod.chars().take(63).collect();
    while h.ends_with(['-', '.']) {
        h.pop();
    }
    h
}

/// The runtime's view of one container of a pod, with its resolved environment and mounts.
pub fn container_spec(
    node: &str,
    pod: &Pod,
    c: &Container,
    attempt: u32,
    env: Vec<(String, String)>,
    mounts: Vec<crate::runtime::Mount>,
) -> ContainerSpec {
    let limit = |name: &str| c.resources.limits.get(name);
    ContainerSpec {
        name: labels::container_name(pod, &c.name, attempt),
        image: c.image.to_string(),
        command: c.command.clone(),
        args: c.args.clone(),
        env,
        mounts,
        ports: c.ports.iter().map(port_binding).collect(),
        memory_limit_bytes: limit("memory").and_then(|q| q.value().ok()),
        cpu_limit_millis: limit("cpu").and_then(|q| q.millis().ok()),
        working_dir: c.working_dir.clone(),
        hostname: Some(hostname(&pod.metadata.name)),
        labels: labels::container_labels(node, pod, &c.name, attempt),
        namespaces: Namespaces::Own,
    }
}

/// How the engine publishes a container port.
pub(crate) fn port_binding(p: &bosun_shared::pod::ContainerPort) -> PortBinding {
    PortBinding {
        container_port: p.container_port.clamp(0, 65535) as u16,
        host_port: p.host_port.map(|h| h.clamp(0, 65535) as u16),
        protocol: p.protocol_lower(),
        host_ip: p.host_ip.clone(),
    }
}
