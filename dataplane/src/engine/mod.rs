//! The sans-IO execution engine: runs a plan the way n8n would, handing out effects.

pub mod item;
pub mod node;
pub mod nodes;
pub mod value;
