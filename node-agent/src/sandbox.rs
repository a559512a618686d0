//! The pod sandbox: a container of the static `pause` binary that holds a pod's network and
//! IPC namespaces, which the pod's containers join. Only pods of more than one container
//! (init containers included) get one; a pod of one container is that container alone.
//!
//! The binary is built by the agent's build script and embedded; the agent imports it into
//! the engine as [`IMAGE`], an image of that one file, so no registry is needed.
use std::collections::BTreeMap;

use bosun_shared::pod::Pod;

use crate::labels;
use crate::runtime::{ContainerSpec, Namespaces, PortBinding, Runtime, RuntimeError};

/// The sandbox's `bosun.container` label. Upper case, so no container of a pod can have this
/// name (container names are DNS labels).
pub const CONTAINER: &str = "POD";

/// The sandbox image, one per agent version.
pub const IMAGE: &str = concat!("bosun/pause:", env!("CARGO_PKG_VERSION"));

/// The static `pause` binary; empty when the build could not make it.
static PAUSE: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/pause"));

/// Where the binary lies in the image.
const PAUSE_PATH: &str = "pause";

/// Why a pod of several containers cannot run when the binary was not built.
const NOT_BUILT: &str = "this agent was built without its pod sandbox (the static C library was \
                         missing at build time: install libc6-dev, or glibc-static, and rebuild), \
                         so it cannot run pods of several containers";

/// Makes sure the engine has [`IMAGE`], importing it on first use.
pub async fn ensure_image<R: Runtime>(runtime: &R) -> Result<(), RuntimeError> {
    if runtime.image_present(IMAGE).await? {
        return Ok(());
    }
    if PAUSE.is_empty() {
        return Err(RuntimeError::Config(NOT_BUILT.to_string()));
    }
    runtime
        .import_image(
            IMAGE,
            bytes::Bytes::from(single_file_tar(PAUSE_PATH, PAUSE)),
        )
        .await
}

/// The sandbox container of `pod`: it publishes the ports of every container of the pod and
/// carries the pod's hostname.
pub fn spec(node: &str, pod: &Pod, attempt: u32) -> ContainerSpec {
    let mut ports: Vec<PortBinding> = Vec::new();
    for p in pod.spec.all_containers().flat_map(|c| &c.ports) {
        let port = crate::reconciler::port_binding(p);
        if !ports.contains(&port) {
            ports.push(port);
        }
    }
    let mut labels: BTreeMap<String, String> =
        labels::container_labels(node, pod, CONTAINER, attempt);
    // Nothing runs in it to stop gracefully: SIGTERM ends it at once.
    labels.insert(labels::GRACE.into(), "1".into());
    ContainerSpec {
        name: labels::container_name(pod, CONTAINER, attempt),
        image: IMAGE.to_string(),
        command: vec![format!("/{PAUSE_PATH}")],
        ports,
        hostname: Some(crate::reconciler::hostname(&pod.metadata.name)),
        labels,
        namespaces: Namespaces::Sandbox,
        ..Default::default()
    }
}

/// Makes `spec` a container of the sandbox `id`: in its namespaces, so with its address,
/// ports and hostname.
pub fn join(spec: &mut ContainerSpec, id: &str) {
    spec.namespaces = Namespaces::Join(id.to_string());
    spec.ports.clear();
    spec.hostname = None;
    spec.labels.insert(labels::SANDBOX.into(), id.to_string());
}

/// A tar archive (ustar) of one executable file at `path`, owned by root.
fn single_file_tar(path: &str, content: &[u8]) -> Vec<u8> {
    const BLOCK: usize = 512;
    let mut header = [0u8; BLOCK];
    let mut put = |at: usize, field: &[u8]| header[at..at + field.len()].copy_from_slice(field);
    put(0, path.as_bytes());
    put(100, b"0000755\0"); // mode
    put(108, b"0000000\0"); // uid
    put(116, b"0000000\0"); // gid
    put(124, format!("{:011o}\0", content.len()).as_bytes()); // size
    put(136, b"00000000000\0"); // mtime
    put(148, b"        "); // checksum, counted as spaces
    put(156, b"0"); // a regular file
    put(257, b"ustar\0"); // magic
    put(263, b"00"); // version
    put(265, b"root"); // owner
    put(297, b"root"); // group
    let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let padded = content.len().div_ceil(BLOCK) * BLOCK;
    let mut tar = Vec::with_capacity(BLOCK + padded + 2 * BLOCK);
    tar.extend_from_slice(&header);
    tar.extend_from_slice(content);
    tar.resize(BLOCK + padded + 2 * BLOCK, 0); // padding, then two empty blocks: the end
    tar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tar_is_what_tar_reads() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar");
        std::fs::write(&archive, single_file_tar("pause", b"#!/bin/true\n")).unwrap();
        let out = std::process::Command::new("tar")
            .arg("-tvf")
            .arg(&archive)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let listing = String::from_utf8_lossy(&out.stdout);
        assert!(listing.starts_with("-rwxr-xr-x root/root"), "{listing}");
        assert!(
            listing.contains(" 12 ") && listing.trim_end().ends_with("pause"),
            "{listing}"
        );
    }

    #[test]
    fn the_sandbox_publishes_every_containers_ports_once() {
        let mut pod = Pod::default();
        pod.metadata.name = "web-".into();
        pod.metadata.uid = "abc".into();
        let port = |p: i32| bosun_shared::pod::ContainerPort {
            container_port: p,
            host_port: Some(p + 1000),
            ..Default::default()
        };
        for (name, ports) in [("a", vec![port(80)]), ("b", vec![port(81), port(80)])] {
            pod.spec.containers.push(bosun_shared::pod::Container {
                name: name.into(),
                ports,
                ..Default::default()
            });
        }
        let spec = spec("n1", &pod, 2);
        let published: Vec<_> = spec.ports.iter().map(|p| p.container_port).collect();
        assert_eq!(published, [80, 81]);
        assert_eq!(spec.hostname.as_deref(), Some("web"));
        assert_eq!(spec.namespaces, Namespaces::Sandbox);
        assert_eq!(spec.labels[labels::CONTAINER], CONTAINER);
        assert_eq!(spec.labels[labels::ATTEMPT], "2");
    }
}
