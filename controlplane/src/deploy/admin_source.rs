//! [`AdminExecutions`]: executions read from data-plane admin ports (`GET /executions`,
//! `GET /executions/{id}`), for `linkflow controlplane --dataplane-admin URL...`.
//!
//! With several nodes, a page is the nodes' lists merged newest first: every node is asked
//! for a page after the same point, and the answers are merged by start time. The order
//! is total: newer start first; at the same millisecond, the lower node index first;
//! within a node, the node's own order (shard, then sequence, descending). So one position
//! in that order is the whole cursor (`<started ms>.<node>.<shard>.<sequence>`), and each
//! node's own cursor follows from it. A node that stopped early (its page is short but
//! has a `nextCursor`: it hit its scan bound) has not looked at what is older than its
//! stopping point; the merged page ends there, so nothing older leaps ahead of what that
//! node has not shown yet. Clocks of different machines are compared as they are: the
//! order is by recorded start time, not by a global clock.
//!
//! Ids are `<node>~<id on the node>` with several nodes, so that `get` knows whom to ask;
//! with one node they are the node's own.

use std::cmp::{Ordering, Reverse};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use linkflow_dataplane::journal::index::Cursor as NodeCursor;
use serde_json::Value;

use super::executions::{unavailable, ExecutionPage, ExecutionQuery, ExecutionSource, SourceError};

/// Longest a remote admin port may take to answer one query.
pub const ADMIN_QUERY_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest admin answer read, in bytes (a page of 200 summaries is far below it; a single
/// execution with its data may be large).
pub const ADMIN_ANSWER_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A position in the merged newest-first order of every node's executions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    started_ms: i64,
    node: usize,
    shard: u16,
    sequence: u64,
}

impl Position {
    /// Ascending rank = list order (newest first).
    fn rank(&self) -> (Reverse<i64>, usize, Reverse<u16>, Reverse<u64>) {
        (
            Reverse(self.started_ms),
            self.node,
            Reverse(self.shard),
            Reverse(self.sequence),
        )
    }

    fn encode(&self) -> String {
        format!(
            "{}.{}.{}.{}",
            self.started_ms, self.node, self.shard, self.sequence
        )
    }

    fn parse(text: &str, nodes: usize) -> Option<Position> {
        let mut parts = text.split('.');
        let position = Position {
            started_ms: parts.next()?.parse().ok()?,
            node: parts.next()?.parse().ok()?,
            shard: parts.next()?.parse().ok()?,
            sequence: parts.next()?.parse().ok()?,
        };
        (parts.next().is_none() && position.node < nodes).then_some(position)
    }

    fn on_node(node: usize, cursor: NodeCursor) -> Position {
        Position {
            started_ms: cursor.started_ms,
            node,
            shard: cursor.shard,
            sequence: cursor.sequence,
        }
    }

    /// Node `node`'s own (exclusive) cursor for "everything after this position".
    fn node_cursor(&self, node: usize) -> NodeCursor {
        match node.cmp(&self.node) {
            // A lower node's executions of this millisecond came before: strictly older.
            Ordering::Less => NodeCursor {
                started_ms: self.started_ms,
                shard: 0,
                sequence: 0,
            },
            Ordering::Equal => NodeCursor {
                started_ms: self.started_ms,
                shard: self.shard,
                sequence: self.sequence,
            },
            // A higher node's executions of this millisecond are still to come.
            Ordering::Greater => NodeCursor {
                started_ms: self.started_ms.saturating_add(1),
                shard: 0,
                sequence: 0,
            },
        }
    }
}

/// Where an execution summary of node `node` stands: its id is `<shard>-<sequence>`, its
/// `startedAt` an ISO-8601 UTC time.
fn position_of(item: &Value, node: usize) -> Option<Position> {
    let (shard, sequence) = item["id"].as_str()?.split_once('-')?;
    let started = chrono::DateTime::parse_from_rfc3339(item["startedAt"].as_str()?).ok()?;
    Some(Position {
        started_ms: started.timestamp_millis(),
        node,
        shard: shard.parse().ok()?,
        sequence: sequence.parse().ok()?,
    })
}

/// One node's answer to a list query.
struct NodePage {
    items: Vec<(Position, Value)>,
    /// Where the node stopped, when it has more (or did not look further).
    next: Option<Position>,
}

/// Executions read from data-plane admin ports.
pub struct AdminExecutions {
    bases: Vec<String>,
    client: reqwest::Client,
}

