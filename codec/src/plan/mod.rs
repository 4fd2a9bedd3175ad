//! Execution plans: the rkyv types ([`types`]) and the compiler that produces them.

pub mod compiler;
mod params;
pub mod persistence;
pub mod schedule;
pub mod typed;
// rkyv's derive generates public resolver enums (`TriggerResolver`, `PValueResolver`)
// whose variant fields cannot carry docs; every hand-written item in `types` is documented.
#[allow(missing_docs)]
pub mod types;

pub use types::*;
