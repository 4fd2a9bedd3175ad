//! Where `GET /api/v1/executions` reads from: the data planes' journals, behind one seam.
//!
//! Execution records live where executions run (each data-plane shard journals its own),
//! so the control plane does not copy them; it asks. [`ExecutionSource`] is that question:
//! - [`StoreExecutions`]: summaries data planes reported into the control plane's database
//!   (the table every backend has; used when no journal is reachable).
//! - [`super::admin_source::AdminExecutions`]: remote nodes' admin ports
//!   (`GET /executions` and `GET /executions/{id}`), for `linkflow controlplane`.
//!
//! Items are JSON objects in the source's shape (`id`, `workflowId`, `status`, `mode`,
//! `startedAt`, ...); pages are `{"data":[...],"nextCursor":...}`. Cursors are opaque and
//! each source checks its own: a cursor it did not issue is a [`SourceError::BadQuery`].

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use crate::storage::{Cursor, ExecutionFilter, Store, StoreError};

/// A validated list request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecutionQuery {
    /// Only this workflow.
    pub workflow_id: Option<String>,
    /// Only this status.
    pub status: Option<String>,
    /// Page size (the API bounds it to 1..=200).
    pub limit: u32,
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
}

/// A page of executions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionPage {
    /// Execution summaries.
    pub data: Vec<Value>,
    /// Cursor of the next page (`None`: last page).
    pub next_cursor: Option<String>,
}

/// Why a source could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SourceError {
    /// The caller's query is wrong (a cursor this source did not issue...): 400.
    #[error("{0}")]
    BadQuery(String),
    /// The source is unreachable or failed: 503.
    #[error("{0}")]
    Unavailable(String),
}

/// Answers execution queries.
#[async_trait]
pub trait ExecutionSource: Send + Sync {
    /// One page of executions matching `query`.
    async fn list(&self, query: &ExecutionQuery) -> Result<ExecutionPage, SourceError>;
    /// One execution, with its data when the workflow keeps it; `None` when unknown.
    async fn get(&self, id: &str) -> Result<Option<Value>, SourceError>;
}

pub(crate) fn unavailable(e: impl std::fmt::Display) -> SourceError {
    SourceError::Unavailable(e.to_string())
}

/// Executions reported into the control plane's database.
pub struct StoreExecutions {
    store: Arc<dyn Store>,
}

impl StoreExecutions {
    /// Reads `store`'s execution table.
    pub fn shared(store: Arc<dyn Store>) -> Arc<dyn ExecutionSource> {
        Arc::new(StoreExecutions { store })
    }
}

#[async_trait]
impl ExecutionSource for StoreExecutions {
    async fn list(&self, query: &ExecutionQuery) -> Result<ExecutionPage, SourceError> {
        let cursor = match &query.cursor {
            None => Cursor::START,
            Some(text) => Cursor::decode(text)
                .ok_or_else(|| SourceError::BadQuery("cursor is not valid".into()))?,
        };
        let filter = ExecutionFilter {
            workflow_id: query.workflow_id.clone(),
            status: query.status.clone(),
        };
        let page = self
            .store
            .list_executions(&filter, &cursor, query.limit)
            .await
            .map_err(unavailable)?;
        let page = serde_json::to_value(page).map_err(unavailable)?;
        Ok(ExecutionPage {
            data: page["data"].as_array().cloned().unwrap_or_default(),
            next_cursor: page["nextCursor"].as_str().map(str::to_owned),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Value>, SourceError> {
        match self.store.execution(id).await {
            Ok(e) => Ok(Some(serde_json::to_value(e).map_err(unavailable)?)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }
}
