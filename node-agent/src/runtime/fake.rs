//! [`FakeRuntime`]: an in-memory [`Runtime`] for unit tests and for simulating many nodes in one
//! process. It keeps Docker's observable rules (unique names, images that must be present or
//! pullable, host ports held by running containers) and adds controls to make containers exit
//! and to script the commands run in them ([`FakeExec`], for probes).
use std::collections::{BTreeMap, BTreeSet};
use std::future::ready;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use futures::stream::{self, StreamExt};
use tokio::sync::watch;

pub use behaviour::Behaviour;
pub use exec::FakeExec;

use super::{
    with_default_tag, AttachedExec, ContainerSpec, ContainerUsage, ExecOutput, ExecSpec,
    LogOptions, LogStream, ObservedContainer, RunState, Runtime, RuntimeError, RuntimeInfo,
};

/// Exit code a container reports after [`Runtime::stop`]: terminated by SIGTERM.
pub const STOPPED_EXIT_CODE: i64 = 143;
/// Host address a published port binds to when the spec names none.
const ANY_HOST_IP: &str = "0.0.0.0";

/// An in-memory container engine. Clones share one engine.
#[derive(Debug, Clone)]
pub struct FakeRuntime {
    /// The engine's state, shared by all clones.
    state: Arc<Mutex<State>>,
    /// Bumped on every change, so followed logs notice their container stopping.
    changes: Arc<watch::Sender<u64>>,
}

/// One container of a [`FakeRuntime`], as created and as observed now.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeContainer {
    /// The spec it was created from.
    pub spec: ContainerSpec,
    /// What [`Runtime::list`] reports for it.
    pub observed: ObservedContainer,
    /// How long it runs before it ends on its own, and its exit code then
    /// ([`Behaviour::run_of`]).
    runs: Option<(Duration, i64)>,
}

#[derive(Debug)]
struct State {
    /// What [`Runtime::info`] reports.
    info: RuntimeInfo,
    behaviour: Behaviour,
    /// Images present locally, with their tag made explicit.
    images: BTreeSet<String>,
    /// Images a registry would serve, with their tag made explicit.
    pullable: BTreeSet<String>,
    /// Containers by id.
    containers: BTreeMap<String, FakeContainer>,
    /// The number of the next container id.
    next_id: u64,
    /// What execs do, by command (words joined by spaces); unscripted ones exit 0.
    execs: BTreeMap<String, FakeExec>,
    /// Execs run so far, by command.
    exec_counts: BTreeMap<String, u64>,
    /// Exit codes of attached execs, by exec id.
    attached_exits: BTreeMap<String, i64>,
    /// Named volumes: labels and a directory standing for them.
    volumes: BTreeMap<String, (BTreeMap<String, String>, std::path::PathBuf)>,
}

impl State {
    /// The id of the container named or identified by `id`.
    fn resolve(&self, id: &str) -> Result<String, RuntimeError> {
        if self.containers.contains_key(id) {
            return Ok(id.to_string());
        }
        self.containers
            .values()
            .find(|c| c.observed.name == id)
            .map(|c| c.observed.id.clone())
            .ok_or_else(|| RuntimeError::ContainerNotFound(id.to_string()))
    }

    fn container_mut(&mut self, id: &str) -> Result<&mut FakeContainer, RuntimeError> {
        let id = self.resolve(id)?;
        self.containers
            .get_mut(&id)
            .ok_or(RuntimeError::ContainerNotFound(id))
    }

    /// The engine's refusal if another live container holds a host port `candidate` publishes.
    fn port_conflict(&self, candidate: &FakeContainer) -> Option<String> {
        let holders = self
            .containers
            .values()
            .filter(|c| c.observed.id != candidate.observed.id && holds_ports(c.observed.state));
        for holder in holders {
            for want in candidate
                .spec
                .ports
                .iter()
                .filter(|p| p.host_port.is_some())
            {
                let want_ip = want.host_ip.as_deref().unwrap_or(ANY_HOST_IP);
                let clash = holder.spec.ports.iter().any(|held| {
                    let held_ip = held.host_ip.as_deref().unwrap_or(ANY_HOST_IP);
                    held.host_port == want.host_port
                        && protocol(&held.protocol) == protocol(&want.protocol)
                        && (held_ip == want_ip || held_ip == ANY_HOST_IP || want_ip == ANY_HOST_IP)
                });
                if clash {
                    let port = want.host_port.unwrap_or_default();
                    return Some(format!(
                        "driver failed programming external connectivity on endpoint {} ({}): \
                         Bind for {want_ip}:{port} failed: port is already allocated",
                        candidate.observed.name, candidate.observed.id
                    ));
                }
            }
        }
        None
    }
}

