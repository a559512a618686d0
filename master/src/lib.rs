//! The Bosun master.
//!
//! - [`store`]: the Raft-replicated object store (raft-rs + sled), with watches.
//! - [`api`]: the gRPC client API (apply, get, list, watch, logs, ...).
//! - [`dispatcher`]: the agents' sessions: assignments in, statuses and logs out.
//! - [`events`]: recording Events (deduplicated, bounded) for the components above.
//! - [`scheduler`]: pure placement decisions (filters, scores, reasons).
//! - [`controllers`]: leader-only loops: scheduling, Deployments, garbage collection, node lifecycle.
//! - [`pki`]: the cluster CA, certificates and join tokens, the TLS listener, who may call what.
//! - [`server`]: [`server::Master`], which wires them together on one listener.
//! - [`starvation`]: keeping the async runtime responsive: a probe that logs when its workers
//!   were all held, and a way to run long computations without holding one.
#![forbid(unsafe_code)]

pub mod api;
pub mod cluster;
pub mod controllers;
pub mod dispatcher;
pub mod events;
pub mod peers;
pub mod pki;
pub mod scheduler;
pub mod server;
pub mod starvation;
pub mod store;
