//! The two list envelopes (spec §2.1): family A for organization lists (`page_info` with
//! `has_prev_page`) and family B for zone lists (`pagination` plus `page_info` with
//! `has_previous_page`).

use latchkey_domain::Page;
use serde::Serialize;
use utoipa::ToSchema;

use super::Permissions;

#[derive(Debug, Serialize, ToSchema)]
pub struct PageInfoCursor {
    pub has_next_page: bool,
    pub has_prev_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Organization-family list envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgList<T: ToSchema> {
    pub items: Vec<T>,
    pub page_info: PageInfoCursor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Permissions>,
}

impl<T: ToSchema> OrgList<T> {
    pub fn from_page<U>(
        page: Page<U>,
        permissions: Option<Permissions>,
        view: impl FnMut(U) -> T,
    ) -> Self {
        let page = page.map(view);
        Self {
            page_info: PageInfoCursor {
                has_next_page: page.has_next,
                has_prev_page: page.has_prev,
                start_cursor: page.start.as_ref().map(|c| c.encode()),
                end_cursor: page.end.as_ref().map(|c| c.encode()),
            },
            items: page.items,
            permissions,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    /// Send as `after` for the next page; null on the last page.
    pub after_cursor: Option<String>,
    /// Send as `before` for the previous page; null on the first page.
    pub before_cursor: Option<String>,
    /// Matches across all pages; only with `expand[]=total_count`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_count: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PageInfoPagination {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Zone-family list envelope.
#[derive(Debug, Serialize, ToSchema)]
pub struct ZoneList<T: ToSchema> {
    pub items: Vec<T>,
    pub pagination: Pagination,
    pub page_info: PageInfoPagination,
}

impl<T: ToSchema> ZoneList<T> {
    pub fn from_page<U>(page: Page<U>, view: impl FnMut(U) -> T) -> Self {
        let page = page.map(view);
        let start = page.start.as_ref().map(|c| c.encode());
        let end = page.end.as_ref().map(|c| c.encode());
        Self {
            pagination: Pagination {
                after_cursor: if page.has_next { end.clone() } else { None },
                before_cursor: if page.has_prev { start.clone() } else { None },
                total_count: page.total,
            },
            page_info: PageInfoPagination {
                has_next_page: page.has_next,
                has_previous_page: page.has_prev,
                start_cursor: start,
                end_cursor: end,
            },
            items: page.items,
        }
    }
}
