//! `/zones/{zone_id}/resources`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_domain::id::{ApplicationId, ProviderId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::store::ResourceFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list;
use crate::api::directory::{CreateResource, ResourceView, UpdateResource};
use crate::api::envelope::ZoneList;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::{applications::TRAITS, resources as svc};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_resources, create))
        .routes(routes!(retrieve, update, delete))
}

fn filter(q: &QueryMap) -> ApiResult<(latchkey_domain::PageRequest, ResourceFilter)> {
    let (page, list) = list::directory(q)?;
    let owner_type = match q.one_of("filter[owner_type]", &["platform", "customer"])? {
        Some(o) => OwnerType::parse(o),
        None => None,
    };
    let mut traits = Vec::new();
    for value in q.all("filter[traits]") {
        let group: Vec<String> = value
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect();
        if let Some(bad) = group.iter().find(|t| !TRAITS.contains(&t.as_str())) {
            return Err(ApiError::invalid_query(
                "filter[traits]",
                format!("unknown trait `{bad}`; allowed: {}", TRAITS.join(", ")),
            ));
        }
        traits.push(group);
    }
    let resource_filter = ResourceFilter {
        list,
        application_id: q
            .get("applicationId")
            .or_else(|| q.get("application_id"))
            .map(ApplicationId::new),
        credential_provider_id: q
            .get("credentialProviderId")
            .or_else(|| q.get("credential_provider_id"))
            .map(ProviderId::new),
        owner_type,
        traits,
        prefix: None,
    };
    Ok((page, resource_filter))
}

#[utoipa::path(get, path = "/zones/{zone_id}/resources", tag = "resources",
    params(("zone_id" = String, Path), ("credentialProviderId" = Option<String>, Query)),
    responses((status = 200, body = ZoneList<ResourceView>), (status = 400, body = ErrorBody)))]
async fn list_resources(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<ResourceView>>> {
    let (page, f) = filter(&q)?;
    let resources = svc::list(&s, &who, &zone, &f, &page).await?;
    Ok(Json(ZoneList::from_page(resources, ResourceView::from)))
}

#[utoipa::path(post, path = "/zones/{zone_id}/resources", tag = "resources", params(("zone_id" = String, Path)),
    request_body = CreateResource, responses((status = 201, body = ResourceView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<CreateResource>,
) -> ApiResult<(StatusCode, Json<ResourceView>)> {
    Ok((
        StatusCode::CREATED,
        Json(svc::create(&s, &who, &zone, body).await?.into()),
    ))
}

#[utoipa::path(get, path = "/zones/{zone_id}/resources/{id}", tag = "resources",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = ResourceView), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<Json<ResourceView>> {
    Ok(Json(svc::get(&s, &who, &zone, &id).await?.into()))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/resources/{id}", tag = "resources",
    params(("zone_id" = String, Path), ("id" = String, Path)), request_body = UpdateResource,
    responses((status = 200, body = ResourceView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody, description = "`identifier` taken in this zone")))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateResource>,
) -> ApiResult<Json<ResourceView>> {
    Ok(Json(svc::update(&s, &who, &zone, &id, body).await?.into()))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/resources/{id}", tag = "resources",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc::delete(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
