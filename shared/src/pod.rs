//! `v1` Pod: one or more containers bound to a node and run by its agent.
use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::meta::{find_condition, Condition, ObjectMeta, StringMap};
use crate::probe::Probe;
use crate::quantity::Quantity;

/// A Pod, as in Kubernetes' `v1`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pod {
    #[serde(default)]
    pub api_version: CompactString,
    #[serde(default)]
    pub kind: CompactString,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: PodSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<PodStatus>,
}

/// What a pod runs and where.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(default, deserialize_with = "crate::exact_vec::deserialize")]
    pub containers: Vec<Container>,
    /// Run one after another, each to completion, before the containers start; rerun when
    /// the pod's sandbox is re-created.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub init_containers: Vec<Container>,
    /// `Always` (default), `OnFailure` or `Never`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restart_policy: Option<RestartPolicy>,
    /// The node the pod is bound to; set by the scheduler (or by hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_name: Option<CompactString>,
    /// Labels a node must carry to run this pod.
    #[serde(default, skip_serializing_if = "StringMap::is_empty")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub node_selector: StringMap,
    /// Seconds between SIGTERM and SIGKILL when the pod is stopped (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_period_seconds: Option<i64>,
    /// Taints this pod accepts on its node.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub tolerations: Vec<crate::taint::Toleration>,
    /// Secrets (`kubernetes.io/dockerconfigjson`) with credentials for private registries.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub image_pull_secrets: Vec<crate::env::ObjectRef>,
    /// Volumes the containers can mount.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub volumes: Vec<crate::volume::Volume>,
}

impl PodSpec {
    /// Init containers, then containers.
    pub fn all_containers(&self) -> impl Iterator<Item = &Container> {
        self.init_containers.iter().chain(&self.containers)
    }

    /// Whether the containers share a sandbox: a pod of more than one container (init
    /// containers included). A pod of one container is that container alone.
    pub fn sandboxed(&self) -> bool {
        self.init_containers.len() + self.containers.len() > 1
    }

    /// The container `logs` and `exec` use when none is named: the one the
    /// `kubectl.kubernetes.io/default-container` annotation names, else the first.
    pub fn default_container<'a>(&'a self, meta: &'a ObjectMeta) -> Option<&'a str> {
        meta.annotations
            .get(DEFAULT_CONTAINER_ANNOTATION)
            .filter(|n| self.all_containers().any(|c| c.name == *n))
            .map(CompactString::as_str)
            .or_else(|| self.containers.first().map(|c| c.name.as_str()))
    }
}

/// The pod condition that says it can serve: every container is ready.
pub const POD_READY: &str = "Ready";
/// The pod condition that says every container is ready.
pub const CONTAINERS_READY: &str = "ContainersReady";
/// The pod condition that says every init container has completed.
pub const INITIALIZED: &str = "Initialized";
/// The pod annotation naming the container `logs` and `exec` use when none is given.
pub const DEFAULT_CONTAINER_ANNOTATION: &str = "kubectl.kubernetes.io/default-container";

/// Restart policy of a pod's containers.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum RestartPolicy {
    #[default]
    Always,
    OnFailure,
    Never,
}

/// One container of a pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub name: CompactString,
    #[serde(default)]
    pub image: CompactString,
    /// Replaces the image's entrypoint.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub command: Vec<String>,
    /// Replaces the image's cmd.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub args: Vec<String>,
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env: Vec<EnvVar>,
    /// Every key of ConfigMaps or Secrets as variables.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub env_from: Vec<crate::env::EnvFromSource>,
    /// The pod's volumes this container mounts.
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub volume_mounts: Vec<crate::volume::VolumeMount>,
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub ports: Vec<ContainerPort>,
    #[serde(default, skip_serializing_if = "ResourceRequirements::is_empty")]
    pub resources: ResourceRequirements,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_dir: Option<String>,
    /// `IfNotPresent` (the default, whatever the tag), `Always` (pull before every start) or
    /// `Never` (only an image already on the node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<String>,
    /// Failing it (past its `failureThreshold`) kills the container, which is then restarted
    /// under the pod's restart policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liveness_probe: Option<Box<Probe>>,
    /// While it fails the container is not ready, nor is the pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness_probe: Option<Box<Probe>>,
    /// Until it succeeds the other probes wait; failing it kills the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup_probe: Option<Box<Probe>>,
    /// Hooks run after the container starts and before it is stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle: Option<Box<crate::lifecycle::Lifecycle>>,
}

