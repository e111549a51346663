//! `/organizations/{organization_id}/invitations` and the token endpoints `/invitations/{token}`
//! (public view, no authentication) and `/invitations/{token}/accept`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use latchkey_domain::Timestamp;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::OrgListParams;
use super::list;
use crate::api::envelope::OrgList;
use crate::api::invitation::{
    CreateInvitation, InvitationAccepted, InvitationPublic, InvitationView,
};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::authz::Grants;
use crate::service::invitations as svc;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(delete))
        .routes(routes!(retrieve_by_token))
        .routes(routes!(accept))
}

#[utoipa::path(get, path = "/organizations/{organization_id}/invitations", tag = "invitations",
    params(("organization_id" = String, Path), OrgListParams), responses((status = 200, body = OrgList<InvitationView>)))]
async fn list(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<OrgList<InvitationView>>> {
    let (expand, perms) = list::org_expand(&q, &grants)?;
    let page = svc::list(&s, &who, &org, &q.page(&expand, &[])?).await?;
    let now = Timestamp::now();
    Ok(Json(OrgList::from_page(page, perms, |i| {
        InvitationView::new(i, now)
    })))
}

#[utoipa::path(post, path = "/organizations/{organization_id}/invitations", tag = "invitations",
    params(("organization_id" = String, Path)), request_body = CreateInvitation,
    responses((status = 201, body = InvitationView, description = "Carries the invitation `token` (Latchkey extension), shown once"), (status = 400, body = ErrorBody)))]
async fn create(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(org): Path<String>,
    JsonBody(body): JsonBody<CreateInvitation>,
) -> ApiResult<(StatusCode, Json<InvitationView>)> {
    let (inv, token) = svc::create(&s, &who, &org, body).await?;
    let mut view = InvitationView::new(inv, Timestamp::now());
    view.token = Some(token);
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(delete, path = "/organizations/{organization_id}/invitations/{invitation_id}", tag = "invitations",
    params(("organization_id" = String, Path), ("invitation_id" = String, Path)), responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    svc::revoke(&s, &who, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/invitations/{token}", tag = "invitations", security(()),
    params(("token" = String, Path)), responses((status = 200, body = InvitationPublic), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn retrieve_by_token(
    State(s): State<AppState>,
    ext: axum::http::Extensions,
    Path(token): Path<String>,
) -> ApiResult<Json<InvitationPublic>> {
    let ip = crate::extract::client_ip(&ext);
    if let Some(wait) = s.throttle.lookups_locked(ip).await {
        return Err(ApiError::rate_limited(
            "too many unknown invitation tokens from this address; try again later",
            wait,
        ));
    }
    let (inv, org) = match svc::by_token(&s, &token).await {
        Ok(found) => found,
        Err(e) => {
            if e.status == StatusCode::NOT_FOUND {
                s.throttle.lookup_missed(ip).await;
            }
            return Err(e);
        }
    };
    let now = Timestamp::now();
    Ok(Json(InvitationPublic {
        created_by_name: svc::inviter_name(&s, &inv, &org).await,
        status: inv.effective_status(now).to_owned(),
        email: inv.email,
        expires_at: inv.expires_at,
        organization_name: org.name,
        role: inv.role,
    }))
}

#[utoipa::path(post, path = "/invitations/{token}/accept", tag = "invitations",
    params(("token" = String, Path)), responses((status = 200, body = InvitationAccepted), (status = 403, body = ErrorBody, description = "not the invited person"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn accept(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(token): Path<String>,
) -> ApiResult<Json<InvitationAccepted>> {
    let (org, user) = svc::accept(&s, &who, &token).await?;
    Ok(Json(InvitationAccepted {
        organization_id: org.id.into_string(),
        organization_name: org.name,
        success: true,
        user_id: Some(user.into_string()),
    }))
}
