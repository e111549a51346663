//! `/zones/{zone_id}/policy-schemas` and `/zones/{zone_id}/policies[/…/versions]`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_domain::model::OwnerType;
use latchkey_domain::{ListFilter, Page};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::envelope::ZoneList;
use crate::api::policy::{
    CreatePolicy, CreatePolicyVersion, Forms, PolicyVersionView, PolicyView, SchemaView,
    UpdatePolicy,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::policies as svc;
use crate::service::policy_rules::etag;
use crate::service::policy_users;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_schemas))
        .routes(routes!(get_schema, set_default_schema))
        .routes(routes!(list_policies, create))
        .routes(routes!(retrieve, update, archive))
        .routes(routes!(list_versions, create_version))
        .routes(routes!(get_version, archive_version))
}

/// `format=cedar|json` (both when absent).
pub fn forms(q: &QueryMap) -> ApiResult<Forms> {
    Ok(match q.one_of("format", &["cedar", "json"])? {
        None => Forms::BOTH,
        Some("cedar") => Forms {
            cedar: true,
            json: false,
        },
        Some(_) => Forms {
            cedar: false,
            json: true,
        },
    })
}

/// `If-Match`, when sent.
pub fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).and_then(|v| v.to_str().ok())
}

/// A JSON body with its entity tag.
pub fn tagged<T: serde::Serialize>(body: T, updated_at: latchkey_domain::Timestamp) -> Response {
    let mut res = Json(body).into_response();
    if let Ok(v) = etag(updated_at).parse() {
        res.headers_mut().insert(header::ETAG, v);
    }
    res
}

async fn schema_view(
    state: &AppState,
    s: latchkey_domain::model::policy::SchemaVersion,
    is_default: bool,
    q: &QueryMap,
) -> ApiResult<SchemaView> {
    if q.one_of("format", &["cedar", "json"])? == Some("cedar") {
        return Ok(SchemaView::new(s, is_default, true, None));
    }
    let parsed = state
        .policies
        .schema(state.store.as_ref(), &s.version)
        .await?
        .ok_or_else(ApiError::internal)?;
    let json = Some(parsed.json().clone());
    Ok(SchemaView::new(s, is_default, false, json))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-schemas", tag = "policies", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<SchemaView>), (status = 400, body = ErrorBody)))]
async fn list_schemas(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<SchemaView>>> {
    let expand = q.expand(&["total_count", "user"])?;
    let page = q.ordered_page(&expand, &["created_at"])?;
    let default_filter = match (q.flag("filter[default]")?, q.flag("is_default")?) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::invalid_query(
                "is_default",
                "conflicts with `filter[default]`",
            ));
        }
        (a, b) => a.or(b),
    };
    let (all, default) = svc::list_schemas(&s, &who, &zone).await?;
    let mut items = Vec::new();
    for v in all {
        let is_default = default.as_deref() == Some(v.version.as_str());
        if default_filter.is_some_and(|want| want != is_default) {
            continue;
        }
        items.push(schema_view(&s, v, is_default, &q).await?);
    }
    if q.one_of("order", &["asc", "desc"])? == Some("asc") {
        items.reverse();
    }
    let total = items.len() as u64;
    let page = Page {
        items,
        has_next: false,
        has_prev: false,
        start: None,
        end: None,
        total: page.with_total.then_some(total),
    };
    Ok(Json(ZoneList::from_page(page, |x| x)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-schemas/{version}", tag = "policies",
    params(("zone_id" = String, Path), ("version" = String, Path)), responses((status = 200, body = SchemaView), (status = 404, body = ErrorBody)))]
async fn get_schema(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, version)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<SchemaView>> {
    let (v, is_default) = svc::get_schema(&s, &who, &zone, &version).await?;
    Ok(Json(schema_view(&s, v, is_default, &q).await?))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/policy-schemas/{version}", tag = "policies",
    params(("zone_id" = String, Path), ("version" = String, Path)), responses((status = 200, body = SchemaView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn set_default_schema(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, version)): Path<(String, String)>,
    q: QueryMap,
    body: axum::body::Bytes,
) -> ApiResult<Json<SchemaView>> {
    // The SDK sends no body at all; `{}` or any object is accepted too.
    if !body.iter().all(u8::is_ascii_whitespace) {
        let parsed: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_json", e.to_string()))?;
        if !parsed.is_object() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "the body must be a JSON object",
            ));
        }
    }
    let v = svc::set_default_schema(&s, &who, &zone, &version).await?;
    Ok(Json(schema_view(&s, v, true, &q).await?))
}

/// `filter[owner_type]` values, each checked.
pub fn owner_types(q: &QueryMap) -> ApiResult<Vec<String>> {
    let values = q.all("filter[owner_type]");
    for v in &values {
        if OwnerType::parse(v).is_none() {
            return Err(ApiError::invalid_query(
                "filter[owner_type]",
                format!("unknown value `{v}`; allowed: platform, customer"),
            ));
        }
    }
    Ok(values.into_iter().map(str::to_owned).collect())
}