impl State {
    /// The engine's refusal to start a container that joins a sandbox which is not running.
    fn join_refusal(&self, namespaces: &super::Namespaces) -> Option<String> {
        let super::Namespaces::Join(sandbox) = namespaces else {
            return None;
        };
        let running = self
            .resolve(sandbox)
            .ok()
            .and_then(|id| self.containers.get(&id))
            .is_some_and(|c| c.observed.state == RunState::Running);
        (!running).then(|| format!("cannot join network of a non running container: {sandbox}"))
    }
}

/// Whether a container in `state` holds its published host ports.
fn holds_ports(state: RunState) -> bool {
    matches!(
        state,
        RunState::Running | RunState::Paused | RunState::Restarting
    )
}

/// A port's protocol as Docker keys it (`tcp` when unset).
fn protocol(p: &str) -> String {
    if p.is_empty() {
        "tcp".to_string()
    } else {
        p.to_ascii_lowercase()
    }
}

impl FakeRuntime {
    /// An empty engine on a machine with `cpu_millis` of CPU and `memory_bytes` of memory.
    pub fn new(cpu_millis: i64, memory_bytes: i64) -> FakeRuntime {
        let info = RuntimeInfo {
            cpu_millis,
            memory_bytes,
            version: "fake://0.1.0".to_string(),
            os: "linux".to_string(),
            arch: std::env::consts::ARCH.to_string(),
        };
        FakeRuntime {
            state: Arc::new(Mutex::new(State {
                info,
                behaviour: Behaviour::default(),
                images: BTreeSet::new(),
                pullable: BTreeSet::new(),
                containers: BTreeMap::new(),
                next_id: 1,
                execs: BTreeMap::new(),
                exec_counts: BTreeMap::new(),
                attached_exits: BTreeMap::new(),
                volumes: BTreeMap::new(),
            })),
            changes: Arc::new(watch::channel(0).0),
        }
    }

    /// An engine whose containers behave as `behaviour` says.
    pub fn with_behaviour(self, behaviour: Behaviour) -> FakeRuntime {
        self.lock().behaviour = behaviour;
        self
    }

    /// Makes `image` present locally, as if pulled or imported.
    pub fn add_image(&self, image: &str) {
        self.lock().images.insert(with_default_tag(image));
    }

    /// Makes `image` available to [`Runtime::pull`], as if a registry had it.
    pub fn add_pullable_image(&self, image: &str) {
        self.lock().pullable.insert(with_default_tag(image));
    }

    /// Simulates the container's process ending (a crash, a kill, a finished job): the container
    /// is `Exited` with `code`, finished now.
    pub fn exit(&self, id: &str, code: i64) -> Result<(), RuntimeError> {
        self.mutate(|state| {
            let observed = &mut state.container_mut(id)?.observed;
            observed.state = RunState::Exited;
            observed.exit_code = Some(code);
            observed.finished_at = Some(SystemTime::now());
            Ok(())
        })
    }

    /// Every container, ordered by id.
    pub fn containers(&self) -> Vec<FakeContainer> {
        self.lock().containers.values().cloned().collect()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // No code holding the lock panics halfway through a change (no unwrap, no indexing),
        // so the state behind a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `change` on the state and wakes followers of logs.
    fn mutate<T>(
        &self,
        change: impl FnOnce(&mut State) -> Result<T, RuntimeError>,
    ) -> Result<T, RuntimeError> {
        let result = change(&mut self.lock());
        self.changes.send_modify(|generation| *generation += 1);
        result
    }

    /// Resolves once the container is not running (or gone).
    async fn until_stopped(&self, id: String) {
        let mut changes = self.changes.subscribe();
        loop {
            let running = self
                .lock()
                .containers
                .get(&id)
                .is_some_and(|c| holds_ports(c.observed.state));
            // The sender lives as long as `self`, so `changed` fails only if it is gone.
            if !running || changes.changed().await.is_err() {
                return;
            }
        }
    }
}

impl Runtime for FakeRuntime {
    async fn info(&self) -> Result<RuntimeInfo, RuntimeError> {
        Ok(self.lock().info.clone())
    }

