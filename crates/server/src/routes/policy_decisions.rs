//! `GET /zones/{zone_id}/policy-decisions` (extension): the decision log, newest first, with the
//! zone list conventions and filters `filter[decision]`, `filter[principal]`, `filter[resource]`,
//! `filter[since]`, `filter[until]` (RFC 3339).

use axum::Json;
use axum::extract::{Path, State};
use latchkey_domain::Timestamp;
use latchkey_domain::store::DecisionFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::envelope::ZoneList;
use crate::api::policy_set::DecisionView;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, QueryMap};
use crate::service::policy_eval;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_decisions))
}

fn time(q: &QueryMap, key: &str) -> ApiResult<Option<Timestamp>> {
    q.get(key)
        .map(|v| {
            Timestamp::parse_rfc3339(v)
                .ok_or_else(|| ApiError::invalid_query(key, "expected an RFC 3339 date-time"))
        })
        .transpose()
}

fn filter(q: &QueryMap) -> ApiResult<DecisionFilter> {
    Ok(DecisionFilter {
        decision: q
            .one_of("filter[decision]", &["allow", "deny"])?
            .map(str::to_owned),
        principal: q.get("filter[principal]").map(str::to_owned),
        resource: q.get("filter[resource]").map(str::to_owned),
        since: time(q, "filter[since]")?,
        until: time(q, "filter[until]")?,
    })
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-decisions", tag = "policies", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<DecisionView>, description = "Latchkey extension: Cedar decisions at issuance"), (status = 400, body = ErrorBody)))]
async fn list_decisions(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<DecisionView>>> {
    let expand = q.expand(&["total_count"])?;
    let page = q.ordered_page(&expand, &["created_at"])?;
    let filter = filter(&q)?;
    let decisions = policy_eval::decisions(&s, &who, &zone, &filter, &page).await?;
    Ok(Json(ZoneList::from_page(decisions, DecisionView::from)))
}