#[utoipa::path(get, path = "/zones/{zone_id}/policies", tag = "policies", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<PolicyView>), (status = 400, body = ErrorBody)))]
async fn list_policies(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<PolicyView>>> {
    let expand = q.expand(&["total_count", "user"])?;
    let mut page = q.ordered_page(&expand, &["created_at"])?;
    let filter = ListFilter {
        ids: q.ids(&mut page)?,
        ..ListFilter::default()
    }
    .exact("owner_type", owner_types(&q)?)
    .search(&["name", "description"], q.any_terms()?)
    .search(&["name"], q.terms("query[name]")?)
    .search(&["description"], q.terms("query[description]")?);
    let policies = svc::list(&s, &who, &zone, &filter, &page).await?;
    let mut list = ZoneList::from_page(policies, PolicyView::from);
    policy_users::expand_if(&s, &zone, &expand, &mut list.items).await?;
    Ok(Json(list))
}

#[utoipa::path(post, path = "/zones/{zone_id}/policies", tag = "policies", params(("zone_id" = String, Path)),
    request_body = CreatePolicy, responses((status = 201, body = PolicyView), (status = 400, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<CreatePolicy>,
) -> ApiResult<(StatusCode, Response)> {
    let p = svc::create(&s, &who, &zone, body).await?;
    let at = p.updated_at;
    Ok((StatusCode::CREATED, tagged(PolicyView::from(p), at)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policies/{policy_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_id" = String, Path)), responses((status = 200, body = PolicyView), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Response> {
    let expand = q.expand(&["user"])?;
    let p = svc::get(&s, &who, &zone, &id).await?;
    let at = p.updated_at;
    let mut view = PolicyView::from(p);
    policy_users::expand_if(&s, &zone, &expand, std::slice::from_mut(&mut view)).await?;
    Ok(tagged(view, at))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/policies/{policy_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_id" = String, Path)), request_body = UpdatePolicy,
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdatePolicy>,
) -> ApiResult<Response> {
    let p = svc::update(&s, &who, &zone, &id, if_match(&headers), body).await?;
    let at = p.updated_at;
    Ok(tagged(PolicyView::from(p), at))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/policies/{policy_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_id" = String, Path)),
    responses((status = 200, body = PolicyView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn archive(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let p = svc::archive(&s, &who, &zone, &id, if_match(&headers)).await?;
    let at = p.updated_at;
    Ok(tagged(PolicyView::from(p), at))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policies/{policy_id}/versions", tag = "policies",
    params(("zone_id" = String, Path), ("policy_id" = String, Path)), responses((status = 200, body = ZoneList<PolicyVersionView>), (status = 404, body = ErrorBody)))]
async fn list_versions(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<PolicyVersionView>>> {
    let expand = q.expand(&["total_count", "user"])?;
    let page = q.ordered_page(&expand, &["created_at"])?;
    let forms = forms(&q)?;
    let versions = svc::list_versions(&s, &who, &zone, &id, &page).await?;
    let mut list = ZoneList::from_page(versions, |v| PolicyVersionView::new(v, forms));
    policy_users::expand_if(&s, &zone, &expand, &mut list.items).await?;
    Ok(Json(list))
}

#[utoipa::path(post, path = "/zones/{zone_id}/policies/{policy_id}/versions", tag = "policies",
    params(("zone_id" = String, Path), ("policy_id" = String, Path)), request_body = CreatePolicyVersion,
    responses((status = 201, body = PolicyVersionView), (status = 400, body = ErrorBody, description = "`invalid_cedar` with line and column"), (status = 403, body = ErrorBody)))]
async fn create_version(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<CreatePolicyVersion>,
) -> ApiResult<(StatusCode, Json<PolicyVersionView>)> {
    let v = svc::create_version(&s, &who, &zone, &id, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(PolicyVersionView::new(v, Forms::BOTH)),
    ))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policies/{policy_id}/versions/{policy_version_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_id" = String, Path), ("policy_version_id" = String, Path)),
    responses((status = 200, body = PolicyVersionView), (status = 404, body = ErrorBody)))]
async fn get_version(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
    q: QueryMap,
) -> ApiResult<Json<PolicyVersionView>> {
    let expand = q.expand(&["user"])?;
    let forms = forms(&q)?;
    let v = svc::get_version(&s, &who, &zone, &id, &version).await?;
    let mut view = PolicyVersionView::new(v, forms);
    policy_users::expand_if(&s, &zone, &expand, std::slice::from_mut(&mut view)).await?;
    Ok(Json(view))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/policies/{policy_id}/versions/{policy_version_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_id" = String, Path), ("policy_version_id" = String, Path)),
    responses((status = 200, body = PolicyVersionView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn archive_version(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
) -> ApiResult<Json<PolicyVersionView>> {
    let v = svc::archive_version(&s, &who, &zone, &id, &version).await?;
    Ok(Json(PolicyVersionView::new(v, Forms::BOTH)))
}
