//! Masters talking to masters.
//!
//! - [`transport`]: Raft messages out, one bounded queue and task per peer.
//! - [`service`]: the `Raft` gRPC service, messages in.
//! - [`faults`]: partitions, loss and delay injected into the transport (for fault tests).
//! - [`clients`]: cached connections to other masters, to forward requests to the leader.
//! - [`writer`]: the sessions' writes, proposed here when leading, else sent to the leader.
pub mod clients;
pub mod faults;
pub mod service;
pub mod transport;
pub mod writer;

pub use faults::Faults;
pub use transport::GrpcTransport;
pub use writer::Writer;
