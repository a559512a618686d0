//! `bosun compose`: a Docker Compose file converted into Kubernetes-shaped manifests, the way
//! `docker stack deploy` would run it on a Swarm, plus the list of what could not be converted.
//!
//! The conversion is pure: text in, `serde_json::Value` objects out (`apiVersion`, `kind`,
//! `metadata`, `spec`, with Kubernetes' field names), no file system and no cluster. The
//! environment comes in as a lookup function, relative paths are resolved against a base
//! directory given by the caller, and `metadata.namespace` is left for the CLI to fill.
//!
//! Map of the module:
//! - `mod.rs`: the public API ([`convert`], [`project_name`], [`Conversion`]) and the walk over
//!   the file's top-level keys.
//! - `context.rs`: what a conversion accumulates (unsupported keys, warnings, volumes in use).
//! - `file.rs`: reading the file: YAML into a `serde_json::Value`, variable interpolation.
//! - `value.rs`: typed reads of Compose values (string or list, list or map, ...) with errors
//!   naming the key.
//! - `names.rs`: project name normalization, DNS-1123 names, label values.
//! - `service/`: one service into its objects (the container, its pod, its workload).
//!   - `mod.rs`: the walk over the service's keys, and the container, pod and workload built.
//!   - `container.rs`: the container's name, `command` and `entrypoint`, `environment` and
//!     `pull_policy`.
//!   - `unsupported.rs`: why each service key that is not converted is not.
//!   - `fixtures.rs`: helpers for its tests.
//! - `workload.rs`: `restart`, `deploy.mode` and `deploy.restart_policy` into a Deployment,
//!   DaemonSet, Job or bare Pods.
//! - `deploy.rs`: the `deploy` section.
//! - `placement.rs`: `deploy.placement.constraints` into a `nodeSelector`.
//! - `resources.rs`: CPU and memory in Docker's notations into Kubernetes quantities.
//! - `ports.rs`: `ports`, short and long syntax.
//! - `volumes/`: top-level `volumes`, a service's `volumes` and `tmpfs` into pod volumes,
//!   mounts and PersistentVolumeClaims.
//!   - `mod.rs`: a service's `volumes` and `tmpfs`, the entry points.
//!   - `top_level.rs`: the top-level `volumes`, and the PersistentVolumeClaims of those in use.
//!   - `mounts.rs`: one volume entry, short or long syntax, into a mount; host paths and
//!     targets made absolute and clean.
//!   - `pod.rs`: mounts into pod volumes and container mounts, one pod volume per source.
//!   - `fixtures.rs`: helpers for its tests.
//! - `healthcheck.rs`: `healthcheck` into liveness and readiness probes.
//! - `duration.rs`: Go durations (`1m30s`) into whole seconds.
//! - `shell.rs`: splitting a command string into words as a POSIX shell does.
//! - `tests.rs`: whole files converted end to end.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde_json::Value;

mod context;
mod deploy;
mod duration;
mod file;
mod healthcheck;
mod names;
mod placement;
mod ports;
mod resources;
mod service;
mod shell;
mod value;
mod volumes;
mod workload;

#[cfg(test)]
mod tests;

use context::Ctx;

/// Label on every object of a project, with the project's name.
pub const PROJECT_LABEL: &str = "bosun.dev/compose-project";
/// Label on the objects (and pods) of one service, with the service's name.
pub const SERVICE_LABEL: &str = "bosun.dev/compose-service";

/// The result of converting a Compose file.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// PersistentVolumeClaims first, then each service's objects, services sorted by name.
    pub objects: Vec<Value>,
    /// Keys of the file that were not converted, and why.
    pub unsupported: Vec<Unsupported>,
    /// Notes on what was converted (unset variables, approximations), one sentence each.
    pub warnings: Vec<String>,
    /// The project name the objects carry.
    pub project: String,
}

/// A key of the Compose file that was not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Where it is, e.g. `services.web.networks`.
    pub path: String,
    /// Why it was not converted.
    pub reason: String,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Why a Compose file could not be converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComposeError {
    /// The key at fault, e.g. `services.web.ports[1]`; empty for the file as a whole.
    pub path: String,
    pub message: String,
}

