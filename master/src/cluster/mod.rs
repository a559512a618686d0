//! Membership of the masters: the `Cluster` gRPC service (join, remove, status) and the
//! leader-only promotion of caught-up learners.
pub mod promote;
mod service;

pub use service::ClusterService;
