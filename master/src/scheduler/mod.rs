//! (scheduler: being written)