impl ComposeError {
    pub(crate) fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        ComposeError {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for ComposeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for ComposeError {}

/// Converts the Compose file `text` of project `project` (already chosen: `-p`, or
/// [`project_name`]). Relative bind-mount paths are resolved against `base_dir` (the file's
/// directory); `env` looks variables up for interpolation, bare `environment` entries,
/// `COMPOSE_PROFILES` and `~` (`HOME`).
pub fn convert(
    text: &str,
    project: &str,
    base_dir: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Conversion, ComposeError> {
    check_project(project)?;
    let mut root = file::parse(text)?;
    let mut ctx = Ctx::new(project, base_dir, env);
    for (key, value) in root.iter_mut() {
        if !key.starts_with("x-") && key != "name" {
            file::interpolate_value(value, key, env, &mut ctx.warnings)?;
        }
    }

    let mut services = None;
    for (key, value) in &root {
        match key.as_str() {
            "version" | "name" => {}
            k if k.starts_with("x-") => {}
            "services" => services = Some(value),
            "volumes" => ctx.volumes = volumes::top_level(value, &mut ctx)?,
            "networks" => ctx.unsupported(
                key,
                "Bosun has no networks: every pod is on its node's container network",
            ),
            "secrets" => ctx.unsupported(key, "Bosun does not mount secrets into containers"),
            "configs" => ctx.unsupported(key, "Bosun does not mount configs into containers"),
            "include" => ctx.unsupported(
                key,
                "included Compose files are not read; convert them separately",
            ),
            _ => ctx.unsupported(key, "not a top-level key Bosun knows"),
        }
    }

    let services = match services {
        None | Some(Value::Null) => {
            return Err(ComposeError::new(
                "services",
                "the file defines no services",
            ))
        }
        Some(v) => value::as_map(v, "services")?,
    };
    let profiles = active_profiles(env);
    let mut service_objects = Vec::new();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    let mut object_names: BTreeSet<(String, String)> = BTreeSet::new();
    let mut converted = 0;
    for (name, spec) in services {
        let path = format!("services.{name}");
        if !names::is_service_name(name) {
            return Err(ComposeError::new(
                path,
                "a service name must consist of letters, digits, '.', '_' and '-'",
            ));
        }
        if let Some(wanted) = service_profiles(spec, &path)? {
            if !wanted
                .iter()
                .any(|p| profiles.contains(p) || profiles.contains("*"))
            {
                ctx.warn(format!(
                    "service {name:?} is not started: its profiles ({}) are not enabled \
                     (set COMPOSE_PROFILES)",
                    wanted.join(", ")
                ));
                continue;
            }
        }
        let object_name = names::object_name(project, name);
        if object_name.is_empty() {
            return Err(ComposeError::new(
                path,
                "the service's name gives no valid object name",
            ));
        }
        if let Some(other) = taken.insert(object_name.clone(), name.clone()) {
            return Err(ComposeError::new(
                path,
                format!(
                    "its objects would be named {object_name:?}, as those of service {other:?}"
                ),
            ));
        }
        for object in service::convert(name, spec, &object_name, &mut ctx)? {
            let kind = object["kind"].as_str().unwrap_or_default().to_string();
            let object_name = object["metadata"]["name"].as_str().unwrap_or_default();
            if !object_names.insert((kind.clone(), object_name.to_string())) {
                return Err(ComposeError::new(
                    path,
                    format!("its {kind} {object_name:?} has the name of another service's"),
                ));
            }
            service_objects.push(object);
        }
        converted += 1;
    }
    if converted > 1 {
        ctx.warn(
            "services reach each other by service name under Compose; Bosun has no Services \
             or cluster DNS, so a service's name does not resolve in the other containers",
        );
    }

    let mut objects = volumes::claims(&ctx);
    objects.extend(service_objects);
    Ok(Conversion {
        objects,
        unsupported: ctx.unsupported,
        warnings: ctx.warnings,
        project: project.to_string(),
    })
}

/// The project name Compose would use when `-p` is not given: `COMPOSE_PROJECT_NAME` if set
/// (it must already be a valid name), else the top-level `name:` (interpolated) if set, else
/// `default_dir_name` (the file's directory name), normalized as Compose does: lowercase,
/// only `[a-z0-9_-]` kept, leading `_` and `-` dropped.
pub fn project_name(
    text: &str,
    default_dir_name: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ComposeError> {
    if let Some(name) = env("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
        check_project(&name)?;
        return Ok(name);
    }
    let root = file::parse(text)?;
    if let Some(name) = root.get("name") {
        let mut name = name.clone();
        file::interpolate_value(&mut name, "name", env, &mut Vec::new())?;
        let name = value::scalar_string(&name, "name")?;
        let normalized = names::normalize_project(&name);
        if !normalized.is_empty() {
            return Ok(normalized);
        }
    }
    let normalized = names::normalize_project(default_dir_name);
    if normalized.is_empty() {
        return Err(ComposeError::new(
            "",
            format!(
                "project name must not be empty: {default_dir_name:?} has no letters or \
                 digits; set one with -p or a top-level name:"
            ),
        ));
    }
    Ok(normalized)
}

/// Refuses a project name Compose would refuse.
fn check_project(project: &str) -> Result<(), ComposeError> {
    if project.is_empty() {
        return Err(ComposeError::new("", "project name must not be empty"));
    }
    if names::normalize_project(project) != project {
        return Err(ComposeError::new(
            "",
            format!(
                "invalid project name {project:?}: must consist only of lowercase alphanumeric \
                 characters, hyphens, and underscores as well as start with a letter or number"
            ),
        ));
    }
    Ok(())
}

/// The profiles `COMPOSE_PROFILES` enables.
fn active_profiles(env: &dyn Fn(&str) -> Option<String>) -> BTreeSet<String> {
    env("COMPOSE_PROFILES")
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(String::from)
        .collect()
}

/// A service's `profiles`, if it has any.
fn service_profiles(spec: &Value, path: &str) -> Result<Option<Vec<String>>, ComposeError> {
    match spec.get("profiles") {
        None | Some(Value::Null) => Ok(None),
        Some(v) => {
            let list = value::string_list(v, &format!("{path}.profiles"))?;
            Ok((!list.is_empty()).then_some(list))
        }
    }
}
