//! Tests of [`AdminExecutions`] against fake admin ports that page as a node's journal
//! does (newest first by `(started ms, shard, sequence)`, exclusive cursors).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::*;

/// One fake execution: (started ms, shard, sequence).
type Exec = (i64, u16, u64);

#[derive(Clone)]
struct FakeNode {
    /// Newest first.
    execs: Arc<Vec<Exec>>,
    /// Answer at most one execution per request, with a `nextCursor` (a scan bound).
    short: bool,
}

fn iso(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

async fn executions(
    State(node): State<FakeNode>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Json<Value> {
    let limit: usize = q["limit"].parse().unwrap();
    let after = q.get("cursor").map(|c| NodeCursor::parse(c).unwrap());
    let rest: Vec<&Exec> = node
        .execs
        .iter()
        .filter(|(ms, shard, seq)| {
            after.is_none_or(|c| {
                let at = NodeCursor {
                    started_ms: *ms,
                    shard: *shard,
                    sequence: *seq,
                };
                at < c
            })
        })
        .collect();
    let take = if node.short { limit.min(1) } else { limit };
    let page: Vec<&Exec> = rest.iter().take(take).copied().collect();
    let more = rest.len() > page.len();
    let next = (page.len() == limit || (node.short && more)).then(|| {
        let (ms, shard, seq) = page.last().copied().copied().unwrap();
        NodeCursor {
            started_ms: ms,
            shard,
            sequence: seq,
        }
        .encode()
    });
    let data: Vec<Value> = page
        .iter()
        .map(|(ms, shard, seq)| json!({"id": format!("{shard}-{seq}"), "startedAt": iso(*ms)}))
        .collect();
    Json(json!({"data": data, "nextCursor": next}))
}

async fn serve_fake(mut execs: Vec<Exec>, short: bool) -> String {
    execs.sort_by_key(|&(ms, shard, seq)| Reverse((ms, shard, seq)));
    let node = FakeNode {
        execs: Arc::new(execs),
        short,
    };
    let router = Router::new()
        .route("/executions", get(executions))
        .with_state(node);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

/// Every page of `source` with `limit`, concatenated: (node, started ms, id on the node).
async fn walk(source: &AdminExecutions, limit: u32) -> Vec<(usize, i64, String)> {
    let mut out = Vec::new();
    let mut cursor = None;
    for _ in 0..1_000 {
        let page = source
            .list(&ExecutionQuery {
                limit,
                cursor: cursor.clone(),
                ..ExecutionQuery::default()
            })
            .await
            .unwrap();
        assert!(page.data.len() <= limit as usize);
        for item in &page.data {
            let (node, local) = item["id"].as_str().unwrap().split_once('~').unwrap();
            let ms = chrono::DateTime::parse_from_rfc3339(item["startedAt"].as_str().unwrap())
                .unwrap()
                .timestamp_millis();
            out.push((node.parse().unwrap(), ms, local.to_owned()));
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
    panic!("paging did not end");
}

#[tokio::test]
async fn several_nodes_merge_newest_first_with_a_working_cursor() {
    // Interleaved times, equal milliseconds across nodes and within a node (two shards).
    let a = vec![
        (100, 0, 1),
        (300, 0, 2),
        (300, 1, 1),
        (500, 0, 3),
        (700, 1, 2),
    ];
    let b = vec![(200, 0, 1), (300, 0, 2), (600, 0, 3), (700, 0, 4)];
    let c = vec![(50, 0, 1), (300, 1, 7), (800, 0, 2)];
    let bases = vec![
        serve_fake(a.clone(), false).await,
        serve_fake(b.clone(), false).await,
        serve_fake(c.clone(), true).await,
    ];
    let source = AdminExecutions::new(bases);
    let mut expected: Vec<(i64, usize, u16, u64)> = Vec::new();
    for (node, execs) in [&a, &b, &c].into_iter().enumerate() {
        expected.extend(execs.iter().map(|&(ms, shard, seq)| (ms, node, shard, seq)));
    }
    expected
        .sort_by_key(|&(ms, node, shard, seq)| (Reverse(ms), node, Reverse(shard), Reverse(seq)));
    let expected: Vec<(usize, i64, String)> = expected
        .into_iter()
        .map(|(ms, node, shard, seq)| (node, ms, format!("{shard}-{seq}")))
        .collect();
    for limit in [1, 2, 3, 5, 50] {
        let listed = walk(&source, limit).await;
        assert_eq!(listed, expected, "limit {limit}");
        let unique: BTreeSet<_> = listed.iter().collect();
        assert_eq!(unique.len(), listed.len(), "each execution once");
    }
}

#[tokio::test]
async fn one_node_keeps_its_own_ids_and_foreign_cursors_are_refused() {
    let base = serve_fake(vec![(10, 0, 1), (20, 0, 2), (30, 0, 3)], false).await;
    let source = AdminExecutions::new(vec![base]);
    let first = source
        .list(&ExecutionQuery {
            limit: 2,
            ..ExecutionQuery::default()
        })
        .await
        .unwrap();
    let ids: Vec<&str> = first
        .data
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["0-3", "0-2"]);
    let rest = source
        .list(&ExecutionQuery {
            limit: 2,
            cursor: first.next_cursor,
            ..ExecutionQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(rest.data.len(), 1);
    assert_eq!(rest.data[0]["id"], "0-1");
    assert_eq!(rest.next_cursor, None);
    for bad in ["7", "1.x", "10.1.0.0", "10.0.0.0.0"] {
        let query = ExecutionQuery {
            limit: 2,
            cursor: Some(bad.into()),
            ..ExecutionQuery::default()
        };
        assert!(
            matches!(source.list(&query).await, Err(SourceError::BadQuery(_))),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn unknown_remote_ids_are_not_found_without_asking() {
    // Port 9 (discard) is never asked: the ids are refused before any request.
    let bases = vec!["http://127.0.0.1:9".into(), "http://127.0.0.1:9".into()];
    let source = AdminExecutions::shared(bases);
    for id in ["nope", "5~0-1", "0~../../x", "0~a/b", "1~"] {
        assert_eq!(source.get(id).await, Ok(None), "{id}");
    }
}
