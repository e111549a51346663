//! `/organizations`: list, create, retrieve (by id or label), update.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::OrgListParams;
use super::list;
use crate::api::envelope::OrgList;
use crate::api::organization::{CreateOrganization, OrganizationView, UpdateOrganization};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::authz::Grants;
use crate::service::{access, organizations};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(retrieve, update))
}

#[utoipa::path(get, path = "/organizations", tag = "organizations", params(OrgListParams),
    responses((status = 200, body = OrgList<OrganizationView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list(
    State(state): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    q: QueryMap,
) -> ApiResult<Json<OrgList<OrganizationView>>> {
    let (expand, perms) = list::org_expand(&q, &grants)?;
    let page = organizations::list(&state, &who, &q.page(&expand, &[])?).await?;
    Ok(Json(OrgList::from_page(page, perms, |o| {
        OrganizationView::new(o, None)
    })))
}

#[utoipa::path(post, path = "/organizations", tag = "organizations", request_body = CreateOrganization,
    responses((status = 201, body = OrganizationView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn create(
    State(state): State<AppState>,
    Auth(who): Auth,
    JsonBody(body): JsonBody<CreateOrganization>,
) -> ApiResult<(StatusCode, Json<OrganizationView>)> {
    let org = organizations::create(&state, &who, body).await?;
    Ok((StatusCode::CREATED, Json(OrganizationView::new(org, None))))
}

#[utoipa::path(get, path = "/organizations/{organization_id}", tag = "organizations",
    params(("organization_id" = String, Path, description = "Organization id or label")),
    responses((status = 200, body = OrganizationView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(state): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<OrganizationView>> {
    let (_, perms) = list::org_expand(&q, &grants)?;
    let org = access::organization(&state, &who, &org).await?;
    Ok(Json(OrganizationView::new(org, perms)))
}

#[utoipa::path(patch, path = "/organizations/{organization_id}", tag = "organizations", request_body = UpdateOrganization,
    params(("organization_id" = String, Path, description = "Organization id or label")),
    responses((status = 200, body = OrganizationView), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    Auth(who): Auth,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<UpdateOrganization>,
) -> ApiResult<Json<OrganizationView>> {
    let org = organizations::update(&state, &who, &org, body).await?;
    Ok(Json(OrganizationView::new(org, None)))
}
