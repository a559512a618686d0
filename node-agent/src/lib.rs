//! The Bosun node agent.
#![forbid(unsafe_code)]

pub mod runtime;
