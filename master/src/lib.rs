//! The Bosun master.
#![forbid(unsafe_code)]

pub mod scheduler;
pub mod store;
