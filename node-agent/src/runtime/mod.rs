//! Container runtimes behind one trait: [`docker::DockerRuntime`] (bollard, the real engine)
//! and [`fake::FakeRuntime`] (in memory, for unit tests and simulating many nodes).
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use futures::stream::BoxStream;

pub mod docker;
pub mod fake;

/// Everything needed to create one container.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContainerSpec {
    /// Docker container name (unique on the engine).
    pub name: String,
    pub image: String,
    /// Entrypoint override (empty: the image's).
    pub command: Vec<String>,
    /// Cmd override (empty: the image's).
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub ports: Vec<PortBinding>,
    /// Hard memory limit in bytes.
    pub memory_limit_bytes: Option<i64>,
    /// CPU limit in millicores.
    pub cpu_limit_millis: Option<i64>,
    pub working_dir: Option<String>,
    /// The container's hostname: the pod's name, as Kubernetes sets it.
    pub hostname: Option<String>,
    /// Labels put on the container; the agent finds its containers by them.
    pub labels: BTreeMap<String, String>,
    /// Paths of the node bound into the container (the pod's volumes).
    pub mounts: Vec<Mount>,
    /// Its own namespaces, or its pod sandbox's.
    pub namespaces: Namespaces,
}

/// The network, IPC and UTS namespaces of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Namespaces {
    /// Its own (a pod of one container).
    #[default]
    Own,
    /// Its own, and others may join them: a pod sandbox ([`crate::sandbox`]).
    Sandbox,
    /// Those of the sandbox container with this id: the pod's address, ports and hostname
    /// are the sandbox's, so a container that sets `ports` or `hostname` with this is refused.
    Join(String),
}

/// A named volume of the engine: its name and labels.
pub type NamedVolume = (String, BTreeMap<String, String>);

/// A path of the node bound at `target` in the container.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mount {
    pub source: String,
    pub target: String,
    pub read_only: bool,
}

/// A container port, optionally published on the host.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortBinding {
    pub container_port: u16,
    /// `Some(0)`: any free port the engine picks.
    pub host_port: Option<u16>,
    /// `tcp` or `udp`.
    pub protocol: String,
    pub host_ip: Option<String>,
}

/// Run state of a container as the engine reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunState {
    Created,
    Running,
    Paused,
    Restarting,
    Exited,
    Dead,
}

/// One container as observed on the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedContainer {
    pub id: String,
    pub name: String,
    pub image: String,
    /// Shared: a listing copies a pointer, not every label (a pass lists every container).
    pub labels: std::sync::Arc<BTreeMap<String, String>>,
    pub state: RunState,
    /// Set once the container has exited.
    pub exit_code: Option<i64>,
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    /// The engine's error for the last start, if any.
    pub error: Option<String>,
    /// Killed by the kernel's OOM killer.
    pub oom_killed: bool,
    /// Address on the engine's network (reachable from the node).
    pub ip: Option<String>,
    /// Ports published on the host, with the host port the engine actually bound.
    pub published: Vec<PortBinding>,
}

/// What the machine and the engine offer.
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeInfo {
    /// CPUs in millicores.
    pub cpu_millis: i64,
    pub memory_bytes: i64,
    /// `docker://20.10.24`.
    pub version: String,
    pub os: String,
    pub arch: String,
}

/// How a command run in a container ([`Runtime::exec`]) ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub exit_code: i64,
    /// The start of its output, stdout and stderr interleaved (at most [`EXEC_OUTPUT_LIMIT`]
    /// bytes, lossily decoded).
    pub output: String,
}

/// Bytes of a command's output [`Runtime::exec`] keeps (Kubernetes keeps 10 KiB of a probe's).
pub const EXEC_OUTPUT_LIMIT: usize = 10 * 1024;

/// Errors of a runtime, naming what they concern.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RuntimeError {
    #[error("image {image:?} not found: {message}")]
    ImageNotFound { image: String, message: String },
    #[error("container {0:?} not found")]
    ContainerNotFound(String),
    #[error("container {name:?}: {message}")]
    Container { name: String, message: String },
    #[error("container engine: {0}")]
    Engine(String),
    /// What the container needs is not there (a ConfigMap, a Secret, a volume): the
    /// kubelet's CreateContainerConfigError, worded as it words it.
    #[error("{0}")]
    Config(String),
    /// A command run in the container did not finish in time (it may still be running).
    #[error("container {name:?}: command {command:?} timed out after {}s", after.as_secs_f64())]
    ExecTimeout {
        name: String,
        command: Vec<String>,
        after: Duration,
    },
}

/// A byte stream of container output (stdout and stderr interleaved).
pub type LogStream = BoxStream<'static, Result<bytes::Bytes, RuntimeError>>;

/// Which part of a container's output [`Runtime::logs`] streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep the stream open until the container stops.
    pub follow: bool,
    /// Only the last this many lines.
    pub tail: Option<u64>,
    /// Only lines written at or after this Unix time (seconds).
    pub since: Option<i64>,
    /// Prefix each line with its RFC 3339 timestamp.
    pub timestamps: bool,
}

/// A command to run attached in a container ([`Runtime::exec_attach`]), as `bosun exec` does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecSpec {
    pub command: Vec<String>,
    /// Give the command a terminal (its stdout and stderr are then one stream).
    pub tty: bool,
    /// Pass input to the command.
    pub stdin: bool,
    /// The terminal's size: columns, rows.
    pub size: Option<(u16, u16)>,
}

