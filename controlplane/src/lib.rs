//! # linkflow-controlplane
//!
//! The control plane and the `linkflow` command line.
#![warn(missing_docs)]
