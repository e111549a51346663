//! Cursor pagination shared by every list: stable order `(created_at, id)`, opaque cursors,
//! `limit` 1–100, optional total count (spec/management-api.md §2.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::ValidationError;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;
const MAX_CURSOR_LEN: usize = 255;

/// A position in the `(created_at, id)` order. Opaque to clients: base64url of `v1:<ms>:<id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub created_at: i64,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("v1:{}:{}", self.created_at, self.id))
    }

    /// Parses a cursor from the query parameter `field`.
    pub fn decode(field: &str, raw: &str) -> Result<Self, ValidationError> {
        let bad =
            || ValidationError::new(field, format!("`{}` is not a valid cursor", truncate(raw)));
        if raw.is_empty() || raw.len() > MAX_CURSOR_LEN {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| bad())?;
        let text = String::from_utf8(bytes).map_err(|_| bad())?;
        let rest = text.strip_prefix("v1:").ok_or_else(bad)?;
        let (ms, id) = rest.split_once(':').ok_or_else(bad)?;
        let created_at = ms.parse().map_err(|_| bad())?;
        if id.is_empty()
            || !id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(bad());
        }
        Ok(Self {
            created_at,
            id: id.to_owned(),
        })
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(40).collect()
}

/// Which slice of a list to return.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub after: Option<Cursor>,
    pub before: Option<Cursor>,
    pub limit: u32,
    pub with_total: bool,
}

impl PageRequest {
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
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
            created_at: 1_700_000_000_000,
            id: "abc123".into(),
        };
        assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c);
        assert!(Cursor::decode("after", "garbage!").is_err());
        assert!(Cursor::decode("after", &URL_SAFE_NO_PAD.encode("v1:x:y")).is_err());
        assert!(Cursor::decode("after", &URL_SAFE_NO_PAD.encode("v1:1:a'b")).is_err());
        assert!(Cursor::decode("after", "").is_err());
    }
}
