//! `/zones/{zone_id}/providers`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_domain::model::directory::ProviderType;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list;
use crate::api::directory::{CreateProvider, ProviderView, UpdateProvider};
use crate::api::envelope::ZoneList;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::providers as svc;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers, create))
        .routes(routes!(retrieve, update, delete))
}

#[utoipa::path(get, path = "/zones/{zone_id}/providers", tag = "providers", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<ProviderView>), (status = 400, body = ErrorBody)))]
async fn list_providers(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<ProviderView>>> {
    let (page, filter) = list::directory(&q)?;
    let types = q.exact("type");
    if let Some(bad) = types.iter().find(|t| ProviderType::parse(t).is_none()) {
        return Err(ApiError::invalid_query(
            "filter[type]",
            format!("unknown type `{bad}`; allowed: external, keycard-vault, keycard-sts"),
        ));
    }
    let providers = svc::list(&s, &who, &zone, &filter.exact("type", types), &page).await?;
    Ok(Json(ZoneList::from_page(providers, ProviderView::from)))
}

#[utoipa::path(post, path = "/zones/{zone_id}/providers", tag = "providers", params(("zone_id" = String, Path)),
    request_body = CreateProvider, responses((status = 201, body = ProviderView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<CreateProvider>,
) -> ApiResult<(StatusCode, Json<ProviderView>)> {
    Ok((
        StatusCode::CREATED,
        Json(svc::create(&s, &who, &zone, body).await?.into()),
    ))
}

#[utoipa::path(get, path = "/zones/{zone_id}/providers/{id}", tag = "providers",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = ProviderView), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<Json<ProviderView>> {
    Ok(Json(svc::get(&s, &who, &zone, &id).await?.into()))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/providers/{id}", tag = "providers",
    params(("zone_id" = String, Path), ("id" = String, Path)), request_body = UpdateProvider,
    responses((status = 200, body = ProviderView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "`identifier` taken in this zone")))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateProvider>,
) -> ApiResult<Json<ProviderView>> {
    Ok(Json(svc::update(&s, &who, &zone, &id, body).await?.into()))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/providers/{id}", tag = "providers",
    params(("zone_id" = String, Path), ("id" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "still used by credentials or resources")))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc::delete(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
