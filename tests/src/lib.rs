//! Shared helpers for workspace-level tests.
