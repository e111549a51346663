//! `/organizations/{organization_id}/service-accounts` and their `/credentials`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::OrgListParams;
use super::list;
use crate::api::envelope::OrgList;
use crate::api::service_account::{
    CreateNamed, CredentialCreated, CredentialView, ServiceAccountView, UpdateNamed,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::authz::Grants;
use crate::service::service_accounts as svc;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(retrieve, update, delete))
        .routes(routes!(list_credentials, create_credential))
        .routes(routes!(
            retrieve_credential,
            update_credential,
            delete_credential
        ))
}

fn perms(q: &QueryMap, grants: &Grants) -> ApiResult<Option<crate::api::Permissions>> {
    Ok(list::org_expand(q, grants)?.1)
}

#[utoipa::path(get, path = "/organizations/{organization_id}/service-accounts", tag = "service-accounts",
    params(("organization_id" = String, Path), OrgListParams),
    responses((status = 200, body = OrgList<ServiceAccountView>), (status = 403, body = ErrorBody)))]
async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<OrgList<ServiceAccountView>>> {
    let expand = q.expand(list::ORG_EXPAND)?;
    let page = svc::list(&s, &who, &org, &q.page(&expand, &[])?).await?;
    Ok(Json(OrgList::from_page(page, perms(&q, &grants)?, |sa| {
        ServiceAccountView::new(sa, None)
    })))
}

#[utoipa::path(post, path = "/organizations/{organization_id}/service-accounts", tag = "service-accounts",
    params(("organization_id" = String, Path)), request_body = CreateNamed,
    responses((status = 201, body = ServiceAccountView), (status = 400, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<CreateNamed>,
) -> ApiResult<(StatusCode, Json<ServiceAccountView>)> {
    let sa = svc::create(&s, &who, &org, body).await?;
    Ok((StatusCode::CREATED, Json(ServiceAccountView::new(sa, None))))
}

#[utoipa::path(get, path = "/organizations/{organization_id}/service-accounts/{service_account_id}", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path)),
    responses((status = 200, body = ServiceAccountView), (status = 404, body = ErrorBody)))]
async fn retrieve(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path((org, id)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<ServiceAccountView>> {
    let (_, sa) = svc::get(&s, &who, &org, &id).await?;
    Ok(Json(ServiceAccountView::new(sa, perms(&q, &grants)?)))
}

#[utoipa::path(patch, path = "/organizations/{organization_id}/service-accounts/{service_account_id}", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path)), request_body = UpdateNamed,
    responses((status = 200, body = ServiceAccountView), (status = 404, body = ErrorBody)))]
async fn update(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, id)): Path<(String, String)>,
    JsonBody(body): JsonBody<UpdateNamed>,
) -> ApiResult<Json<ServiceAccountView>> {
    Ok(Json(ServiceAccountView::new(
        svc::update(&s, &who, &org, &id, body).await?,
        None,
    )))
}

#[utoipa::path(delete, path = "/organizations/{organization_id}/service-accounts/{service_account_id}", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc::delete(&s, &who, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path), OrgListParams),
    responses((status = 200, body = OrgList<CredentialView>), (status = 404, body = ErrorBody)))]
async fn list_credentials(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path((org, sa)): Path<(String, String)>,
    q: QueryMap,
) -> ApiResult<Json<OrgList<CredentialView>>> {
    let expand = q.expand(list::ORG_EXPAND)?;
    let page = svc::list_credentials(&s, &who, &org, &sa, &q.page(&expand, &[])?).await?;
    Ok(Json(OrgList::from_page(page, perms(&q, &grants)?, |c| {
        CredentialView::new(c, None)
    })))
}

#[utoipa::path(post, path = "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path)), request_body = CreateNamed,
    responses((status = 201, body = CredentialCreated, description = "The only response that carries `client_secret`"), (status = 404, body = ErrorBody)))]
async fn create_credential(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, sa)): Path<(String, String)>,
    JsonBody(body): JsonBody<CreateNamed>,
) -> ApiResult<(StatusCode, Json<CredentialCreated>)> {
    let (c, secret) = svc::create_credential(&s, &who, &org, &sa, body).await?;
    let created = CredentialCreated {
        id: c.id.into_string(),
        client_id: c.client_id,
        client_secret: secret,
        created_at: c.created_at,
        name: c.name,
        description: c.description,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(get, path = "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path), ("credential_id" = String, Path)),
    responses((status = 200, body = CredentialView), (status = 404, body = ErrorBody)))]
async fn retrieve_credential(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path((org, sa, id)): Path<(String, String, String)>,
    q: QueryMap,
) -> ApiResult<Json<CredentialView>> {
    let c = svc::get_credential(&s, &who, &org, &sa, &id).await?;
    Ok(Json(CredentialView::new(c, perms(&q, &grants)?)))
}

#[utoipa::path(patch, path = "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path), ("credential_id" = String, Path)),
    request_body = UpdateNamed, responses((status = 200, body = CredentialView), (status = 404, body = ErrorBody)))]
async fn update_credential(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, sa, id)): Path<(String, String, String)>,
    JsonBody(body): JsonBody<UpdateNamed>,
) -> ApiResult<Json<CredentialView>> {
    let c = svc::update_credential(&s, &who, (&org, &sa, &id), body).await?;
    Ok(Json(CredentialView::new(c, None)))
}

#[utoipa::path(delete, path = "/organizations/{organization_id}/service-accounts/{service_account_id}/credentials/{credential_id}", tag = "service-accounts",
    params(("organization_id" = String, Path), ("service_account_id" = String, Path), ("credential_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_credential(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, sa, id)): Path<(String, String, String)>,
) -> ApiResult<StatusCode> {
    svc::delete_credential(&s, &who, &org, &sa, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
