//! Harness for Bosun's end-to-end tests and benchmark programs (DESIGN.md section 8).
//!
//! Real processes, the real Docker engine, no fixed ports, conditions awaited with deadlines,
//! and every container a test causes removed by label when its guard drops, even on panic.
//!
//! Map:
//! - [`image`]: the test image `bosun-test/busybox:latest`, built from the static busybox binary
//!   with `docker import` (no registry is reachable).
//! - [`wait`]: [`wait_for`] / [`wait_for_blocking`], polling a condition until a deadline;
//!   [`give_up`] to stop early.
//! - [`process`]: [`BosunProcess`], one spawned `bosun` process with its output in a log file;
//!   [`tail_log`].
//! - [`cluster`]: [`TestCluster`], a one-machine cluster (`bosun up`, or separate `bosun master`
//!   and `bosun agent`) with a client config, client helpers and cleanup on drop.
//! - [`agent`]: [`agent::ExtraAgent`], another agent process: a second node on this machine.
//! - [`masters`]: [`Masters`], three `bosun master` processes on free ports (the first
//!   bootstraps, the others join it), their `cluster status`, the leader, kill / restart / pause
//!   of one, and the one-leader-per-term check of their logs.
//! - [`docker`]: helpers over the `docker` CLI: list, kill and remove containers by label.
//! - [`pty`]: [`pty::PtyProcess`], a process on a pseudo-terminal (`bosun exec -it`).
//! - [`etcd`]: [`etcd::EtcdCluster`], three etcd processes: the store benchmark's peer.
//! - [`net`]: [`free_port`] and a dependency-free [`http_get`].
//! - [`bench`]: what the benchmark programs share: the padded pod, the nearest-rank quantile,
//!   the revision line of their reports, their runtime.
//! - [`linearizability`]: [`linearizability::check`] of register histories recorded by fault tests.
//!
//! The end-to-end tests that use it live in `cli/tests/` (they need `CARGO_BIN_EXE_bosun`); the
//! benchmark programs in `src/bin/`.

pub mod agent;
pub mod bench;
pub mod cluster;
pub mod docker;
pub mod etcd;
pub mod image;
pub mod linearizability;
pub mod masters;
pub mod net;
pub mod process;
pub mod pty;
pub mod wait;

pub use cluster::{CmdOutput, TestCluster};
pub use docker::ContainerInfo;
pub use image::{busybox_image, BUSYBOX_IMAGE, INDEX_HTML};
pub use masters::Masters;
pub use net::{free_port, http_get};
pub use process::{tail_log, BosunProcess};
pub use wait::{give_up, wait_for, wait_for_blocking};
