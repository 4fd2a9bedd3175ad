//! Where `GET /api/v1/executions` reads from: the data planes' journals, behind one seam.
//!
//! Execution records live where executions run (each data-plane shard journals its own),
//! so the control plane does not copy them; it asks. [`ExecutionSource`] is that question:
//! - [`StoreExecutions`]: summaries data planes reported into the control plane's database
//!   (the table every backend has; used when no journal is reachable).
//! - [`AdminExecutions`]: remote nodes' admin ports (`GET /executions` and
//!   `GET /executions/{id}`), for `linkflow controlplane`.
//!
//! Items are JSON objects in the source's shape (`id`, `workflowId`, `status`, `mode`,
//! `startedAt`, ...); pages are `{"data":[...],"nextCursor":...}`. Cursors are opaque and
//! each source checks its own: a cursor it did not issue is a [`SourceError::BadQuery`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;

use crate::storage::{Cursor, ExecutionFilter, Store, StoreError};

/// Longest a remote admin port may take to answer one query.
pub const ADMIN_QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest admin answer read, in bytes (a page of 200 summaries is far below it; a single
/// execution with its data may be large).
pub const ADMIN_ANSWER_BYTES_MAX: usize = 64 * 1024 * 1024;

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

fn unavailable(e: impl std::fmt::Display) -> SourceError {
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

/// Builds a URL query string from a list request.
fn query_string(query: &ExecutionQuery, cursor: Option<&str>) -> Vec<(&'static str, String)> {
    let mut pairs = vec![("limit", query.limit.to_string())];
    if let Some(w) = &query.workflow_id {
        pairs.push(("workflowId", w.clone()));
    }
    if let Some(s) = &query.status {
        pairs.push(("status", s.clone()));
    }
    if let Some(c) = cursor {
        pairs.push(("cursor", c.to_owned()));
    }
    pairs
}

/// Executions read from data-plane admin ports (`GET /executions`).
///
/// With several nodes, pages walk the nodes one after the other (node 0's executions,
/// newest first, then node 1's...): the cursor is `<node>.<node's cursor>`, so every
/// execution is listed exactly once without merging clocks of different machines. With
/// several nodes, ids are `<node>~<id on the node>` so that `get` knows whom to ask; with
/// one node they are the node's own.
pub struct AdminExecutions {
    bases: Vec<String>,
    client: reqwest::Client,
}

impl AdminExecutions {
    /// Queries the admin ports at `bases` (e.g. `http://10.0.0.5:9464`).
    pub fn shared(bases: Vec<String>) -> Arc<dyn ExecutionSource> {
        let client = reqwest::Client::builder()
            .timeout(ADMIN_QUERY_TIMEOUT)
            .build()
            .unwrap_or_default();
        Arc::new(AdminExecutions { bases, client })
    }

    async fn fetch(
        &self,
        url: &str,
        pairs: &[(&str, String)],
    ) -> Result<(u16, Value), SourceError> {
        let response = self
            .client
            .get(url)
            .query(pairs)
            .send()
            .await
            .map_err(|e| unavailable(format!("{url}: {e}")))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| unavailable(format!("{url}: {e}")))?;
        if bytes.len() > ADMIN_ANSWER_BYTES_MAX {
            return Err(unavailable(format!("{url}: answer too large")));
        }
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

fn split_node_cursor(text: &str) -> Option<(usize, Option<&str>)> {
    let (node, rest) = text.split_once('.').unwrap_or((text, ""));
    Some((node.parse().ok()?, (!rest.is_empty()).then_some(rest)))
}

#[async_trait]
impl ExecutionSource for AdminExecutions {
    async fn list(&self, query: &ExecutionQuery) -> Result<ExecutionPage, SourceError> {
        let (mut node, mut cursor) = match &query.cursor {
            None => (0, None),
            Some(text) => split_node_cursor(text)
                .filter(|(n, _)| *n < self.bases.len())
                .map(|(n, c)| (n, c.map(str::to_owned)))
                .ok_or_else(|| SourceError::BadQuery("cursor is not valid".into()))?,
        };
        let limit = query.limit.max(1) as usize;
        let mut data = Vec::with_capacity(limit);
        while node < self.bases.len() && data.len() < limit {
            let mut want = query.clone();
            want.limit = u32::try_from(limit - data.len()).unwrap_or(u32::MAX);
            let url = format!("{}/executions", self.bases[node]);
            let (status, page) = self
                .fetch(&url, &query_string(&want, cursor.as_deref()))
                .await?;
            if status == 400 {
                return Err(SourceError::BadQuery(
                    page["error"]["message"]
                        .as_str()
                        .unwrap_or("bad query")
                        .into(),
                ));
            }
            if status != 200 {
                return Err(unavailable(format!("{url}: status {status}")));
            }
            for mut item in page["data"].as_array().cloned().unwrap_or_default() {
                if let Some(id) = item["id"].as_str().filter(|_| self.bases.len() > 1) {
                    item["id"] = Value::String(format!("{node}~{id}"));
                }
                data.push(item);
            }
            match page["nextCursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => {
                    node += 1;
                    cursor = None;
                }
            }
        }
        let next_cursor = (node < self.bases.len()).then(|| match &cursor {
            Some(c) => format!("{node}.{c}"),
            None => node.to_string(),
        });
        Ok(ExecutionPage { data, next_cursor })
    }

    async fn get(&self, id: &str) -> Result<Option<Value>, SourceError> {
        let located = if self.bases.len() == 1 {
            Some((0, id))
        } else {
            id.split_once('~')
                .and_then(|(n, l)| Some((n.parse::<usize>().ok()?, l)))
                .filter(|(n, _)| *n < self.bases.len())
        };
        let Some((node, local)) = located.filter(|(_, l)| !l.is_empty()) else {
            return Ok(None);
        };
        let mut path = String::with_capacity(local.len());
        for c in local.chars() {
            // Ids are `<shard>-<sequence>`; anything else cannot exist on the node.
            if !(c.is_ascii_alphanumeric() || c == '-') {
                return Ok(None);
            }
            path.push(c);
        }
        let url = format!("{}/executions/{path}", self.bases[node]);
        let (status, mut value) = self.fetch(&url, &[]).await?;
        match status {
            200 => {
                value["id"] = Value::String(id.to_owned());
                Ok(Some(value))
            }
            404 => Ok(None),
            _ => Err(unavailable(format!("{url}: status {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_cursors_round_trip_and_reject_garbage() {
        assert_eq!(split_node_cursor("2.abc.d"), Some((2, Some("abc.d"))));
        assert_eq!(split_node_cursor("1"), Some((1, None)));
        assert_eq!(split_node_cursor("x.1"), None);
    }

    #[tokio::test]
    async fn unknown_remote_ids_are_not_found_without_asking() {
        // Port 9 (discard) is never asked: the ids are refused before any request.
        let bases = vec!["http://127.0.0.1:9".into(), "http://127.0.0.1:9".into()];
        let source = AdminExecutions::shared(bases);
        for id in ["nope", "5~0-1", "0~../../x", "0~a/b", "1~"] {
            assert_eq!(source.get(id).await, Ok(None), "{id}");
        }
        let bad = ExecutionQuery {
            limit: 10,
            cursor: Some("7.x".into()),
            ..ExecutionQuery::default()
        };
        assert!(matches!(
            source.list(&bad).await,
            Err(SourceError::BadQuery(_))
        ));
    }
}
