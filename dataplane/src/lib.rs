//! # linkflow-dataplane
//!
//! Runs compiled plans: the sans-IO execution engine and, around it, per-core shards.
#![warn(missing_docs)]

pub mod engine;
