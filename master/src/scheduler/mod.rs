//! The scheduler's decision logic: pure functions, no I/O, no async.
//!
//! [`schedule`] takes a batch of pending pods, the nodes and the pods already bound, and
//! returns one [`Outcome`] per pod. Inside:
//!
//! - `demand`: what a pod asks of a node and what a node's pods already hold (integers only);
//! - `node`: what a node offers, read once per batch;
//! - `filter`: whether a node can run a pod at all, and the reason when it cannot;
//! - `score`: which feasible node is best (spread replicas of one owner, then least allocated);
//! - `message`: the `0/3 nodes available: ...` summary of an unschedulable pod;
//! - `decide`: the batch loop tying them together.
mod decide;
mod demand;
mod filter;
mod message;
mod node;
mod score;

#[cfg(test)]
mod fixtures;

pub use decide::{schedule, Outcome};
