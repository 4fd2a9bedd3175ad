//! The sans-IO execution engine: runs a plan the way n8n would, handing out effects.

pub mod execution;
pub mod item;
pub mod limits;
pub mod node;
pub mod nodes;
pub mod run_data;
pub mod schedule;
pub mod value;
pub mod webhook;