    async fn list(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<ObservedContainer>, RuntimeError> {
        let mut state = self.lock();
        state.settle(SystemTime::now());
        let matches = |c: &&FakeContainer| {
            labels
                .iter()
                .all(|(k, v)| c.observed.labels.get(k) == Some(v))
        };
        Ok(state
            .containers
            .values()
            .filter(matches)
            .map(|c| c.observed.clone())
            .collect())
    }

    async fn image_present(&self, image: &str) -> Result<bool, RuntimeError> {
        let state = self.lock();
        Ok(state.behaviour.any_image || state.images.contains(&with_default_tag(image)))
    }

    async fn pull(
        &self,
        image: &str,
        _auth: Option<&bosun_shared::registry_auth::RegistryAuth>,
    ) -> Result<(), RuntimeError> {
        let reference = with_default_tag(image);
        let mut state = self.lock();
        if !state.images.contains(&reference) && !state.pullable.contains(&reference) {
            return Err(RuntimeError::ImageNotFound {
                image: image.to_string(),
                message: format!(
                    "pull access denied for {image}, repository does not exist or may require \
                     'docker login'"
                ),
            });
        }
        state.images.insert(reference);
        Ok(())
    }

    async fn import_image(
        &self,
        reference: &str,
        _rootfs: bytes::Bytes,
    ) -> Result<(), RuntimeError> {
        self.add_image(reference);
        Ok(())
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<String, RuntimeError> {
        self.mutate(|state| {
            if !state.behaviour.any_image && !state.images.contains(&with_default_tag(&spec.image))
            {
                return Err(RuntimeError::ImageNotFound {
                    image: spec.image.clone(),
                    message: format!("No such image: {}", spec.image),
                });
            }
            if let super::Namespaces::Join(sandbox) = &spec.namespaces {
                if state.resolve(sandbox).is_err() {
                    return Err(RuntimeError::ContainerNotFound(sandbox.clone()));
                }
            }
            let id = format!("fake{:012}", state.next_id);
            let name = if spec.name.is_empty() {
                format!("fake_{}", state.next_id)
            } else {
                spec.name.clone()
            };
            if let Some(other) = state.containers.values().find(|c| c.observed.name == name) {
                return Err(RuntimeError::Container {
                    message: format!(
                        "Conflict. The container name \"/{name}\" is already in use by container \
                         \"{}\". You have to remove (or rename) that container to be able to \
                         reuse that name.",
                        other.observed.id
                    ),
                    name,
                });
            }
            state.next_id += 1;
            let observed = ObservedContainer {
                id: id.clone(),
                name,
                image: spec.image.clone(),
                labels: std::sync::Arc::new(spec.labels.clone()),
                state: RunState::Created,
                exit_code: None,
                started_at: None,
                finished_at: None,
                error: None,
                oom_killed: false,
                ip: None,
                published: spec
                    .ports
                    .iter()
                    .filter(|p| p.host_port.is_some())
                    .cloned()
                    .collect(),
            };
            let container = FakeContainer {
                spec: spec.clone(),
                observed,
                runs: state.behaviour.run_of(&spec.labels),
            };
            state.containers.insert(id.clone(), container);
            Ok(id)
        })
    }

    async fn start(&self, id: &str) -> Result<(), RuntimeError> {
        let delay = self.lock().behaviour.start_delay;
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.mutate(|state| {
            let resolved = state.resolve(id)?;
            let conflict = state.containers.get(&resolved).and_then(|c| {
                state
                    .port_conflict(c)
                    .or_else(|| state.join_refusal(&c.spec.namespaces))
            });
            let observed = &mut state.container_mut(&resolved)?.observed;
            if observed.state == RunState::Running {
                return Ok(());
            }
            if let Some(message) = conflict {
                observed.error = Some(message.clone());
                return Err(RuntimeError::Container {
                    name: id.to_string(),
                    message,
                });
            }
            // Like Docker, a restart keeps the previous `finished_at`.
            observed.state = RunState::Running;
            observed.exit_code = None;
            observed.error = None;
            observed.oom_killed = false;
            observed.started_at = Some(SystemTime::now());
            Ok(())
        })
    }

    async fn stop(&self, id: &str, _grace: Duration) -> Result<(), RuntimeError> {
        self.mutate(|state| {
            state.settle(SystemTime::now());
            let observed = &mut state.container_mut(id)?.observed;
            if holds_ports(observed.state) {
                observed.state = RunState::Exited;
                observed.exit_code = Some(STOPPED_EXIT_CODE);
                observed.finished_at = Some(SystemTime::now());
            }
            Ok(())
        })
    }

    async fn remove(&self, id: &str) -> Result<(), RuntimeError> {
        self.mutate(|state| {
            if let Ok(resolved) = state.resolve(id) {
                state.containers.remove(&resolved);
            }
            Ok(())
        })
    }

    async fn exec(
        &self,
        id: &str,
        command: &[String],
        timeout: Duration,
    ) -> Result<ExecOutput, RuntimeError> {
        self.run_exec(id, command, timeout).await
    }

    async fn logs(&self, id: &str, options: &LogOptions) -> Result<LogStream, RuntimeError> {
        let (follow, tail) = (options.follow, options.tail);
        let (id, name) = {
            let state = self.lock();
            let id = state.resolve(id)?;
            let name = state
                .containers
                .get(&id)
                .map(|c| c.observed.name.clone())
                .unwrap_or_default();
            (id, name)
        };
        let lines = match tail {
            Some(0) => Vec::new(),
            _ => vec![Ok(bytes::Bytes::from(format!("{name}: fake log line\n")))],
        };
        let logs = stream::iter(lines);
        if !follow {
            return Ok(logs.boxed());
        }
        // Like Docker, a followed stream ends when the container stops.
        let fake = self.clone();
        let end =
            stream::once(async move { fake.until_stopped(id).await }).filter_map(|()| ready(None));
        Ok(logs.chain(end).boxed())
    }

    async fn exec_attach(&self, id: &str, spec: &ExecSpec) -> Result<AttachedExec, RuntimeError> {
        self.attach_exec(id, spec).await
    }

    async fn exec_resize(
        &self,
        _exec_id: &str,
        _cols: u16,
        _rows: u16,
    ) -> Result<(), RuntimeError> {
        Ok(())
    }

    async fn exec_exit_code(&self, exec_id: &str) -> Result<Option<i64>, RuntimeError> {
        Ok(self.lock().attached_exits.get(exec_id).copied())
    }

    async fn usage(&self, id: &str) -> Result<ContainerUsage, RuntimeError> {
        self.lock().resolve(id)?;
        Ok(ContainerUsage::default())
    }

    async fn ensure_volume(
        &self,
        name: &str,
        labels: &BTreeMap<String, String>,
    ) -> Result<String, RuntimeError> {
        let mut state = self.lock();
        let dir = std::env::temp_dir().join("bosun-fake-volumes").join(name);
        let (_, path) = state
            .volumes
            .entry(name.to_string())
            .or_insert_with(|| (labels.clone(), dir));
        std::fs::create_dir_all(&*path).map_err(|e| RuntimeError::Engine(e.to_string()))?;
        Ok(path.display().to_string())
    }

    async fn remove_volume(&self, name: &str) -> Result<(), RuntimeError> {
        match self.lock().volumes.remove(name) {
            Some((_, path)) => {
                let _ = std::fs::remove_dir_all(path);
                Ok(())
            }
            None => Err(RuntimeError::Engine(format!("no such volume: {name}"))),
        }
    }

    async fn list_volumes(
        &self,
        labels: &BTreeMap<String, String>,
    ) -> Result<Vec<crate::runtime::NamedVolume>, RuntimeError> {
        Ok(self
            .lock()
            .volumes
            .iter()
            .filter(|(_, (l, _))| labels.iter().all(|(k, v)| l.get(k) == Some(v)))
            .map(|(n, (l, _))| (n.clone(), l.clone()))
            .collect())
    }
}

mod behaviour;
mod exec;

#[cfg(test)]
mod tests;
