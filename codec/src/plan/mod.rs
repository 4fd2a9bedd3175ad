//! Execution plans: the rkyv types ([`types`]) and the compiler that produces them.

pub mod types;

pub use types::*;
