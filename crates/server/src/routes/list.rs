//! Query parsing shared by the lists: the organization family's `expand` (and its `permissions`
//! expansion), and for the zone-directory lists paging, sort, `filter[id]`, exact-match filters
//! (bracketed and legacy keys) and substring search.

use latchkey_domain::{ListFilter, PageRequest};

use crate::api::Permissions;
use crate::error::ApiResult;
use crate::extract::QueryMap;
use crate::service::access;
use crate::service::authz::Grants;

/// What the organization family's `expand` accepts.
pub const ORG_EXPAND: &[&str] = &["permissions", "total_count"];

/// The organization family's `expand` values, and the caller's organization `permissions` when
/// they ask for it.
pub fn org_expand(q: &QueryMap, grants: &Grants) -> ApiResult<(Vec<String>, Option<Permissions>)> {
    let expand = q.expand(ORG_EXPAND)?;
    let perms = expand
        .iter()
        .any(|e| e == "permissions")
        .then(|| access::permissions(grants, None));
    Ok((expand, perms))
}

pub const SORT_DIRECTORY: &[&str] = &["created_at", "name", "identifier"];
pub const NAME_AND_IDENTIFIER: &[&str] = &["name", "identifier"];

/// Paging plus `total_count` for a list that has no other expansions.
pub fn page(q: &QueryMap, sortable: &[&'static str]) -> ApiResult<PageRequest> {
    let expand = q.expand(&["total_count"])?;
    q.page(&expand, sortable)
}

/// Paging and the filters of applications, providers and resources (spec §3.5.1).
pub fn directory(q: &QueryMap) -> ApiResult<(PageRequest, ListFilter)> {
    let mut page = page(q, SORT_DIRECTORY)?;
    let filter = ListFilter {
        ids: q.ids(&mut page)?,
        ..ListFilter::default()
    }
    .exact("identifier", q.exact("identifier"))
    .exact("slug", q.exact("slug"))
    .search(NAME_AND_IDENTIFIER, q.any_terms()?)
    .search(&["name"], q.terms("query[name]")?)
    .search(&["identifier"], q.terms("query[identifier]")?);
    Ok((page, filter))
}
