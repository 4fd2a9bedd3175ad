//! [`JournalExecutions`]: the embedded node's journal as an [`ExecutionSource`]
//! (`linkflow serve`). Queries go to the shards' journals over their channels
//! ([`JournalLink`], blocking with a bounded wait), so they run on tokio's blocking pool.

use std::sync::Arc;

use async_trait::async_trait;
use linkflow_dataplane::journal::index::{Cursor, Filter};
use linkflow_dataplane::journal::query::{record_json, ListQuery};
use linkflow_dataplane::journal::record::Status;
use linkflow_dataplane::journal::JournalLink;
use serde_json::Value;

use super::executions::{ExecutionPage, ExecutionQuery, ExecutionSource, SourceError};

/// Executions of the node in this process, read from its journal.
pub struct JournalExecutions {
    link: JournalLink,
}

impl JournalExecutions {
    /// Reads the journal behind `link`.
    pub fn shared(link: JournalLink) -> Arc<dyn ExecutionSource> {
        Arc::new(JournalExecutions { link })
    }
}

#[async_trait]
impl ExecutionSource for JournalExecutions {
    async fn list(&self, query: &ExecutionQuery) -> Result<ExecutionPage, SourceError> {
        let status = match query.status.as_deref() {
            None => None,
            Some(text) => match Status::parse(text) {
                Some(status) => Some(status),
                // The journal records finished executions only: none is `running` etc.
                None => return Ok(ExecutionPage::default()),
            },
        };
        let cursor = match &query.cursor {
            None => None,
            Some(text) => Some(
                Cursor::parse(text)
                    .ok_or_else(|| SourceError::BadQuery("cursor is not valid".into()))?,
            ),
        };
        let list = ListQuery {
            filter: Filter {
                workflow_id: query.workflow_id.clone(),
                status,
            },
            limit: query.limit.max(1) as usize,
            cursor,
        };
        let link = self.link.clone();
        let page = tokio::task::spawn_blocking(move || link.list(&list).to_json())
            .await
            .map_err(|e| SourceError::Unavailable(e.to_string()))?;
        Ok(ExecutionPage {
            data: page["data"].as_array().cloned().unwrap_or_default(),
            next_cursor: page["nextCursor"].as_str().map(str::to_owned),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Value>, SourceError> {
        let link = self.link.clone();
        let id = id.to_owned();
        tokio::task::spawn_blocking(move || link.get(&id).map(|r| record_json(&r)))
            .await
            .map_err(|e| SourceError::Unavailable(e.to_string()))
    }
}
