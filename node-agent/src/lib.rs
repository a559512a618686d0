//! The Bosun node agent.
//!
//! - [`agent`]: [`agent::Agent`]: registers the node, keeps the session, runs the reconciler.
//! - [`session`]: the stream to the master: Hello, assignments, heartbeats, statuses.
//! - [`requests`]: what the master asks during a session: logs, exec, CPU and memory.
//! - [`desired`]: assigned pods, persisted so they survive restarts and master outages.
//! - [`assigned_config`]: the ConfigMaps and Secrets the node's pods use (memory only).
//! - [`env`]: a container's environment, resolved from literals, ConfigMaps, Secrets, the pod.
//! - [`volumes`]: pod volumes on the node (emptyDir, hostPath, configMap, secret).
//! - [`renew`]: the node certificate renewed at two thirds of its life.
//! - [`reconciler`]: compares assigned pods with the engine's containers, one step at a time.
//! - [`step`]: `next_step(desired, observed)`, the pure decision for one container.
//! - [`pod_plan`]: the steps of a pod's sandbox, init containers and containers, in order.
//! - [`sandbox`]: the pod sandbox (a `pause` container) whose namespaces a pod's containers
//!   share.
//! - [`probe`]: liveness, readiness and startup probes of running containers.
//! - [`status`]: pod status from observed containers and probe findings.
//! - [`board`]: latest pod statuses, versioned for the session.
//! - [`hooks`]: postStart and preStop hooks.
//! - [`events`]: what happened to the pods (pulls, starts, crashes, probe kills), for the master.
//! - [`join`]: the node's certificate: kept in the data directory, or got with a join token.
//! - [`labels`]: labels and names of the containers the agent owns.
//! - [`runtime`]: the container engine trait, Docker (bollard) and an in-memory fake.
#![forbid(unsafe_code)]

pub mod agent;
pub mod assigned_config;
pub mod board;
pub mod desired;
pub mod env;
pub mod events;
pub mod hooks;
pub mod join;
pub mod labels;
pub mod pod_plan;
pub mod probe;
pub mod reconciler;
pub mod renew;
pub mod requests;
pub mod runtime;
pub mod sandbox;
pub mod session;
pub mod status;
pub mod step;
pub mod volumes;