pub use crate::env::EnvVar;

/// A port the container listens on, optionally published on the node.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerPort {
    pub container_port: i32,
    /// Port published on the node; Bosun: `0` publishes on any free port (see
    /// `status.containerStatuses[].publishedPorts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i32>,
    /// `TCP` (default) or `UDP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<String>,
}

impl ContainerPort {
    /// `tcp` or `udp`, as Docker spells it.
    pub fn protocol_lower(&self) -> String {
        self.protocol
            .as_deref()
            .unwrap_or("TCP")
            .to_ascii_lowercase()
    }
}

/// CPU and memory requests (for scheduling) and limits (enforced by the runtime).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRequirements {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub requests: BTreeMap<String, Quantity>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub limits: BTreeMap<String, Quantity>,
}

impl ResourceRequirements {
    pub fn is_empty(&self) -> bool {
        self.requests.is_empty() && self.limits.is_empty()
    }
}

/// Lifecycle phase of a pod.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
pub enum PodPhase {
    #[default]
    Pending,
    Running,
    Succeeded,
    Failed,
    Unknown,
}

impl PodPhase {
    /// Succeeded or Failed: the pod will not run again.
    pub fn is_terminal(self) -> bool {
        matches!(self, PodPhase::Succeeded | PodPhase::Failed)
    }
}

/// What the agent (and the scheduler) observed of a pod.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodStatus {
    #[serde(default)]
    pub phase: PodPhase,
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CompactString>,
    #[serde(default, rename = "hostIP", skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<CompactString>,
    /// Address of the pod on its node's container network.
    #[serde(default, rename = "podIP", skip_serializing_if = "Option::is_none")]
    pub pod_ip: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<CompactString>,
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub container_statuses: Vec<ContainerStatus>,
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub init_container_statuses: Vec<ContainerStatus>,
}

/// Observed state of one container.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerStatus {
    pub name: CompactString,
    #[serde(default)]
    pub image: CompactString,
    /// `docker://<id>`.
    #[serde(
        default,
        rename = "containerID",
        skip_serializing_if = "Option::is_none"
    )]
    pub container_id: Option<CompactString>,
    /// Running and passing its readiness probe (a container without one is ready while it
    /// runs).
    #[serde(default)]
    pub ready: bool,
    /// Running and past its startup probe (a container without one has started once it runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<bool>,
    #[serde(default)]
    pub restart_count: i32,
    #[serde(default)]
    pub state: ContainerState,
    // Boxed, as the rare states below: a `ContainerStatus` held inline was 456 bytes (a
    // 512-byte allocation per container of every stored pod version), 152 this way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_state: Option<Box<ContainerState>>,
    /// Bosun: ports published on the node, with the host port actually bound (a `hostPort: 0`
    /// in the spec asks for any free port).
    #[serde(
        default,
        deserialize_with = "crate::exact_vec::deserialize",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub published_ports: Vec<ContainerPort>,
}

/// Exactly one of the three states is set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContainerState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting: Option<Box<StateWaiting>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub running: Option<StateRunning>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminated: Option<Box<StateTerminated>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateWaiting {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<CompactString>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateRunning {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<CompactString>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StateTerminated {
    pub exit_code: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<CompactString>,
}

