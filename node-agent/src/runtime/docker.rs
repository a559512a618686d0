//! [`DockerRuntime`]: the [`Runtime`] on the local Docker engine, through bollard.
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime};

use bollard::container::LogOutput;
use bollard::errors::Error as BollardError;
use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, ContainerStateStatusEnum, HostConfig, PortMap,
};
use bollard::query_parameters::{
    CreateContainerOptions, CreateImageOptions, InspectContainerOptions, ListContainersOptions,
    LogsOptions, RemoveContainerOptions, StartContainerOptions, StopContainerOptions,
};
use bollard::Docker;
use futures::{StreamExt, TryStreamExt};

use super::{
    with_default_tag, AttachedExec, ContainerSpec, ContainerUsage, ExecOutput, ExecSpec,
    LogOptions, LogStream, Namespaces, ObservedContainer, PortBinding, RunState, Runtime,
    RuntimeError, RuntimeInfo,
};

mod attach;
mod exec;
mod usage;
mod volumes;

/// How Docker writes "never" in its timestamps (Go's zero `time.Time`).
const DOCKER_ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Time a stop request may take beyond the grace period before the client gives up on it.
const STOP_REQUEST_SLACK: Duration = Duration::from_secs(30);
/// Host address a published port binds to when the spec names none.
const DEFAULT_HOST_IP: &str = "0.0.0.0";

/// The local Docker engine (its Unix socket, or `DOCKER_HOST`).
#[derive(Debug, Clone)]
pub struct DockerRuntime {
    /// A client whose API version was negotiated down to the engine's.
    docker: Docker,
}

impl DockerRuntime {
    /// Connects to the local engine and negotiates the API version: the engine may speak an
    /// older API than bollard's default, and every call fails until the client is downgraded.
    pub async fn connect() -> Result<DockerRuntime, RuntimeError> {
        let docker = Docker::connect_with_local_defaults()
            .map_err(|e| RuntimeError::Engine(format!("connecting to the local engine: {e}")))?
            .negotiate_version()
            .await
            .map_err(|e| RuntimeError::Engine(format!("negotiating the API version: {e}")))?;
        Ok(DockerRuntime { docker })
    }

