//! `GET /organizations/{organization_id}/audit-events` (extension): the audit log, newest first,
//! with the organization list conventions and the filters `actor_id`, `object_type`, `object_id`,
//! `zone_id`, `action`, `since`, `until` (RFC 3339; `since` inclusive, `until` exclusive);
//! `order=asc` lists oldest first.

use axum::Json;
use axum::extract::{Path, State};
use latchkey_domain::Timestamp;
use latchkey_domain::id::ZoneId;
use latchkey_domain::store::AuditFilter;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::OrgListParams;
use super::list;
use crate::api::audit::AuditEventView;
use crate::api::envelope::OrgList;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, QueryMap};
use crate::service::audit as svc;
use crate::service::authz::Grants;
use crate::state::AppState;

/// Longest value an exact-match filter takes.
const MAX_FILTER_LEN: usize = 255;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The audit list's filters (documentation only).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
struct AuditFilterParams {
    /// The acting principal's id.
    actor_id: Option<String>,
    /// e.g. `application`, `zone`, `service_account_credential`, `user`.
    object_type: Option<String>,
    object_id: Option<String>,
    zone_id: Option<String>,
    /// e.g. `zones.applications.create`, `auth.sign_in`.
    action: Option<String>,
    /// RFC 3339; events at or after this time.
    since: Option<String>,
    /// RFC 3339; events before this time.
    until: Option<String>,
}

fn text(q: &QueryMap, key: &str) -> ApiResult<Option<String>> {
    match q.get(key) {
        None => Ok(None),
        Some(v) if v.is_empty() || v.chars().count() > MAX_FILTER_LEN => Err(
            ApiError::invalid_query(key, format!("must be 1 to {MAX_FILTER_LEN} characters")),
        ),
        Some(v) => Ok(Some(v.to_owned())),
    }
}

fn time(q: &QueryMap, key: &str) -> ApiResult<Option<Timestamp>> {
    q.get(key)
        .map(|v| {
            Timestamp::parse_rfc3339(v)
                .ok_or_else(|| ApiError::invalid_query(key, "expected an RFC 3339 date-time"))
        })
        .transpose()
}

fn filter(q: &QueryMap) -> ApiResult<AuditFilter> {
    let filter = AuditFilter {
        actor_id: text(q, "actor_id")?,
        object_type: text(q, "object_type")?,
        object_id: text(q, "object_id")?,
        zone_id: text(q, "zone_id")?.map(ZoneId::new),
        action: text(q, "action")?,
        since: time(q, "since")?,
        until: time(q, "until")?,
    };
    if let (Some(since), Some(until)) = (filter.since, filter.until)
        && since > until
    {
        return Err(ApiError::invalid_query(
            "until",
            "must not be before `since`",
        ));
    }
    Ok(filter)
}

#[utoipa::path(get, path = "/organizations/{organization_id}/audit-events", tag = "audit",
    params(("organization_id" = String, Path), OrgListParams, AuditFilterParams),
    responses((status = 200, body = OrgList<AuditEventView>, description = "Latchkey extension: management writes and sign-ins, newest first"), (status = 400, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<OrgList<AuditEventView>>> {
    let (expand, perms) = list::org_expand(&q, &grants)?;
    let page = q.ordered_page(&expand, &[])?;
    let filter = filter(&q)?;
    let events = svc::list(&s, &who, &org, &filter, &page).await?;
    Ok(Json(OrgList::from_page(
        events,
        perms,
        AuditEventView::from,
    )))
}
