//! Keyset pagination: an opaque cursor names the last row of the previous page.
//!
//! Lists are ordered by `(sort key, id)`, where the sort key is a creation time in Unix ms
//! (or a version number). The cursor encodes both, so the next page starts strictly after
//! that row even when many rows share a timestamp, and rows inserted meanwhile neither
//! shift nor repeat a page (unlike OFFSET).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Serialize;

/// Longest cursor accepted, in bytes (a cursor is two short fields; more is garbage).
pub const CURSOR_BYTES_MAX: usize = 256;

/// Position after which a page starts; [`Cursor::START`] for the first page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// Sort key of the last row seen (`None`: start from the beginning).
    pub key: Option<i64>,
    /// Id of the last row seen.
    pub id: String,
}

impl Cursor {
    /// The first page.
    pub const START: Cursor = Cursor {
        key: None,
        id: String::new(),
    };

    /// The cursor pointing after a row.
    pub fn after(key: i64, id: &str) -> Cursor {
        Cursor {
            key: Some(key),
            id: id.to_owned(),
        }
    }

    /// Opaque text form for clients.
    pub fn encode(&self) -> String {
        let key = self.key.unwrap_or(i64::MIN);
        URL_SAFE_NO_PAD.encode(format!("{key}\n{}", self.id))
    }

    /// Parses a client's cursor; `None` when it is not one this server produced.
    pub fn decode(text: &str) -> Option<Cursor> {
        if text.len() > CURSOR_BYTES_MAX {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let (key, id) = text.split_once('\n')?;
        Some(Cursor {
            key: Some(key.parse().ok()?),
            id: id.to_owned(),
        })
    }

    /// Sort key to compare against in SQL (the smallest value for the first page).
    pub(crate) fn sql_key(&self) -> i64 {
        self.key.unwrap_or(i64::MIN)
    }
}

/// One page of a list: the shape of every list response (`{"data":[...],"nextCursor":...}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    /// The rows.
    pub data: Vec<T>,
    /// Cursor of the next page; `None` on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `limit + 1` rows: the extra row only proves there is more.
    pub(crate) fn from_rows(mut rows: Vec<T>, limit: u32, key: impl Fn(&T) -> Cursor) -> Page<T> {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|r| key(r).encode())
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }

    /// Maps the rows, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            data: self.data.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips() {
        let c = Cursor::after(1_700_000_000_123, "abc-def");
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
    }

    #[test]
    fn garbage_cursor_is_refused() {
        assert_eq!(Cursor::decode("not base64 !"), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("no-newline")), None);
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode("x\nid")), None);
        assert_eq!(Cursor::decode(&"a".repeat(CURSOR_BYTES_MAX + 1)), None);
    }

    #[test]
    fn page_reports_more_only_when_an_extra_row_exists() {
        let page = Page::from_rows(vec![1, 2, 3], 2, |r| Cursor::after(*r, "x"));
        assert_eq!(page.data, vec![1, 2]);
        assert_eq!(page.next_cursor, Some(Cursor::after(2, "x").encode()));
        let last = Page::from_rows(vec![1, 2], 2, |r| Cursor::after(*r, "x"));
        assert_eq!(last.next_cursor, None);
    }
}
