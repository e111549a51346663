//! `/zones/{zone_id}/secrets`: the vault. The list is a bare array; only the single GET has `data`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::vault::{CreateSecret, SecretView, SecretWithData, UpdateSecret};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::vault as svc;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_secrets, create))
        .routes(routes!(retrieve, update, delete))
}

#[utoipa::path(get, path = "/zones/{zone_id}/secrets", tag = "secrets",
    params(("zone_id" = String, Path), ("entity_id" = Option<String>, Query), ("owner_type" = Option<String>, Query), ("type" = Option<String>, Query)),
    responses((status = 200, body = Vec<SecretView>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_secrets(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<Vec<SecretView>>> {
    let owner = q.one_of("owner_type", &["platform", "customer"])?;
    let kind = q.one_of("type", &["token", "password"])?;
    let filter = svc::filter(q.get("entity_id"), owner, kind);
    let secrets = svc::list(&s, &who, &zone, filter).await?;
    Ok(Json(secrets.into_iter().map(SecretView::from).collect()))
}

#[utoipa::path(post, path = "/zones/{zone_id}/secrets", tag = "secrets", params(("zone_id" = String, Path)),
    request_body = CreateSecret, responses((status = 201, body = SecretView), (status = 400, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<CreateSecret>,
) -> ApiResult<(StatusCode, Json<SecretView>)> {
    Ok((
        StatusCode::CREATED,
        Json(svc::create(&s, &who, &zone, body).await?.into()),
    ))
}

#[utoipa::path(get, path = "/zones/{zone_id}/secrets/{id}", tag = "secrets",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = SecretWithData), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<Json<SecretWithData>> {
    let (secret, data) = svc::reveal(&s, &who, &zone, &id).await?;
    Ok(Json(SecretWithData {
        secret: secret.into(),
        data,
    }))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/secrets/{id}", tag = "secrets",
    params(("zone_id" = String, Path), ("id" = String, Path)), request_body = UpdateSecret,
    responses((status = 200, body = SecretView), (status = 400, body = ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateSecret>,
) -> ApiResult<Json<SecretView>> {
    Ok(Json(svc::update(&s, &who, &zone, &id, body).await?.into()))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/secrets/{id}", tag = "secrets",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc::delete(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