impl Pod {
    /// The ConfigMaps, Secrets and PersistentVolumeClaims (kind, name; in the pod's namespace)
    /// it uses: through `env[].valueFrom`, `envFrom` and volumes. What its node must be sent.
    pub fn config_refs(&self) -> std::collections::BTreeSet<(crate::Kind, String)> {
        use crate::Kind;
        let mut refs = std::collections::BTreeSet::new();
        for c in self.spec.all_containers() {
            for e in c.env.iter().filter_map(|e| e.value_from.as_deref()) {
                if let Some(r) = &e.config_map_key_ref {
                    refs.insert((Kind::ConfigMap, r.name.clone()));
                }
                if let Some(r) = &e.secret_key_ref {
                    refs.insert((Kind::Secret, r.name.clone()));
                }
            }
            for f in &c.env_from {
                if let Some(r) = &f.config_map_ref {
                    refs.insert((Kind::ConfigMap, r.name.clone()));
                }
                if let Some(r) = &f.secret_ref {
                    refs.insert((Kind::Secret, r.name.clone()));
                }
            }
        }
        for v in &self.spec.volumes {
            if let Some(c) = &v.config_map {
                refs.insert((Kind::ConfigMap, c.name.clone()));
            }
            if let Some(s) = &v.secret {
                refs.insert((Kind::Secret, s.secret_name.clone()));
            }
            if let Some(c) = &v.persistent_volume_claim {
                refs.insert((Kind::PersistentVolumeClaim, c.claim_name.clone()));
            }
        }
        for s in &self.spec.image_pull_secrets {
            refs.insert((Kind::Secret, s.name.clone()));
        }
        refs
    }

    /// The phase, Pending when no status was reported yet.
    pub fn phase(&self) -> PodPhase {
        self.status.as_ref().map(|s| s.phase).unwrap_or_default()
    }

    /// Deleted, and waiting for its agent to stop it (`deletionTimestamp` set).
    pub fn is_terminating(&self) -> bool {
        self.metadata.deletion_timestamp.is_some()
    }

    /// `namespace/name`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.metadata.namespace, self.metadata.name)
    }

    pub fn restart_policy(&self) -> RestartPolicy {
        self.spec.restart_policy.unwrap_or_default()
    }

    /// Sum of container restarts; while the pod initializes, of its init containers' (as
    /// kubectl counts them).
    pub fn restarts(&self) -> i32 {
        let Some(s) = self.status.as_ref() else {
            return 0;
        };
        let initialized =
            find_condition(&s.conditions, INITIALIZED).is_none_or(|c| c.status == "True");
        let counted = if initialized {
            &s.container_statuses
        } else {
            &s.init_container_statuses
        };
        counted.iter().map(|c| c.restart_count).sum()
    }

    /// Containers ready / total, as `get pods` shows it.
    pub fn ready_count(&self) -> (usize, usize) {
        let ready = self
            .status
            .as_ref()
            .map(|s| s.container_statuses.iter().filter(|c| c.ready).count())
            .unwrap_or(0);
        (ready, self.spec.containers.len())
    }

    /// Running with its `Ready` condition `True` (the agent sets it when every container is
    /// ready, readiness probes included), as Kubernetes' `IsPodReady` decides.
    pub fn is_ready(&self) -> bool {
        self.phase() == PodPhase::Running
            && self
                .status
                .as_ref()
                .and_then(|s| find_condition(&s.conditions, POD_READY))
                .is_some_and(|c| c.status == "True")
    }

    /// CPU the pod requests in millicores: the sum over its containers, or more if an init
    /// container asks more (init containers run alone), as Kubernetes computes it. Limits
    /// stand in for missing requests.
    pub fn cpu_request_millis(&self) -> i64 {
        self.effective_request(|r| resource(r, "cpu").map_or(0, |q| q.millis().unwrap_or(0)))
    }

    /// Memory the pod requests in bytes, computed as [`Pod::cpu_request_millis`].
    pub fn memory_request_bytes(&self) -> i64 {
        self.effective_request(|r| resource(r, "memory").map_or(0, |q| q.value().unwrap_or(0)))
    }

    fn effective_request(&self, of: impl Fn(&ResourceRequirements) -> i64) -> i64 {
        let sum: i64 = self.spec.containers.iter().map(|c| of(&c.resources)).sum();
        let init = self.spec.init_containers.iter().map(|c| of(&c.resources));
        init.fold(sum, i64::max)
    }

    /// Every host port the pod publishes, as (protocol, port).
    pub fn host_ports(&self) -> Vec<(String, i32)> {
        self.spec
            .all_containers()
            .flat_map(|c| c.ports.iter())
            .filter_map(|p| {
                p.host_port
                    .filter(|h| *h != 0)
                    .map(|h| (p.protocol_lower(), h))
            })
            .collect()
    }
}

/// A resource's request, or its limit when no request is given (as Kubernetes defaults it).
fn resource<'a>(r: &'a ResourceRequirements, name: &str) -> Option<&'a Quantity> {
    r.requests.get(name).or_else(|| r.limits.get(name))
}