    /// Inspects one container; `None` when it no longer exists.
    async fn inspect(&self, id: &str) -> Result<Option<ObservedContainer>, RuntimeError> {
        match self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await
        {
            Ok(inspect) => Ok(Some(observed(inspect))),
            Err(e) => match map_error(e, Subject::Container(id)) {
                RuntimeError::ContainerNotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }
}

impl Runtime for DockerRuntime {
    async fn info(&self) -> Result<RuntimeInfo, RuntimeError> {
        let info = self
            .docker
            .info()
            .await
            .map_err(|e| map_error(e, Subject::Engine))?;
        Ok(RuntimeInfo {
            cpu_millis: info.ncpu.unwrap_or(0) * 1000,
            memory_bytes: info.mem_total.unwrap_or(0),
            version: format!("docker://{}", info.server_version.unwrap_or_default()),
            os: info.os_type.unwrap_or_default(),
            arch: info.architecture.unwrap_or_default(),
        })
    }

    async fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ObservedContainer>, RuntimeError> {
        let label_filters: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let options = ListContainersOptions {
            all: true,
            filters: (!label_filters.is_empty())
                .then(|| HashMap::from([("label".to_string(), label_filters)])),
            ..Default::default()
        };
        let summaries = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|e| map_error(e, Subject::Engine))?;
        let mut containers = Vec::with_capacity(summaries.len());
        for id in summaries.into_iter().filter_map(|s| s.id) {
            // A container removed between the list and the inspect is simply gone.
            if let Some(container) = self.inspect(&id).await? {
                containers.push(container);
            }
        }
        Ok(containers)
    }

    async fn image_present(&self, image: &str) -> Result<bool, RuntimeError> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) => match map_error(e, Subject::Image(image)) {
                RuntimeError::ImageNotFound { .. } => Ok(false),
                other => Err(other),
            },
        }
    }

    async fn pull(
        &self,
        image: &str,
        auth: Option<&bosun_shared::registry_auth::RegistryAuth>,
    ) -> Result<(), RuntimeError> {
        let options = CreateImageOptions {
            // Without a tag the engine would pull every tag of the repository.
            from_image: Some(with_default_tag(image)),
            ..Default::default()
        };
        let credentials = auth.map(|a| bollard::auth::DockerCredentials {
            username: Some(a.username.clone()),
            password: Some(a.password.clone()),
            serveraddress: Some(a.server.clone()),
            ..Default::default()
        });
        let mut progress = self.docker.create_image(Some(options), None, credentials);
        while let Some(step) = progress.next().await {
            step.map_err(|e| map_error(e, Subject::Pull(image)))?;
        }
        Ok(())
    }

    async fn import_image(
        &self,
        reference: &str,
        rootfs: bytes::Bytes,
    ) -> Result<(), RuntimeError> {
        let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
        let options = CreateImageOptions {
            from_src: Some("-".into()),
            repo: Some(repo.into()),
            tag: Some(tag.into()),
            ..Default::default()
        };
        let body = bollard::body_full(rootfs);
        let mut progress = self.docker.create_image(Some(options), Some(body), None);
        while let Some(step) = progress.next().await {
            step.map_err(|e| map_error(e, Subject::Pull(reference)))?;
        }
        Ok(())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        let options = CreateContainerOptions {
            name: Some(spec.name.clone()),
            ..Default::default()
        };
        let created = self
            .docker
            .create_container(Some(options), create_body(spec))
            .await
            .map_err(|e| {
                let subject = Subject::Create {
                    name: &spec.name,
                    image: &spec.image,
                };
                map_error(e, subject)
            })?;
        for warning in &created.warnings {
            tracing::warn!(container = %spec.name, %warning, "engine warning on create");
        }
        Ok(created.id)
    }

    async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        self.docker
            .start_container(id, None::<StartContainerOptions>)
            .await
            .map_err(|e| map_error(e, Subject::Container(id)))
    }

    async fn stop(&self, id: &str, grace: Duration) -> Result<(), RuntimeError> {
        let options = StopContainerOptions {
            t: Some(whole_seconds(grace)),
            ..Default::default()
        };
        // The engine answers only once the container is down: allow the whole grace period.
        let timeout = grace.saturating_add(STOP_REQUEST_SLACK);
        let docker = self
            .docker
            .clone()
            .with_timeout(timeout.max(self.docker.timeout()));
        // An already stopped container answers 304, which bollard reports as success.
        docker
            .stop_container(id, Some(options))
            .await
            .map_err(|e| map_error(e, Subject::Container(id)))
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        let options = RemoveContainerOptions {
            force: true,
            v: true,
            ..Default::default()
        };
        match self.docker.remove_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            Err(e) => match map_error(e, Subject::Container(id)) {
                RuntimeError::ContainerNotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    async fn exec(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, RuntimeError> {
        exec::exec(&self.docker, id, command, timeout).await
    }

    async fn logs(&self, id: &str, o: &LogOptions) -> Result<LogStream, RuntimeError> {
        // The log stream reports a missing container only on its first item: ask up front.
        if self.inspect(id).await?.is_none() {
            return Err(RuntimeError::ContainerNotFound(id.to_string()));
        }
        let options = LogsOptions {
            follow: o.follow,
            stdout: true,
            stderr: true,
            tail: o.tail.map_or_else(|| "all".to_string(), |n| n.to_string()),
            since: o.since.map_or(0, |t| i32::try_from(t).unwrap_or(i32::MAX)),
            timestamps: o.timestamps,
            ..Default::default()
        };
        let owned_id = id.to_string();
        let stream = self
            .docker
            .logs(id, Some(options))
            .map_ok(LogOutput::into_bytes)
            .map_err(move |e| map_error(e, Subject::Container(&owned_id)));
        Ok(stream.boxed())
    }

    async fn exec_attach(&self, id: &str, spec: &ExecSpec) -> Result<AttachedExec, RuntimeError> {
        attach::attach(&self.docker, id, spec).await
    }

    async fn exec_resize(&self, exec_id: &str, cols: u16, rows: u16) -> Result<(), RuntimeError> {
        attach::resize(&self.docker, exec_id, cols, rows).await
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>, RuntimeError> {
        attach::exit_code(&self.docker, exec_id).await
    }

    async fn usage(&self, id: &str) -> Result<ContainerUsage, RuntimeError> {
        usage::usage(&self.docker, id).await
    }

    async fn ensure_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, RuntimeError> {
        volumes::ensure(&self.docker, name, labels).await
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        volumes::remove(&self.docker, name).await
    }

    async fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<crate::runtime::NamedVolume>, RuntimeError> {
        volumes::list(&self.docker, labels).await
    }
}

/// The body of a create request: command, environment, labels, ports and limits of `spec`.
/// No restart policy: the agent restarts containers itself.
fn create_body(spec: &ContainerSpec) -> ContainerCreateBody {
    let non_empty = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
    let mut port_bindings = PortMap::new();
    for port in &spec.ports {
        let bindings = port_bindings
            .entry(port_key(port))
            .or_insert_with(|| Some(Vec::new()));
        if let (Some(host_port), Some(bindings)) = (port.host_port, bindings) {
            bindings.push(bollard::models::PortBinding {
                host_ip: Some(
                    port.host_ip
                        .as_deref()
                        .unwrap_or(DEFAULT_HOST_IP)
                        .to_string(),
                ),
                // Port 0: the engine picks a free port (empty HostPort).
                host_port: Some(if host_port == 0 {
                    String::new()
                } else {
                    host_port.to_string()
                }),
            });
        }
    }
    port_bindings.retain(|_, bindings| bindings.as_ref().is_some_and(|b| !b.is_empty()));
    let exposed_ports: Vec<String> = spec.ports.iter().map(port_key).collect();
    let (network_mode, ipc_mode) = match &spec.namespaces {
        Namespaces::Own => (None, None),
        Namespaces::Sandbox => (None, Some("shareable".to_string())),
        Namespaces::Join(id) => (
            Some(format!("container:{id}")),
            Some(format!("container:{id}")),
        ),
    };
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        entrypoint: non_empty(&spec.command),
        cmd: non_empty(&spec.args),
        env: Some(spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
        labels: Some(spec.labels.clone().into_iter().collect()),
        working_dir: spec.working_dir.clone(),
        hostname: spec.hostname.clone(),
        exposed_ports: (!exposed_ports.is_empty()).then_some(exposed_ports),
        host_config: Some(HostConfig {
            memory: spec.memory_limit_bytes,
            nano_cpus: spec.cpu_limit_millis.map(|m| m.saturating_mul(1_000_000)),
            port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
            network_mode,
            ipc_mode,
            // `-v` binds: a missing source directory is created, as `hostPath` without a type.
            binds: (!spec.mounts.is_empty()).then(|| {
                spec.mounts
                    .iter()
                    .map(|m| {
                        let ro = if m.read_only { ":ro" } else { "" };
                        format!("{}:{}{ro}", m.source, m.target)
                    })
                    .collect()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Docker's key for a container port: `80/tcp` (protocol `tcp` when unset).
fn port_key(port: &PortBinding) -> String {
    let protocol = if port.protocol.is_empty() {
        "tcp".to_string()
    } else {
        port.protocol.to_ascii_lowercase()
    };
    format!("{}/{protocol}", port.container_port)
}

/// `grace` in whole seconds, rounded up so a short grace period is not turned into none.
fn whole_seconds(grace: Duration) -> i32 {
    let secs = grace
        .as_secs()
        .saturating_add(u64::from(grace.subsec_nanos() > 0));
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// An [`ObservedContainer`] from the engine's inspection of it.
fn observed(inspect: ContainerInspectResponse) -> ObservedContainer {
    let config = inspect.config.unwrap_or_default();
    let state = inspect.state.unwrap_or_default();
    let run_state = match state.status {
        Some(ContainerStateStatusEnum::RUNNING) | Some(ContainerStateStatusEnum::STOPPING) => {
            RunState::Running
        }
        Some(ContainerStateStatusEnum::PAUSED) => RunState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => RunState::Restarting,
        Some(ContainerStateStatusEnum::EXITED) => RunState::Exited,
        Some(ContainerStateStatusEnum::DEAD) | Some(ContainerStateStatusEnum::REMOVING) => {
            RunState::Dead
        }
        Some(ContainerStateStatusEnum::CREATED) | Some(ContainerStateStatusEnum::EMPTY) | None => {
            RunState::Created
        }
    };
    let exited = matches!(run_state, RunState::Exited | RunState::Dead);
    let name = inspect.name.unwrap_or_default();
    let network = inspect.network_settings.unwrap_or_default();
    let ip = network.networks.as_ref().and_then(|n| {
        n.values()
            .find_map(|e| e.ip_address.clone().filter(|ip| !ip.is_empty()))
    });
    let published = published_ports(network.ports.unwrap_or_default());
    ObservedContainer {
        id: inspect.id.unwrap_or_default(),
        name: name.strip_prefix('/').unwrap_or(&name).to_string(),
        // The image as the container was created with it; the top-level field is its digest.
        image: config.image.or(inspect.image).unwrap_or_default(),
        labels: std::sync::Arc::new(config.labels.unwrap_or_default().into_iter().collect()),
        state: run_state,
        exit_code: if exited { state.exit_code } else { None },
        started_at: state.started_at.as_deref().and_then(docker_time),
        finished_at: state.finished_at.as_deref().and_then(docker_time),
        error: state.error.filter(|e| !e.is_empty()),
        oom_killed: state.oom_killed.unwrap_or(false),
        ip,
        published,
    }
}

/// Host ports the engine bound, from `NetworkSettings.Ports` (`"80/tcp" -> [{HostPort}]`).
fn published_ports(ports: PortMap) -> Vec<PortBinding> {
    let mut out = Vec::new();
    for (key, bindings) in ports {
        let (port, protocol) = key.split_once('/').unwrap_or((key.as_str(), "tcp"));
        let Ok(container_port) = port.parse::<u16>() else {
            continue;
        };
        for b in bindings.unwrap_or_default() {
            let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse::<u16>().ok()) else {
                continue;
            };
            // IPv4 and IPv6 bindings of one port are the same port to a user.
            if out.iter().any(|p: &PortBinding| {
                p.container_port == container_port && p.host_port == Some(host_port)
            }) {
                continue;
            }
            out.push(PortBinding {
                container_port,
                host_port: Some(host_port),
                protocol: protocol.to_string(),
                host_ip: b.host_ip.clone().filter(|h| !h.is_empty()),
            });
        }
    }
    out.sort_by_key(|p| (p.container_port, p.host_port));
    out
}

/// Parses a Docker RFC 3339 timestamp; `None` for Docker's "never" and for anything unreadable.
fn docker_time(timestamp: &str) -> Option<SystemTime> {
    if timestamp.is_empty() || timestamp == DOCKER_ZERO_TIME {
        return None;
    }
    match humantime::parse_rfc3339_weak(timestamp) {
        Ok(time) => Some(time),
        Err(e) => {
            tracing::debug!(%timestamp, error = %e, "unreadable engine timestamp");
            None
        }
    }
}

/// What a failed engine call concerned; it decides which [`RuntimeError`] the failure becomes.
#[derive(Debug, Clone, Copy)]
enum Subject<'a> {
    /// The engine itself (info, list).
    Engine,
    /// An existing container, by id or name: 404 means the container is gone.
    Container(&'a str),
    /// Creating a container: 404 means its image is missing.
    Create { name: &'a str, image: &'a str },
    /// A local image: 404 means it is not present.
    Image(&'a str),
    /// Pulling an image: every refusal by the engine means it could not be fetched.
    Pull(&'a str),
}

/// The one mapping from bollard errors to [`RuntimeError`]s, keeping the engine's message.
fn map_error(err: BollardError, subject: Subject<'_>) -> RuntimeError {
    let (status, message) = match err {
        BollardError::DockerResponseServerError {
            status_code,
            message,
        } => (Some(status_code), message),
        BollardError::DockerStreamError { error } => (None, error),
        // Transport, timeout and decoding failures: the engine, not the object, failed.
        other => return RuntimeError::Engine(format!("{}: {other}", subject.describe())),
    };
    let image_not_found = |image: &str| RuntimeError::ImageNotFound {
        image: image.to_string(),
        message: message.clone(),
    };
    match (subject, status) {
        (Subject::Container(id), Some(404)) => RuntimeError::ContainerNotFound(id.to_string()),
        (Subject::Create { image, .. }, Some(404)) => image_not_found(image),
        (Subject::Image(image), Some(404)) | (Subject::Pull(image), _) => image_not_found(image),
        (Subject::Container(name) | Subject::Create { name, .. }, _) => RuntimeError::Container {
            name: name.to_string(),
            message,
        },
        (Subject::Image(_) | Subject::Engine, _) => {
            RuntimeError::Engine(format!("{}: {message}", subject.describe()))
        }
    }
}

impl Subject<'_> {
    /// The object, named for an error message.
    fn describe(&self) -> String {
        match self {
            Subject::Engine => "engine".to_string(),
            Subject::Container(name) | Subject::Create { name, .. } => {
                format!("container {name:?}")
            }
            Subject::Image(image) | Subject::Pull(image) => format!("image {image:?}"),
        }
    }
}

#[cfg(test)]
mod tests;
