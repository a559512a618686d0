//! (docker runtime: being written)
