//! `/organizations/{organization_id}/sso-connection`: enable (201), retrieve, update, disable
//! (204) the organization's SSO connection. The rules are `service::sso`'s.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_domain::model::sso::SsoConnection;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::sso::{EnableSsoConnection, SsoConnectionView, UpdateSsoConnection};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::authz::Grants;
use crate::service::{access, sso};
use crate::state::AppState;

const EXPAND: &[&str] = &["permissions"];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(enable, retrieve, update, disable))
}

/// The response, with the caller's permissions when `expand=permissions`.
fn view(grants: &Grants, q: &QueryMap, c: SsoConnection) -> ApiResult<Json<SsoConnectionView>> {
    let perms = q
        .expand(EXPAND)?
        .iter()
        .any(|e| e == "permissions")
        .then(|| access::permissions(grants, None));
    Ok(Json(SsoConnectionView::new(c, perms)))
}

#[utoipa::path(post, path = "/organizations/{organization_id}/sso-connection", tag = "organizations",
    request_body = EnableSsoConnection,
    params(("organization_id" = String, Path, description = "Organization id or label")),
    responses((status = 201, body = SsoConnectionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "SSO is already enabled")))]
async fn enable(
    State(state): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
    JsonBody(body): JsonBody<EnableSsoConnection>,
) -> ApiResult<(StatusCode, Json<SsoConnectionView>)> {
    q.expand(EXPAND)?;
    let c = sso::enable(&state, &who, &org, body).await?;
    Ok((StatusCode::CREATED, view(&grants, &q, c)?))
}

#[utoipa::path(get, path = "/organizations/{organization_id}/sso-connection", tag = "organizations",
    params(("organization_id" = String, Path, description = "Organization id or label"),
        ("expand" = Option<String>, Query, description = "`permissions`")),
    responses((status = 200, body = SsoConnectionView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such organization, or SSO is not enabled")))]
async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<SsoConnectionView>> {
    q.expand(EXPAND)?;
    let (_, c) = sso::get(&state, &who, &org).await?;
    view(&grants, &q, c)
}

#[utoipa::path(patch, path = "/organizations/{organization_id}/sso-connection", tag = "organizations",
    request_body = UpdateSsoConnection,
    params(("organization_id" = String, Path, description = "Organization id or label")),
    responses((status = 200, body = SsoConnectionView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such organization, or SSO is not enabled")))]
async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
    JsonBody(body): JsonBody<UpdateSsoConnection>,
) -> ApiResult<Json<SsoConnectionView>> {
    q.expand(EXPAND)?;
    let c = sso::update(&state, &who, &org, body).await?;
    view(&grants, &q, c)
}

#[utoipa::path(delete, path = "/organizations/{organization_id}/sso-connection", tag = "organizations",
    params(("organization_id" = String, Path, description = "Organization id or label")),
    responses((status = 204), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such organization, or SSO is not enabled")))]
async fn disable(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(org): Path<String>,
) -> ApiResult<StatusCode> {
    sso::disable(&state, &who, &org).await?;
    Ok(StatusCode::NO_CONTENT)
}
