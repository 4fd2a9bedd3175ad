//! # linkflow-dataplane
//!
//! Runs compiled plans: the sans-IO execution engine and, around it, per-core shards.
#![warn(missing_docs)]

pub mod engine;

pub mod admission;
pub mod metrics;
pub mod router;

// The shard runtime is built on glommio and io_uring, which exist on Linux only.
#[cfg(target_os = "linux")]
pub mod admin;
#[cfg(target_os = "linux")]
pub mod control;
#[cfg(target_os = "linux")]
pub mod ingress;
#[cfg(target_os = "linux")]
pub mod journal;
#[cfg(target_os = "linux")]
pub mod node;
#[cfg(target_os = "linux")]
pub mod outbound;
#[cfg(target_os = "linux")]
pub mod schedule;
#[cfg(target_os = "linux")]
pub mod shard;
