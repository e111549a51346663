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
/// Longest cursor accepted: room for the longest position a list can have (a 255-character
/// name and a 2048-character identifier of 4-byte characters, base64-encoded: about 12.6 KiB).
const MAX_CURSOR_LEN: usize = 16 * 1024;

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

/// A position in a sorted list. Opaque to clients: base64url of `[signature, [keys…], id,
/// check]`, where `check` is a checksum of the rest so that an edited or corrupted cursor is
/// refused rather than read as another position. (Not a MAC: a cursor carries no authority,
/// every list is still filtered by who asks; the check only catches edits.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The sort the cursor was made for, e.g. `-name,created_at`.
    pub sig: String,
    pub keys: Vec<SortValue>,
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        let body = serde_json::json!([self.sig, self.keys, self.id]).to_string();
        let json = serde_json::json!([self.sig, self.keys, self.id, checksum(&body)]);
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
        let (sig, keys, id, check): (String, Vec<SortValue>, String, String) =
            serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if id.is_empty() || keys.is_empty() {
            return Err(bad());
        }
        let body = serde_json::json!([sig, keys, id]).to_string();
        if check != checksum(&body) {
            return Err(bad());
        }
        Ok(Self { sig, keys, id })
    }
}

/// FNV-1a (64 bits) of `text`, in hex.
fn checksum(text: &str) -> String {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{hash:016x}")
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
    use proptest::prelude::*;

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
        let edited = URL_SAFE_NO_PAD.encode(r#"["-name",["a:b",6],"x","0000000000000000"]"#);
        assert!(
            Cursor::decode("after", &edited).is_err(),
            "edited cursor accepted"
        );
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

    /// Found by `cursors_at_the_field_limits_round_trip`: with a 1 KiB cap, the server refused
    /// the cursor it issued after an item named with 255 emoji.
    #[test]
    fn cursor_after_a_long_unicode_name_is_accepted() {
        let c = Cursor {
            sig: "name".into(),
            keys: vec![SortValue::Text("😀".repeat(255))],
            id: "a".repeat(26),
        };
        assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c);
    }

    fn sort_value() -> impl Strategy<Value = SortValue> {
        prop_oneof![
            any::<i64>().prop_map(SortValue::Int),
            any::<String>().prop_map(SortValue::Text),
        ]
    }

    fn cursor() -> impl Strategy<Value = Cursor> {
        (
            "-?[a-z_]{1,12}(,-?[a-z_]{1,12}){0,2}",
            prop::collection::vec(sort_value(), 1..4),
            "[a-z0-9]{1,26}",
        )
            .prop_map(|(sig, keys, id)| Cursor { sig, keys, id })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = Cursor::decode("after", &s);
        }

        #[test]
        fn base64_of_arbitrary_bytes_never_panics(b in prop::collection::vec(any::<u8>(), 0..512)) {
            let _ = Cursor::decode("after", &URL_SAFE_NO_PAD.encode(&b));
        }

        #[test]
        fn cursors_round_trip(c in cursor()) {
            prop_assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c);
        }

        /// The longest sort position a list can have (`sort=name,identifier`: a 255-character
        /// name and a 2048-character identifier, any characters) makes a cursor the server accepts
        /// back.
        #[test]
        fn cursors_at_the_field_limits_round_trip(
            name in prop::collection::vec(any::<char>(), 0..=255),
            identifier in prop::collection::vec(any::<char>(), 0..=2048),
            created in any::<i64>(),
        ) {
            let c = Cursor {
                sig: "name,identifier,created_at".into(),
                keys: vec![
                    SortValue::Text(name.into_iter().collect()),
                    SortValue::Text(identifier.into_iter().collect()),
                    SortValue::Int(created),
                ],
                id: "a".repeat(26),
            };
            prop_assert_eq!(Cursor::decode("after", &c.encode()).unwrap(), c);
        }

        /// Any one byte of the decoded JSON changed: refused (400 `invalid_cursor`), never read
        /// as another position.
        #[test]
        fn edited_cursors_are_refused(c in cursor(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
            let json = URL_SAFE_NO_PAD.decode(c.encode()).unwrap();
            let mut edited = json.clone();
            let i = pos.index(edited.len());
            if edited[i] == byte {
                return Ok(());
            }
            edited[i] = byte;
            let forged = URL_SAFE_NO_PAD.encode(&edited);
            prop_assert!(Cursor::decode("after", &forged).is_err(), "edited cursor accepted");
        }
    }
}
