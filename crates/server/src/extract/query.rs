//! Query strings as the SDK sends them: repeated keys for arrays, literal bracketed names
//! (`expand[]`, `filter[id]`), both `expand` and `expand[]` spellings (spec §2.2), and the list
//! parameters every paginated endpoint shares.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use latchkey_domain::page::{DEFAULT_LIMIT, MAX_LIMIT};
use latchkey_domain::{Cursor, PageRequest};

use crate::error::ApiError;

/// The decoded `(key, value)` pairs of the query string, in order.
#[derive(Debug, Clone, Default)]
pub struct QueryMap(Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryMap {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query().unwrap_or_default()))
    }
}

impl QueryMap {
    pub fn parse(query: &str) -> Self {
        Self(
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        )
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`, in order.
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The union of `expand` and `expand[]`, each value checked against `allowed`.
    pub fn expand(&self, allowed: &[&str]) -> Result<Vec<String>, ApiError> {
        let mut out: Vec<String> = Vec::new();
        for key in ["expand", "expand[]"] {
            for v in self.all(key) {
                if !allowed.contains(&v) {
                    return Err(ApiError::invalid_query(
                        key,
                        format!(
                            "unknown value `{}`; allowed: {}",
                            truncated(v),
                            allowed.join(", ")
                        ),
                    ));
                }
                if !out.iter().any(|o| o == v) {
                    out.push(v.to_owned());
                }
            }
        }
        Ok(out)
    }

    /// A boolean parameter (`true`/`false`).
    pub fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::invalid_query(
                key,
                format!("expected `true` or `false`, got `{}`", truncated(v)),
            )),
        }
    }

    /// `after`/`before`/`limit` (and the legacy `cursor`, a synonym of `after`), plus whether
    /// `total_count` was expanded.
    pub fn page(&self, expand: &[String]) -> Result<PageRequest, ApiError> {
        let after = self.get("after").or_else(|| self.get("cursor"));
        let before = self.get("before");
        if after.is_some() && before.is_some() {
            return Err(ApiError::invalid_query(
                "before",
                "`after` and `before` cannot be combined",
            ));
        }
        let after = after
            .map(|c| Cursor::decode("after", c))
            .transpose()
            .map_err(cursor_error)?;
        let before = before
            .map(|c| Cursor::decode("before", c))
            .transpose()
            .map_err(cursor_error)?;
        let limit = match self.get("limit") {
            None => DEFAULT_LIMIT,
            Some(raw) => match raw.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::invalid_query(
                        "limit",
                        format!(
                            "must be an integer from 1 to {MAX_LIMIT}, got `{}`",
                            truncated(raw)
                        ),
                    ));
                }
            },
        };
        Ok(PageRequest {
            after,
            before,
            limit,
            with_total: expand.iter().any(|e| e == "total_count"),
        })
    }
}

fn cursor_error(e: latchkey_domain::ValidationError) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid_cursor",
        format!("query parameter `{}`: {}", e.field, e.message),
    )
}

fn truncated(s: &str) -> String {
    s.chars().take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_and_bracketed_keys() {
        let q = QueryMap::parse(
            "expand%5B%5D=total_count&expand=permissions&filter%5Bid%5D=a&filter%5Bid%5D=b&limit=5",
        );
        assert_eq!(q.all("filter[id]"), vec!["a", "b"]);
        let expand = q.expand(&["total_count", "permissions"]).unwrap();
        assert_eq!(expand, vec!["permissions", "total_count"]);
        let page = q.page(&expand).unwrap();
        assert_eq!(page.limit, 5);
        assert!(page.with_total);
    }

    #[test]
    fn rejects_bad_list_params() {
        for bad in [
            "limit=0",
            "limit=101",
            "limit=x",
            "after=zzz",
            "after=a&before=b",
        ] {
            assert!(QueryMap::parse(bad).page(&[]).is_err(), "{bad}");
        }
        assert!(
            QueryMap::parse("expand=nope")
                .expand(&["total_count"])
                .is_err()
        );
        assert_eq!(QueryMap::parse("").page(&[]).unwrap().limit, DEFAULT_LIMIT);
    }
}
