//! Bosun's wire protocol, generated from `proto/bosun.proto`.
//!
//! - [`v1::api_client`] / [`v1::api_server`]: the client API of a master.
//! - [`v1::dispatcher_client`] / [`v1::dispatcher_server`]: the agent session.
//! - [`v1::raft_client`] / [`v1::raft_server`]: Raft messages between masters.
//! - [`v1::cluster_client`] / [`v1::cluster_server`]: membership of the masters.
//! - [`codec`]: the protobuf codec they all use (prost's, with a small encode buffer).
//!
//! The generated file is committed so that building Bosun needs no `protoc`;
//! `cargo run --manifest-path proto/codegen/Cargo.toml` rewrites it, and CI checks
//! that it matches the `.proto`.
#![forbid(unsafe_code)]

pub mod codec;

/// Version 1 of the protocol.
#[allow(clippy::all, missing_docs)]
pub mod v1 {
    include!("gen/bosun.v1.rs");
}
