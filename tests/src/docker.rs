//! Helpers over the `docker` CLI: find containers by label, inspect, kill and remove them.
//!
//! A label filter is `key` (any value) or `key=value`, as in `docker ps --filter label=…`.
use std::collections::BTreeMap;
use std::process::Command;

use anyhow::{bail, Context};
use serde_json::Value;

/// One container as `docker inspect` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerInfo {
    /// Full id.
    pub id: String,
    /// Name without the leading `/`.
    pub name: String,
    /// `created`, `running`, `paused`, `restarting`, `removing`, `exited` or `dead`.
    pub state: String,
    /// Exit code of the last run (0 while running).
    pub exit_code: i64,
    /// The image as the container was created with it (`Config.Image`).
    pub image: String,
    pub labels: BTreeMap<String, String>,
}

impl ContainerInfo {
    pub fn is_running(&self) -> bool {
        self.state == "running"
    }

    /// The value of label `key`, if set.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.labels.get(key).map(String::as_str)
    }
}

/// Runs `docker args…` and returns its stdout; fails with its stderr on a non-zero exit.
pub fn docker(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("docker")
        .args(args)
        .output()
        .context("run docker (is the docker CLI installed?)")?;
    if !out.status.success() {
        bail!(
            "`docker {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Ids of all containers (running or not) carrying `label`.
pub fn ids_with_label(label: &str) -> anyhow::Result<Vec<String>> {
    let filter = format!("label={label}");
    let out = docker(&["ps", "-aq", "--no-trunc", "--filter", &filter])?;
    Ok(out.split_whitespace().map(str::to_string).collect())
}

/// All containers (running or not) carrying `label`, sorted by name.
pub fn containers_with_label(label: &str) -> anyhow::Result<Vec<ContainerInfo>> {
    let ids = ids_with_label(label)?;
    let mut infos = inspect_containers(&ids)?;
    infos.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(infos)
}

/// `docker inspect` of one container as raw JSON, for fields [`ContainerInfo`] lacks.
pub fn inspect_json(id: &str) -> anyhow::Result<Value> {
    let out = docker(&["inspect", "--type", "container", id])?;
    let mut all: Vec<Value> = serde_json::from_str(&out).context("parse docker inspect")?;
    if all.len() != 1 {
        bail!("docker inspect {id} returned {} objects", all.len());
    }
    Ok(all.remove(0))
}

/// One container by id or name; `None` if it does not exist.
pub fn inspect_container(id: &str) -> anyhow::Result<Option<ContainerInfo>> {
    Ok(inspect_containers(&[id.to_string()])?.into_iter().next())
}

/// Inspects `ids`, skipping those removed meanwhile.
fn inspect_containers(ids: &[String]) -> anyhow::Result<Vec<ContainerInfo>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let out = Command::new("docker")
        .args(["inspect", "--type", "container"])
        .args(ids)
        .output()
        .context("run docker inspect")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // A container removed between `ps` and `inspect` makes inspect fail for that id only; it
    // still prints the others.
    let only_missing = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .all(|l| l.contains("No such"));
    if !out.status.success() && !only_missing {
        bail!("docker inspect failed ({}): {}", out.status, stderr.trim());
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let values: Vec<Value> = if stdout.trim().is_empty() {
        Vec::new()
    } else {
        serde_json::from_str(&stdout).context("parse docker inspect")?
    };
    values.iter().map(parse_inspect).collect()
}

fn parse_inspect(v: &Value) -> anyhow::Result<ContainerInfo> {
    let str_at = |ptr: &str| v.pointer(ptr).and_then(Value::as_str).unwrap_or_default();
    let id = str_at("/Id").to_string();
    if id.is_empty() {
        bail!("docker inspect object without an Id: {v}");
    }
    let labels = v
        .pointer("/Config/Labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(ContainerInfo {
        id,
        name: str_at("/Name").trim_start_matches('/').to_string(),
        state: str_at("/State/Status").to_string(),
        exit_code: v
            .pointer("/State/ExitCode")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        image: str_at("/Config/Image").to_string(),
        labels,
    })
}

/// `docker kill` (SIGKILL) one container; Docker restarts nothing, so Bosun must notice.
pub fn docker_kill(id: &str) -> anyhow::Result<()> {
    docker(&["kill", id]).map(drop)
}

/// Force-removes every container carrying `label`, then every named volume carrying it (the
/// volumes of PersistentVolumeClaims); returns how many containers there were.
pub fn remove_by_label(label: &str) -> anyhow::Result<usize> {
    let removed = remove_containers_by_label(label)?;
    let volumes = docker(&["volume", "ls", "-q", "--filter", &format!("label={label}")])?;
    for v in volumes.lines().filter(|l| !l.trim().is_empty()) {
        let _ = docker(&["volume", "rm", "-f", v.trim()]);
    }
    Ok(removed)
}

fn remove_containers_by_label(label: &str) -> anyhow::Result<usize> {
    let ids = ids_with_label(label)?;
    if ids.is_empty() {
        return Ok(0);
    }
    let mut args = vec!["rm", "-f", "-v"];
    args.extend(ids.iter().map(String::as_str));
    match docker(&args) {
        Ok(_) => Ok(ids.len()),
        // Removed meanwhile by someone else (or already being removed): that is the goal.
        Err(e) if e.to_string().contains("No such container") => Ok(ids.len()),
        Err(e) if e.to_string().contains("is already in progress") => Ok(ids.len()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_kill_remove_by_label() {
        let image = crate::image::busybox_image().unwrap();
        let case = format!("docker-helpers-{}", std::process::id());
        let label = format!("bosun-test={case}");
        let _ = remove_by_label(&label);
        let id = docker(&[
            "run",
            "-d",
            "--label",
            &label,
            "--label",
            "bosun-test.extra=a=b,c",
            "--name",
            &case,
            &image,
            "sleep",
            "600",
        ])
        .unwrap()
        .trim()
        .to_string();
        let result = std::panic::catch_unwind(|| {
            let found = containers_with_label(&label).unwrap();
            assert_eq!(found.len(), 1);
            let c = &found[0];
            assert_eq!(c.id, id);
            assert_eq!(c.name, case);
            assert!(c.is_running());
            assert_eq!(c.image, image);
            assert_eq!(c.label("bosun-test"), Some(case.as_str()));
            assert_eq!(c.label("bosun-test.extra"), Some("a=b,c"));

            docker_kill(&id).unwrap();
            let c = inspect_container(&id).unwrap().unwrap();
            assert_eq!(c.state, "exited");
            assert_eq!(c.exit_code, 137);
            assert_eq!(
                inspect_json(&id).unwrap()["State"]["ExitCode"],
                serde_json::json!(137)
            );
        });
        assert_eq!(remove_by_label(&label).unwrap(), 1);
        result.unwrap();
        assert!(containers_with_label(&label).unwrap().is_empty());
        assert_eq!(remove_by_label(&label).unwrap(), 0);
        assert!(inspect_container(&id).unwrap().is_none());
    }
}