/// A piece of an attached command's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecChunk {
    /// From its standard error (never with a terminal).
    pub stderr: bool,
    pub data: bytes::Bytes,
}

/// A command running attached in a container.
pub struct AttachedExec {
    /// The engine's id of the exec instance (for [`Runtime::exec_resize`] and
    /// [`Runtime::exec_exit_code`]).
    pub id: String,
    /// Its output; ends when the command exits.
    pub output: BoxStream<'static, Result<ExecChunk, RuntimeError>>,
    /// Its standard input; shutting it down closes the command's input.
    pub input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
}

/// CPU and memory a container uses now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContainerUsage {
    /// CPU over the last second or so, in thousandths of a core.
    pub cpu_millicores: u64,
    /// Memory in use less the page cache the kernel can reclaim (the working set).
    pub memory_bytes: u64,
}

/// A container engine. All methods are level-triggered building blocks for the reconciler.
pub trait Runtime: Send + Sync + 'static {
    /// CPU, memory and version of the engine's machine.
    fn info(&self) -> impl Future<Output = Result<RuntimeInfo, RuntimeError>> + Send;
    /// Every container (running or not) that carries all of `labels`.
    fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Vec<ObservedContainer>, RuntimeError>> + Send;
    /// Whether the image is present locally.
    fn image_present(&self, image: &str)
        -> impl Future<Output = Result<bool, RuntimeError>> + Send;
    /// Pulls the image (with `auth` for a private registry); `ImageNotFound` when no registry
    /// has it.
    fn pull(
        &self,
        image: &str,
        auth: Option<&bosun_shared::registry_auth::RegistryAuth>,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Makes image `reference` from a tar of its root file system (Docker's import).
    fn import_image(
        &self,
        reference: &str,
        rootfs: bytes::Bytes,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Creates (does not start) a container; returns its id.
    fn create(
        &self,
        spec: &ContainerSpec,
    ) -> impl Future<Output = Result<String, RuntimeError>> + Send;
    fn start(&self, id: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// SIGTERM, then SIGKILL after `grace`.
    fn stop(
        &self,
        id: &str,
        grace: Duration,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Removes the container (forcefully, with its anonymous volumes).
    fn remove(&self, id: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Runs `command` in the running container `id` and waits for it to end, at most
    /// `timeout` (then [`RuntimeError::ExecTimeout`]; the command may go on running).
    fn exec(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> impl Future<Output = Result<ExecOutput, RuntimeError>> + Send;
    /// The container's output; with `follow` the stream stays open until the container stops.
    fn logs(
        &self,
        id: &str,
        options: &LogOptions,
    ) -> impl Future<Output = Result<LogStream, RuntimeError>> + Send;
    /// Starts `spec` in the running container `id`, attached: its output and input are the
    /// caller's until it exits.
    fn exec_attach(
        &self,
        id: &str,
        spec: &ExecSpec,
    ) -> impl Future<Output = Result<AttachedExec, RuntimeError>> + Send;
    /// Resizes the terminal of an attached command (`exec_id`: [`AttachedExec::id`]).
    fn exec_resize(
        &self,
        exec_id: &str,
        cols: u16,
        rows: u16,
    ) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// The exit code of an attached command that ended (`None` while it runs).
    fn exec_exit_code(
        &self,
        exec_id: &str,
    ) -> impl Future<Output = Result<Option<i64>, RuntimeError>> + Send;
    /// What the running container `id` uses now (CPU measured over about a second).
    fn usage(&self, id: &str) -> impl Future<Output = Result<ContainerUsage, RuntimeError>> + Send;
    /// Makes the named volume (with `labels`) if it does not exist; its path on the node.
    fn ensure_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<String, RuntimeError>> + Send;
    /// Removes the named volume (refused while a container uses it).
    fn remove_volume(&self, name: &str) -> impl Future<Output = Result<(), RuntimeError>> + Send;
    /// Named volumes carrying all of `labels`.
    fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> impl Future<Output = Result<Vec<NamedVolume>, RuntimeError>> + Send;
}

/// `image` with Docker's implicit `:latest` tag made explicit (`busybox` -> `busybox:latest`);
/// a reference that already names a tag or digest is returned unchanged.
pub(crate) fn with_default_tag(image: &str) -> String {
    if image.contains('@') {
        return image.to_string();
    }
    // The tag follows the last path component (a registry host may carry a `:port`).
    let last = image.rsplit('/').next().unwrap_or(image);
    if last.contains(':') {
        image.to_string()
    } else {
        format!("{image}:latest")
    }
}

#[cfg(test)]
mod tests {
    use super::with_default_tag;

    #[test]
    fn default_tag_is_added_only_when_missing() {
        let cases = [
            ("busybox", "busybox:latest"),
            ("busybox:1.36", "busybox:1.36"),
            ("library/busybox", "library/busybox:latest"),
            ("localhost:5000/busybox", "localhost:5000/busybox:latest"),
            ("localhost:5000/busybox:1", "localhost:5000/busybox:1"),
            ("busybox@sha256:abc", "busybox@sha256:abc"),
        ];
        for (image, want) in cases {
            assert_eq!(with_default_tag(image), want, "{image}");
        }
    }
}
