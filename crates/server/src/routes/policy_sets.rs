//! `/zones/{zone_id}/policy-sets[/…/versions[/…/policies, /attestation]]`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::model::policy::{PolicySet, TargetType};
use latchkey_domain::store::PolicySetFilter;
use latchkey_domain::{ListFilter, Page, SortKey};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::policies::{forms, if_match, owner_types, tagged};
use crate::api::envelope::ZoneList;
use crate::api::policy::PolicyVersionView;
use crate::api::policy_set::{
    AttestationView, CreatePolicySet, CreatePolicySetVersion, EvaluateRequest, EvaluateView,
    PolicySetVersionView, PolicySetView, UpdatePolicySet, UpdatePolicySetVersion,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::policy_set_versions as versions;
use crate::service::policy_sets as svc;
use crate::service::policy_users;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sets, create))
        .routes(routes!(retrieve, update, archive))
        .routes(routes!(list_versions, create_version))
        .routes(routes!(get_version, update_version, archive_version))
        .routes(routes!(version_policies))
        .routes(routes!(attestation))
        .routes(routes!(evaluate))
}

async fn view(s: &AppState, set: PolicySet) -> ApiResult<PolicySetView> {
    let (active, shadow) = svc::bound_numbers(s, &set).await?;
    Ok(PolicySetView::new(set, active, shadow))
}

async fn tagged_view(s: &AppState, set: PolicySet) -> ApiResult<Response> {
    let at = set.updated_at;
    Ok(tagged(view(s, set).await?, at))
}

/// `filter[target_type]` (default `zone`) and its deprecated spelling `filter[scope_type]`.
fn target_types(q: &QueryMap) -> ApiResult<Vec<TargetType>> {
    let parse = |key: &str, only_zone: bool| -> ApiResult<Vec<TargetType>> {
        q.all(key)
            .into_iter()
            .map(|v| match TargetType::parse(v) {
                Some(TargetType::User) if only_zone => None,
                t => t,
            })
            .map(|t| {
                t.ok_or_else(|| {
                    ApiError::invalid_query(
                        key,
                        if only_zone {
                            "only `zone` is accepted"
                        } else {
                            "allowed: zone, user"
                        },
                    )
                })
            })
            .collect()
    };
    let target = parse("filter[target_type]", false)?;
    let scope = parse("filter[scope_type]", true)?;
    match (target.is_empty(), scope.is_empty()) {
        (true, true) => Ok(vec![TargetType::Zone]),
        (false, true) => Ok(target),
        (true, false) => Ok(scope),
        (false, false) if target == scope => Ok(target),
        _ => Err(ApiError::invalid_query(
            "filter[scope_type]",
            "conflicts with `filter[target_type]`",
        )),
    }
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-sets", tag = "policies", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<PolicySetView>), (status = 400, body = ErrorBody)))]
async fn list_sets(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<PolicySetView>>> {
    let expand = q.expand(&["total_count", "user"])?;
    let mut page = q.ordered_page(&expand, &["created_at", "status"])?;
    if page.sort.iter().any(|k| k.field == "status") {
        if q.get("order") == Some("asc") || page.before.is_some() {
            return Err(ApiError::invalid_query(
                "sort",
                "`sort=status` pages forward only, newest first (no `order=asc`, no `before`)",
            ));
        }
        page.sort = vec![SortKey {
            field: "status",
            desc: true,
        }];
    }
    let active = match (q.flag("filter[active]")?, q.flag("active")?) {
        (Some(a), Some(b)) if a != b => {
            return Err(ApiError::invalid_query(
                "active",
                "conflicts with `filter[active]`",
            ));
        }
        (a, b) => a.or(b),
    };
    let list = ListFilter {
        ids: q.ids(&mut page)?,
        ..ListFilter::default()
    }
    .exact("owner_type", owner_types(&q)?)
    .search(&["name"], q.any_terms()?)
    .search(&["name"], q.terms("query[name]")?);
    let filter = PolicySetFilter {
        target_types: if list.ids.is_some() && q.all("filter[target_type]").is_empty() {
            Vec::new()
        } else {
            target_types(&q)?
        },
        list,
        active,
    };
    let sets = svc::list(&s, &who, &zone, &filter, &page).await?;
    let mut views = Vec::with_capacity(sets.items.len());
    for set in &sets.items {
        views.push(view(&s, set.clone()).await?);
    }
    policy_users::expand_if(&s, &zone, &expand, &mut views).await?;
    let page = Page {
        items: views,
        has_next: sets.has_next,
        has_prev: sets.has_prev,
        total: sets.total,
        start: sets.start,
        end: sets.end,
    };
    Ok(Json(ZoneList::from_page(page, |v| v)))
}

#[utoipa::path(post, path = "/zones/{zone_id}/policy-sets", tag = "policies", params(("zone_id" = String, Path)),
    request_body = CreatePolicySet, responses((status = 201, body = PolicySetView), (status = 400, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<CreatePolicySet>,
) -> ApiResult<(StatusCode, Response)> {
    let set = svc::create(&s, &who, &zone, body).await?;
    Ok((StatusCode::CREATED, tagged_view(&s, set).await?))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-sets/{policy_set_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path)), responses((status = 200, body = PolicySetView), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Response> {
    let expand = q.expand(&["user"])?;
    let set = svc::get(&s, &who, &zone, &id).await?;
    let at = set.updated_at;
    let mut one = view(&s, set).await?;
    policy_users::expand_if(&s, &zone, &expand, std::slice::from_mut(&mut one)).await?;
    Ok(tagged(one, at))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/policy-sets/{policy_set_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path)), request_body = UpdatePolicySet,
    responses((status = 200, body = PolicySetView), (status = 403, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<UpdatePolicySet>,
) -> ApiResult<Response> {
    let set = svc::update(&s, &who, &zone, &id, if_match(&headers), body).await?;
    tagged_view(&s, set).await
}

#[utoipa::path(delete, path = "/zones/{zone_id}/policy-sets/{policy_set_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path)),
    responses((status = 200, body = PolicySetView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 412, body = ErrorBody)))]
async fn archive(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let set = svc::archive(&s, &who, &zone, &id, if_match(&headers)).await?;
    tagged_view(&s, set).await
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path)), responses((status = 200, body = ZoneList<PolicySetVersionView>), (status = 404, body = ErrorBody)))]
async fn list_versions(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<PolicySetVersionView>>> {
    let expand = q.expand(&["total_count", "user"])?;
    let page = q.ordered_page(&expand, &["created_at"])?;
    let (set, versions) = versions::list_versions(&s, &who, &zone, &id, &page).await?;
    let mut list = ZoneList::from_page(versions, |v| PolicySetVersionView::new(v, &set));
    policy_users::expand_if(&s, &zone, &expand, &mut list.items).await?;
    Ok(Json(list))
}

#[utoipa::path(post, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path)), request_body = CreatePolicySetVersion,
    responses((status = 201, body = PolicySetVersionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create_version(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<CreatePolicySetVersion>,
) -> ApiResult<(StatusCode, Json<PolicySetVersionView>)> {
    let v = versions::create_version(&s, &who, &zone, &id, body).await?;
    let (set, _) = versions::get_version(&s, &who, &zone, &id, v.id.as_str()).await?;
    Ok((
        StatusCode::CREATED,
        Json(PolicySetVersionView::new(v, &set)),
    ))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path), ("policy_set_version_id" = String, Path)),
    responses((status = 200, body = PolicySetVersionView), (status = 404, body = ErrorBody)))]
