//! Cursor pagination shared by every list: a stable order (the requested sort keys, then `id`),
//! opaque cursors that remember the sort they belong to, `limit` 1–100, an optional total count,
//! and the filters lists share (exact matches, `filter[id]`, substring search).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::error::ValidationError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;
/// Most ids one `filter[id]` may name (rule B49).
pub const MAX_FILTER_IDS: usize = 100;
const MAX_CURSOR_LEN: usize = 1024;

/// The value of one sort key at a position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SortValue {
    Int(i64),
    Text(String),
}

/// One sort key: a field name the store knows, ascending or descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: &'static str,
    pub desc: bool,
}

impl SortKey {
    pub const CREATED: SortKey = SortKey {
        field: "created_at",
        desc: false,
    };
}

/// A position in a sorted list. Opaque to clients: base64url of `[signature, [keys…], id]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The sort the cursor was made for, e.g. `-name,created_at`.
    pub sig: String,
    pub keys: Vec<SortValue>,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let json = serde_json::json!([self.sig, self.keys, self.id]);
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    /// Parses a cursor from the query parameter `field`.
    pub fn decode(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let bad =
            || ValidationError::new(field, format!("`{}` is not a valid cursor", truncate(raw)));
        if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let (sig, keys, id): (String, Vec<SortValue>, String) =
            serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if id.is_empty() || keys.is_empty() {
            return Err(bad());
        }
        Ok(Self { sig, keys, id })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// The signature of a sort, stored in cursors so that one is never used with another sort.
pub fn sort_signature(sort: &[SortKey]) -> String {
    sort.iter()
        .map(|k| format!("{}{}", if k.desc { "-" } else { "" }, k.field))
        .collect::<Vec<_>>()
        .join(",")
}

/// Which slice of a list to return, in which order.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    pub limit: u32,
    pub with_total: bool,
    /// Sort keys; `id` always breaks ties. Default: `created_at` ascending.
    pub sort: Vec<SortKey>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            after: None,
            before: None,
            limit: DEFAULT_LIMIT,
            with_total: false,
            sort: vec![SortKey::CREATED],
        }
    }
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }
}

/// Filters a list endpoint may combine (AND across entries, OR within one entry's values).
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// `filter[id]`: only these ids, in one page, no cursors.
    pub ids: Option<Vec<String>>,
    /// `field IN (values)`.
    pub exact: Vec<(&'static str, Vec<String>)>,
    /// Any of `fields` contains any of the terms (case-insensitive).
    pub search: Vec<(&'static [&'static str], Vec<String>)>,
}

impl ListFilter {
    pub fn exact(mut self, field: &'static str, values: Vec<String>) -> Self {
        if !values.is_empty() {
            self.exact.push((field, values));
        }
        self
    }

    pub fn search(mut self, fields: &'static [&'static str], terms: Vec<String>) -> Self {
        if !terms.is_empty() {
            self.search.push((fields, terms));
        }
        self
    }
}

/// One page of results plus what the envelope needs to describe it.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub has_next: bool,
    pub has_prev: bool,
    pub total: Option<u64>,
    /// Cursor of the first and last item, in the same order as `items`.
    pub start: Option<Cursor>,
    pub end: Option<Cursor>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next: self.has_next,
            has_prev: self.has_prev,
            total: self.total,
            start: self.start,
            end: self.end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trip_and_rejects_garbage() {
        let c = Cursor {
            sig: "-name".into(),
            keys: vec![SortValue::Text("a:b".into()), SortValue::Int(5)],
            id: "x".into(),
        };
        assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c);
        assert!(Cursor::decode("after", "garbage!").is_err());
        assert!(Cursor::decode("after", &URL_SAFE_NO_PAD.encode("[1,2]")).is_err());
        assert!(Cursor::decode("after", &URL_SAFE_NO_PAD.encode(r#"["s",[],"id"]"#)).is_err());
        assert!(Cursor::decode("after", "").is_err());
        assert_eq!(
            sort_signature(&[
                SortKey {
                    field: "name",
                    desc: true
                },
                SortKey::CREATED
            ]),
            "-name,created_at"
        );
    }
}
