//! # linkflow-codec
//!
//! The codec turns n8n workflow exports into sealed execution plans. It is pure: no I/O,
//! no runtime, no clock. Everything it does is a function of its input bytes, so the same
//! workflow always yields the same plan bytes and plan id.
#![warn(missing_docs)]

pub mod expr;
pub mod plan;
