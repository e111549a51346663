//! Query strings as the SDK sends them: repeated keys for arrays, literal bracketed names
//! (`expand[]`, `filter[id]`), both `expand` and `expand[]` spellings (spec §2.2), and the list
//! parameters every paginated endpoint shares.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use latchkey_domain::page::{DEFAULT_LIMIT, MAX_FILTER_IDS, MAX_LIMIT, sort_signature};
use latchkey_domain::{Cursor, PageRequest, SortKey, ValidationError};

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

    /// Every `(key, value)` pair, in order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
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

    /// `after`/`before`/`limit` (and the legacy `cursor`, a synonym of `after`), `sort` over
    /// `sortable` fields (comma-separated, `-` for descending), and whether `total_count` was
    /// expanded. A cursor made for another sort is refused.
    pub fn page(
        &self,
        expand: &[String],
        sortable: &[&'static str],
    ) -> Result<PageRequest, ApiError> {
        let (after, before, limit) = self.cursors()?;
        let sort = self.sort(sortable)?;
        Self::paged(after, before, limit, sort, expand)
    }

    /// Paging for the policy family: `sort` with `order=asc|desc` (default `desc`: newest first).
    pub fn ordered_page(
        &self,
        expand: &[String],
        sortable: &[&'static str],
    ) -> Result<PageRequest, ApiError> {
        let (after, before, limit) = self.cursors()?;
        let desc = self.one_of("order", &["asc", "desc"])? != Some("asc");
        let mut sort = self.sort(sortable)?;
        if self.get("sort").is_none() || self.get("order").is_some() {
            for k in &mut sort {
                k.desc = desc;
            }
        }
        Self::paged(after, before, limit, sort, expand)
    }

    /// `after`/`before` (mutually exclusive) and `limit`.
    fn cursors(&self) -> Result<(Option<Cursor>, Option<Cursor>, u32), ApiError> {
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
        Ok((after, before, limit))
    }

    fn paged(
        after: Option<Cursor>,
        before: Option<Cursor>,
        limit: u32,
        sort: Vec<SortKey>,
        expand: &[String],
    ) -> Result<PageRequest, ApiError> {
        let sig = sort_signature(&sort);
        for (name, c) in [("after", &after), ("before", &before)] {
            if let Some(c) = c
                && (c.sig != sig || c.keys.len() != sort.len())
            {
                return Err(cursor_error(ValidationError::new(
                    name,
                    "the cursor was made for another sort order",
                )));
            }
        }
        let with_total = expand.iter().any(|e| e == "total_count");
        Ok(PageRequest {
            after,
            before,
            limit,
            with_total,
            sort,
        })
    }

    /// The `sort` parameter; default `created_at` ascending.
    fn sort(&self, sortable: &[&'static str]) -> Result<Vec<SortKey>, ApiError> {
        let Some(raw) = self.get("sort") else {
            return Ok(vec![SortKey::CREATED]);
        };
        let mut keys: Vec<SortKey> = Vec::new();
        for part in raw.split(',') {
            let (desc, name) = match part.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, part),
            };
            let field = sortable.iter().find(|f| **f == name).ok_or_else(|| {
                let allowed = if sortable.is_empty() {
                    "none".to_owned()
                } else {
                    sortable.join(", ")
                };
                ApiError::invalid_query(
                    "sort",
                    format!("cannot sort by `{}`; allowed: {allowed}", truncated(name)),
                )
            })?;
            if keys.iter().any(|k| k.field == *field) {
                return Err(ApiError::invalid_query(
                    "sort",
                    format!("`{field}` appears twice"),
                ));
            }
            keys.push(SortKey { field, desc });
        }
        Ok(keys)
    }

    /// `filter[id]` (rule B49): at most 100 ids, never with a cursor. When present the list is
    /// one page holding every match, so the limit is raised to the maximum.
    pub fn ids(&self, page: &mut PageRequest) -> Result<Option<Vec<String>>, ApiError> {
        let ids: Vec<String> = self
            .all("filter[id]")
            .into_iter()
            .map(str::to_owned)
            .collect();
        if ids.is_empty() {
            return Ok(None);
        }
        if ids.len() > MAX_FILTER_IDS {
            return Err(ApiError::invalid_query(
                "filter[id]",
                format!("at most {MAX_FILTER_IDS} ids"),
            ));
        }
        if page.after.is_some() || page.before.is_some() {
            return Err(ApiError::invalid_query(
                "filter[id]",
                "cannot be combined with `after` or `before`",
            ));
        }
        page.limit = MAX_LIMIT;
        Ok(Some(ids))
    }

    /// Values of the exact-match filter `field`, from `filter[field]` (repeatable) and the
    /// legacy bare `field` key.
    pub fn exact(&self, field: &str) -> Vec<String> {
        let bracketed = format!("filter[{field}]");
        self.all(&bracketed)
            .into_iter()
            .chain(self.all(field))
            .map(str::to_owned)
            .collect()
    }

    /// Substring-search terms from `key` (e.g. `query[]`, `query[name]`), each at most 255
    /// characters.
    pub fn terms(&self, key: &str) -> Result<Vec<String>, ApiError> {
        self.all(key)
            .into_iter()
            .map(|t| {
                if t.chars().count() > 255 {
                    Err(ApiError::invalid_query(
                        key,
                        "terms are at most 255 characters",
                    ))
                } else {
                    Ok(t.to_owned())
                }
            })
            .collect()
    }

    /// Free-text search terms from `query[]` and its unbracketed spelling `query` (spec §2.2).
    pub fn any_terms(&self) -> Result<Vec<String>, ApiError> {
        let mut terms = self.terms("query[]")?;
        terms.extend(self.terms("query")?);
        Ok(terms)
    }

    /// A single-valued enum parameter checked against `allowed`.
    pub fn one_of(
        &self,
        key: &str,
        allowed: &[&'static str],
    ) -> Result<Option<&'static str>, ApiError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => allowed
                .iter()
                .find(|a| **a == v)
                .map(|a| Some(*a))
                .ok_or_else(|| {
                    ApiError::invalid_query(
                        key,
                        format!(
                            "unknown value `{}`; allowed: {}",
                            truncated(v),
                            allowed.join(", ")
                        ),
                    )
                }),
        }
    }
}

fn cursor_error(e: ValidationError) -> ApiError {
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
        let page = q.page(&expand, &[]).unwrap();
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
            assert!(QueryMap::parse(bad).page(&[], &["name"]).is_err(), "{bad}");
        }
        assert!(
            QueryMap::parse("expand=nope")
                .expand(&["total_count"])
                .is_err()
        );
        assert_eq!(
            QueryMap::parse("").page(&[], &[]).unwrap().limit,
            DEFAULT_LIMIT
        );
        let sorted = QueryMap::parse("sort=-name").page(&[], &["name"]).unwrap();
        assert_eq!(
            sorted.sort,
            vec![SortKey {
                field: "name",
                desc: true
            }]
        );
    }
}
