//! The sans-IO execution engine: runs a plan the way n8n would, handing out effects.

pub mod credentials;
pub mod datetime;
pub mod execution;
pub mod expr;
pub mod fast_nodes;
#[cfg(test)]
mod fast_nodes_tests;
pub mod item;
pub mod js;
pub mod limits;
pub mod node;
pub mod nodes;
pub mod run_data;
pub mod runner;
pub mod schedule;
pub mod scope;
pub mod services;
pub mod value;
pub mod webhook;

#[cfg(test)]
mod execution_tests;
#[cfg(test)]
mod execution_v0_tests;
#[cfg(test)]
mod golden_probe;
#[cfg(test)]
pub(crate) mod test_support;
