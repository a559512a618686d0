//! One run of a probe's handler against one container attempt, bounded by `timeoutSeconds`.
use std::time::Duration;

use bosun_shared::pod::ContainerPort;
use bosun_shared::probe::{Probe, ProbeAction, ProbePort};

use super::{exec, http, tcp};
use crate::runtime::Runtime;

/// What one run of a probe found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Success,
    /// Counts towards `failureThreshold`; says why, as Kubernetes would
    /// (`HTTP probe failed with statuscode: 500`).
    Failure(String),
    /// The agent could not tell (the engine failed to run the command): not counted.
    Unknown(String),
}

/// The container attempt a probe checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// `namespace/name` of the pod, for logs.
    pub pod: String,
    /// The container's name in the pod.
    pub container: String,
    /// The engine's id of the attempt (where `exec` runs).
    pub container_id: String,
    /// The pod's address on the engine's network: where `httpGet` and `tcpSocket` go unless
    /// they name a `host`.
    pub pod_ip: Option<String>,
    /// The container's ports, to resolve named probe ports.
    pub ports: Vec<ContainerPort>,
}

/// `timeoutSeconds` as a duration (at least a second, as validation requires).
pub fn timeout_of(probe: &Probe) -> Duration {
    Duration::from_secs(u64::try_from(probe.timeout_seconds.max(1)).unwrap_or(1))
}

/// Runs the probe's handler once.
pub async fn run<R: Runtime>(runtime: &R, probe: &Probe, target: &Target) -> Outcome {
    let timeout = timeout_of(probe);
    match probe.action() {
        None => Outcome::Unknown("the probe has no handler".to_string()),
        Some(ProbeAction::Exec(e)) => {
            exec::run(runtime, &target.container_id, &e.command, timeout).await
        }
        Some(ProbeAction::HttpGet(get)) => match address(get.host.as_deref(), &get.port, target) {
            Ok((host, port)) => http::get(&host, port, get, timeout).await,
            Err(message) => Outcome::Failure(message),
        },
        Some(ProbeAction::TcpSocket(tcp)) => {
            match address(tcp.host.as_deref(), &tcp.port, target) {
                Ok((host, port)) => tcp::connect(&host, port, timeout).await,
                Err(message) => Outcome::Failure(message),
            }
        }
    }
}

/// The host (the probe's, else the pod's IP) and port number a network probe goes to.
fn address(host: Option<&str>, port: &ProbePort, target: &Target) -> Result<(String, u16), String> {
    let port = port.resolve(&target.ports)?;
    let host = host
        .filter(|h| !h.is_empty())
        .or(target.pod_ip.as_deref())
        .ok_or("the pod has no IP address yet and the probe names no host")?;
    Ok((host.to_string(), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(ip: Option<&str>) -> Target {
        Target {
            pod: "default/web".into(),
            container: "web".into(),
            container_id: "abc".into(),
            pod_ip: ip.map(str::to_string),
            ports: vec![ContainerPort {
                container_port: 8080,
                name: Some("http".into()),
                ..Default::default()
            }],
        }
    }

    #[test]
    fn network_probes_go_to_the_host_or_the_pod_ip() {
        let named = ProbePort::Name("http".into());
        assert_eq!(
            address(None, &named, &target(Some("172.17.0.2"))),
            Ok(("172.17.0.2".to_string(), 8080))
        );
        assert_eq!(
            address(Some("127.0.0.1"), &ProbePort::Number(81), &target(None)),
            Ok(("127.0.0.1".to_string(), 81))
        );
        assert!(address(None, &named, &target(None))
            .unwrap_err()
            .contains("no IP address"));
        assert!(address(
            None,
            &ProbePort::Name("x".into()),
            &target(Some("10.0.0.1"))
        )
        .unwrap_err()
        .contains("no port named \"x\""));
    }
}
