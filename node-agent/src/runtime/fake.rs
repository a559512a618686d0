//! (fake runtime: being written)
