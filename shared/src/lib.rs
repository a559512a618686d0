//! Bosun's shared vocabulary, used by the master, the agent, the CLI and the tests.
//!
//! - [`meta`]: `metadata`, owner references, conditions.
//! - [`pod`], [`deployment`], [`replicaset`], [`daemonset`], [`job`], [`cronjob`], [`node`]:
//!   the object kinds, with Kubernetes' field names.
//! - [`pvc`]: PersistentVolumeClaims, bound to a local volume on the node of their first pod.
//! - [`lifecycle`]: postStart and preStop hooks.
//! - [`probe`]: container probes (liveness, readiness, startup) and their validation.
//! - [`object`]: [`Object`], any stored object, and [`Kind`].
//! - [`seal`]: envelope encryption of Secrets at rest (the masters' data key).
//! - [`registry_auth`]: private registry credentials from `imagePullSecrets`.
//! - [`schema`]: JSON Schemas of the kinds, from the types themselves (`bosun explain`).
//! - [`quantity`]: `500m`, `128Mi`, parsed exactly into integers.
//! - [`strategy`]: a Deployment's update strategy (rolling update bounds, recreate).
//! - [`selector`]: label selectors, structured and as `-l` strings.
//! - [`namespace`]: Namespaces, and the built-in `default` and `bosun-system`.
//! - [`names`]: DNS-1123 names and label keys.
//! - [`validate`]: object validation with field paths.
//! - [`manifest`]: multi-document YAML/JSON manifests into objects, with warnings for unknown fields.
//! - [`metrics`]: CPU and memory of nodes and pods (`bosun top`).
//! - [`client`]: the typed client of a master's API.
//! - [`client_config`]: the client config file (masters, administrator's credentials).
//! - [`configmap`]: ConfigMaps (text and binary values).
//! - [`env`]: a container's environment: literal, from ConfigMap and Secret keys, from the pod.
//! - [`volume`]: pod volumes (emptyDir, hostPath, configMap, secret, persistentVolumeClaim) and mounts.
//! - [`secret`]: Secrets (base64 `data`, `stringData`), also where Bosun keeps its CA and tokens.
//! - [`taint`]: taints on nodes, tolerations on pods.
//! - [`time`]: RFC 3339 timestamps and kubectl-style ages.
//! - [`pki`]: the cluster CA, certificates with roles, join tokens, TLS settings of clients.
//! - [`fnv`]: a stable hash; which master a node's session prefers.
#![forbid(unsafe_code)]

/// The objects' string type (inline up to 24 bytes), for the crates that build objects.
pub use compact_str::{format_compact, CompactString, ToCompactString};

pub mod base64_map;
pub mod client;
pub mod client_config;
pub mod condition;
pub mod configmap;
pub mod cronjob;
pub mod daemonset;
pub mod deployment;
pub mod env;
pub mod event;
pub mod exact_vec;
pub mod fnv;
pub mod job;
pub mod lifecycle;
pub mod manifest;
pub mod meta;
pub mod metrics;
pub mod names;
pub mod namespace;
pub mod node;
pub mod object;
pub mod pki;
pub mod pod;
pub mod probe;
pub mod pvc;
pub mod quantity;
pub mod registry_auth;
pub mod replicaset;
pub mod schema;
pub mod seal;
pub mod secret;
pub mod selector;
pub mod strategy;
pub mod taint;
pub mod time;
pub mod validate;
pub mod volume;

pub use object::{Kind, Object};