async fn get_version(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
    q: QueryMap,
) -> ApiResult<Json<PolicySetVersionView>> {
    let expand = q.expand(&["user"])?;
    let (set, v) = versions::get_version(&s, &who, &zone, &id, &version).await?;
    let mut one = PolicySetVersionView::new(v, &set);
    policy_users::expand_if(&s, &zone, &expand, std::slice::from_mut(&mut one)).await?;
    Ok(Json(one))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path), ("policy_set_version_id" = String, Path)), request_body = UpdatePolicySetVersion,
    responses((status = 200, body = PolicySetVersionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_version(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<UpdatePolicySetVersion>,
) -> ApiResult<Json<PolicySetVersionView>> {
    let (set, v) = versions::bind_version(&s, &who, &zone, &id, &version, body).await?;
    Ok(Json(PolicySetVersionView::new(v, &set)))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path), ("policy_set_version_id" = String, Path)),
    responses((status = 200, body = PolicySetVersionView), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn archive_version(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
) -> ApiResult<Json<PolicySetVersionView>> {
    let (set, v) = versions::archive_version(&s, &who, &zone, &id, &version).await?;
    Ok(Json(PolicySetVersionView::new(v, &set)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}/policies", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path), ("policy_set_version_id" = String, Path)),
    responses((status = 200, body = ZoneList<PolicyVersionView>), (status = 404, body = ErrorBody)))]
async fn version_policies(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<PolicyVersionView>>> {
    let expand = q.expand(&["total_count", "user"])?;
    let page = q.ordered_page(&expand, &["created_at"])?;
    let forms = forms(&q)?;
    let versions = versions::version_policies(&s, &who, &zone, &id, &version, &page).await?;
    let mut list = ZoneList::from_page(versions, |v| PolicyVersionView::new(v, forms));
    policy_users::expand_if(&s, &zone, &expand, &mut list.items).await?;
    Ok(Json(list))
}

#[utoipa::path(get, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}/attestation", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path), ("policy_set_version_id" = String, Path)),
    responses((status = 200, body = AttestationView, description = "Latchkey extension: the statement and its compact JWS (verifies against the zone JWKS)"), (status = 404, body = ErrorBody)))]
async fn attestation(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
) -> ApiResult<Json<AttestationView>> {
    let (_, v) = versions::get_version(&s, &who, &zone, &id, &version).await?;
    match (v.attestation, v.attestation_jws) {
        (Some(statement), Some(jws)) => Ok(Json(AttestationView { statement, jws })),
        _ => Err(ApiError::not_found(format!(
            "attestation of version `{version}`"
        ))),
    }
}

#[utoipa::path(post, path = "/zones/{zone_id}/policy-sets/{policy_set_id}/versions/{policy_set_version_id}/evaluate", tag = "policies",
    params(("zone_id" = String, Path), ("policy_set_id" = String, Path), ("policy_set_version_id" = String, Path)), request_body = EvaluateRequest,
    responses((status = 200, body = EvaluateView, description = "Latchkey extension: what this version would decide for a token request (dry run)"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn evaluate(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, version)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<EvaluateRequest>,
) -> ApiResult<Json<EvaluateView>> {
    Ok(Json(
        versions::evaluate(&s, &who, &zone, &id, &version, body).await?,
    ))
}
