//! `linkflow-bench` as a library: the workflow generators every benchmark shares (the
//! criterion benches in `benches/`, the `linkflow-bench` scenarios, the load generator's
//! plan-deploy mode) and the request handlers of the benchmark servers (echo, stall).
//!
//! The harness itself (`src/main.rs`) and the bare reference server
//! (`src/bin/bare_server.rs`) are binaries of this package.

#![warn(missing_docs)]

pub mod servers;
pub mod workflows;
