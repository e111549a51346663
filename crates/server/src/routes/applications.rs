//! `/zones/{zone_id}/applications` (+ `/dependencies`, `/application-credentials`, `/resources`).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::list;
use crate::api::directory::{
    ApplicationView, CreateApplication, CredentialView, ResourceView, UpdateApplication,
};
use crate::api::envelope::ZoneList;
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::{app_credentials, applications as svc};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_apps, create))
        .routes(routes!(retrieve, update, delete))
        .routes(routes!(list_credentials))
        .routes(routes!(list_resources))
        .routes(routes!(list_dependencies))
        .routes(routes!(get_dependency, put_dependency, remove_dependency))
}

type P2 = Path<(String, String)>;
type P3 = Path<(String, String, String)>;

#[utoipa::path(get, path = "/zones/{zone_id}/applications", tag = "applications", params(("zone_id" = String, Path)),
    responses((status = 200, body = ZoneList<ApplicationView>), (status = 400, body = ErrorBody)))]
async fn list_apps(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<ApplicationView>>> {
    let (page, filter) = list::directory(&q)?;
    let apps = svc::list(&s, &who, &zone, &filter, &page).await?;
    Ok(Json(ZoneList::from_page(apps, ApplicationView::from)))
}

#[utoipa::path(post, path = "/zones/{zone_id}/applications", tag = "applications", params(("zone_id" = String, Path)),
    request_body = CreateApplication, responses((status = 201, body = ApplicationView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<CreateApplication>,
) -> ApiResult<(StatusCode, Json<ApplicationView>)> {
    Ok((
        StatusCode::CREATED,
        Json(svc::create(&s, &who, &zone, body).await?.into()),
    ))
}

#[utoipa::path(get, path = "/zones/{zone_id}/applications/{id}", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = ApplicationView), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(svc::get(&s, &who, &zone, &id).await?.into()))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/applications/{id}", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path)), request_body = UpdateApplication,
    responses((status = 200, body = ApplicationView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "`identifier` taken in this zone")))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
    JsonBody(body): JsonBody<UpdateApplication>,
) -> ApiResult<Json<ApplicationView>> {
    Ok(Json(svc::update(&s, &who, &zone, &id, body).await?.into()))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/applications/{id}", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
) -> ApiResult<StatusCode> {
    svc::delete(&s, &who, &zone, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/zones/{zone_id}/applications/{id}/application-credentials", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = ZoneList<CredentialView>)))]
async fn list_credentials(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<CredentialView>>> {
    let page = list::page(&q, &[])?;
    let app = svc::get(&s, &who, &zone, &id).await?;
    let creds = app_credentials::list(
        &s,
        &who,
        &zone,
        Some(app.id.as_str()),
        &Default::default(),
        &page,
    )
    .await?;
    Ok(Json(ZoneList::from_page(creds, CredentialView::from)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/applications/{id}/resources", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path)), responses((status = 200, body = ZoneList<ResourceView>)))]
async fn list_resources(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<ResourceView>>> {
    let page = list::page(&q, &[])?;
    let resources = svc::provided_resources(&s, &who, &zone, &id, &page).await?;
    Ok(Json(ZoneList::from_page(resources, ResourceView::from)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/applications/{id}/dependencies", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path), ("when_accessing" = Option<String>, Query)),
    responses((status = 200, body = ZoneList<ResourceView>)))]
async fn list_dependencies(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id)): P2,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<ResourceView>>> {
    let page = list::page(&q, &[])?;
    let deps = svc::list_dependencies(&s, &who, &zone, &id, q.get("when_accessing"), &page).await?;
    Ok(Json(ZoneList::from_page(deps, ResourceView::from)))
}

#[utoipa::path(get, path = "/zones/{zone_id}/applications/{id}/dependencies/{dependency_id}", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path), ("dependency_id" = String, Path)),
    responses((status = 200, body = ResourceView), (status = 404, body = ErrorBody)))]
async fn get_dependency(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, dep)): P3,
) -> ApiResult<Json<ResourceView>> {
    Ok(Json(
        svc::get_dependency(&s, &who, &zone, &id, &dep)
            .await?
            .into(),
    ))
}

#[utoipa::path(put, path = "/zones/{zone_id}/applications/{id}/dependencies/{dependency_id}", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path), ("dependency_id" = String, Path), ("when_accessing" = Option<Vec<String>>, Query)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn put_dependency(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, dep)): P3,
    q: QueryMap,
) -> ApiResult<StatusCode> {
    let when = q
        .all("when_accessing")
        .into_iter()
        .map(str::to_owned)
        .collect();
    svc::put_dependency(&s, &who, &zone, &id, &dep, when).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/zones/{zone_id}/applications/{id}/dependencies/{dependency_id}", tag = "applications",
    params(("zone_id" = String, Path), ("id" = String, Path), ("dependency_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_dependency(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, id, dep)): P3,
) -> ApiResult<StatusCode> {
    svc::delete_dependency(&s, &who, &zone, &id, &dep).await?;
    Ok(StatusCode::NO_CONTENT)
}
