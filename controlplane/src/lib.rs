//! # linkflow-controlplane
//!
//! The control plane and the `linkflow` command line.
#![warn(missing_docs)]

pub mod api;
pub mod auth;
pub mod certs;
pub mod cli;
pub mod config;
pub mod credentials;
pub mod deploy;
pub mod quic;
pub mod ratelimit;
pub mod server;
pub mod storage;