impl AdminExecutions {
    /// Queries the admin ports at `bases` (e.g. `http://10.0.0.5:9464`).
    pub fn shared(bases: Vec<String>) -> Arc<dyn ExecutionSource> {
        Arc::new(AdminExecutions::new(bases))
    }

    fn new(bases: Vec<String>) -> AdminExecutions {
        let client = reqwest::Client::builder()
            .timeout(ADMIN_QUERY_TIMEOUT)
            .build()
            .unwrap_or_default();
        AdminExecutions { bases, client }
    }

    /// One node's page after `after` (its own cursor).
    async fn node_page(
        &self,
        node: usize,
        query: &ExecutionQuery,
        after: Option<NodeCursor>,
    ) -> Result<NodePage, SourceError> {
        let url = format!("{}/executions", self.bases[node]);
        let mut pairs = vec![("limit", query.limit.max(1).to_string())];
        if let Some(w) = &query.workflow_id {
            pairs.push(("workflowId", w.clone()));
        }
        if let Some(s) = &query.status {
            pairs.push(("status", s.clone()));
        }
        if let Some(cursor) = after {
            pairs.push(("cursor", cursor.encode()));
        }
        let (status, page) = fetch(&self.client, &url, &pairs).await?;
        if status == 400 {
            let message = page["error"]["message"].as_str().unwrap_or("bad query");
            return Err(SourceError::BadQuery(message.into()));
        }
        if status != 200 {
            return Err(unavailable(format!("{url}: status {status}")));
        }
        let malformed = || {
            unavailable(format!(
                "{url}: an execution without a valid id or startedAt"
            ))
        };
        let mut items = Vec::new();
        for item in page["data"].as_array().cloned().unwrap_or_default() {
            items.push((position_of(&item, node).ok_or_else(malformed)?, item));
        }
        let next = match page["nextCursor"].as_str() {
            None => None,
            Some(text) => Some(Position::on_node(
                node,
                NodeCursor::parse(text)
                    .ok_or_else(|| unavailable(format!("{url}: a nextCursor it cannot mean")))?,
            )),
        };
        Ok(NodePage { items, next })
    }
}

async fn fetch(
    client: &reqwest::Client,
    url: &str,
    pairs: &[(&str, String)],
) -> Result<(u16, Value), SourceError> {
    let response = client
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

/// Merges the nodes' pages (newest first), ending at the newest point some node has not
/// looked past, and at `limit` items.
fn merge(pages: Vec<NodePage>, limit: usize, nodes: usize) -> ExecutionPage {
    let cutoff = pages
        .iter()
        .filter_map(|p| p.next)
        .min_by_key(Position::rank);
    let mut items: Vec<(Position, Value)> = pages
        .into_iter()
        .flat_map(|p| p.items)
        .filter(|(at, _)| cutoff.is_none_or(|c| at.rank() <= c.rank()))
        .collect();
    items.sort_by_key(|(at, _)| at.rank());
    items.truncate(limit);
    let next = if items.len() == limit {
        items.last().map(|(at, _)| *at)
    } else {
        cutoff
    };
    let data = items
        .into_iter()
        .map(|(at, mut item)| {
            if nodes > 1 {
                let local = item["id"].as_str().unwrap_or_default().to_owned();
                item["id"] = Value::String(format!("{}~{local}", at.node));
            }
            item
        })
        .collect();
    ExecutionPage {
        data,
        next_cursor: next.map(|p| p.encode()),
    }
}

#[async_trait]
impl ExecutionSource for AdminExecutions {
    async fn list(&self, query: &ExecutionQuery) -> Result<ExecutionPage, SourceError> {
        let after = match &query.cursor {
            None => None,
            Some(text) => Some(
                Position::parse(text, self.bases.len())
                    .ok_or_else(|| SourceError::BadQuery("cursor is not valid".into()))?,
            ),
        };
        // Every node at once: a page costs one round trip, not one per node.
        let pages = (0..self.bases.len())
            .map(|node| self.node_page(node, query, after.map(|p| p.node_cursor(node))));
        let mut answers = Vec::with_capacity(self.bases.len());
        for page in futures_join(pages).await {
            answers.push(page?);
        }
        Ok(merge(
            answers,
            query.limit.max(1) as usize,
            self.bases.len(),
        ))
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
        let (status, mut value) = fetch(&self.client, &url, &[]).await?;
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

/// Runs the futures concurrently on this task; results in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, future) in out.iter_mut().zip(pinned.iter_mut()) {
            if slot.is_none() {
                match future.as_mut().poll(cx) {
                    std::task::Poll::Ready(value) => *slot = Some(value),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

#[cfg(test)]
#[path = "admin_source_tests.rs"]
mod tests;
