//! `/zones/{zone_id}/application-credentials`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_domain::ListFilter;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list;
use crate::api::directory::{CreateCredential, CredentialView, UpdateCredential};
use crate::api::envelope::ZoneList;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::app_credentials as svc;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_credentials, create))
        .routes(routes!(retrieve, update, delete))
}

#[utoipa::path(get, path = "/zones/{zone_id}/application-credentials", tag = "application-credentials",
    params(("zone_id" = String, Path), ("applicationId" = Option<String>, Query), ("slug" = Option<String>, Query)),
    responses((status = 200, body = ZoneList<CredentialView>)))]
async fn list_credentials(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<CredentialView>>> {
    let page = list::page(&q, &[])?;
    let filter = ListFilter::default().exact("slug", q.exact("slug"));
    let app = q.get("applicationId").or_else(|| q.get("application_id"));
    let creds = svc::list(&s, &who, &zone, app, &filter, &page).await?;
    Ok(Json(ZoneList::from_page(creds, CredentialView::from)))
}

#[utoipa::path(post, path = "/zones/{zone_id}/application-credentials", tag = "application-credentials",
    params(("zone_id" = String, Path)), request_body = CreateCredential,
    responses((status = 201, body = CredentialView, description = "`password` appears only here"), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<CreateCredential>,
) -> ApiResult<(StatusCode, Json<CredentialView>)> {
    let (cred, password) = svc::create(&s, &who, &zone, body).await?;
    let mut view = CredentialView::from(cred);
    view.password = password;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/application-credentials/{id}", tag = "application-credentials",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = CredentialView), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<Json<CredentialView>> {
    Ok(Json(svc::get(&s, &who, &zone, &id).await?.into()))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/application-credentials/{id}", tag = "application-credentials",
    params(("zone_id" = String, Path), ("id" = String, Path)), request_body = UpdateCredential,
    responses((status = 200, body = CredentialView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody, description = "`identifier` taken in this zone")))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateCredential>,
) -> ApiResult<Json<CredentialView>> {
    Ok(Json(svc::update(&s, &who, &zone, &id, body).await?.into()))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/application-credentials/{id}", tag = "application-credentials",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc::delete(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
