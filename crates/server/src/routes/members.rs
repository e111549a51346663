//! `/organizations/{organization_id}/users[/{user_id}]` (organization members, a Latchkey
//! extension with the org list conventions) and `/zones/{zone_id}/members[/{organization_user_id}]`
//! (zone members, spec §3.18).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::docs::OrgListParams;
use super::list;
use crate::api::envelope::{OrgList, ZoneList};
use crate::api::member::{
    AddZoneMember, OrgUserView, UpdateOrgUser, UpdateZoneMember, ZoneMemberView,
};
use crate::error::{ApiResult, ErrorBody};
use crate::extract::{Auth, JsonBody, QueryMap};
use crate::service::authz::Grants;
use crate::service::members as svc;
use crate::state::AppState;

type P2 = Path<(String, String)>;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(get_user, update_user, remove_user))
        .routes(routes!(list_zone_members, add_zone_member))
        .routes(routes!(
            get_zone_member,
            update_zone_member,
            remove_zone_member
        ))
}

fn perms(q: &QueryMap, grants: &Grants) -> ApiResult<Option<crate::api::Permissions>> {
    Ok(list::org_expand(q, grants)?.1)
}

#[utoipa::path(get, path = "/organizations/{organization_id}/users", tag = "organization-users",
    params(("organization_id" = String, Path), OrgListParams),
    responses((status = 200, body = OrgList<OrgUserView>), (status = 403, body = ErrorBody)))]
async fn list_users(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path(org): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<OrgList<OrgUserView>>> {
    let expand = q.expand(list::ORG_EXPAND)?;
    let (org, page) = svc::list_org_users(&s, &who, &org, &q.page(&expand, &[])?).await?;
    Ok(Json(OrgList::from_page(page, perms(&q, &grants)?, |u| {
        OrgUserView::new(u, &org.zone_id, None)
    })))
}

#[utoipa::path(get, path = "/organizations/{organization_id}/users/{user_id}", tag = "organization-users",
    params(("organization_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 200, body = OrgUserView), (status = 404, body = ErrorBody)))]
async fn get_user(
    State(s): State<AppState>,
    Auth(who): Auth,
    grants: Grants,
    Path((org, id)): P2,
    q: QueryMap,
) -> ApiResult<Json<OrgUserView>> {
    let (org, user) = svc::get_org_user(&s, &who, &org, &id).await?;
    Ok(Json(OrgUserView::new(
        user,
        &org.zone_id,
        perms(&q, &grants)?,
    )))
}

#[utoipa::path(patch, path = "/organizations/{organization_id}/users/{user_id}", tag = "organization-users",
    params(("organization_id" = String, Path), ("user_id" = String, Path)), request_body = UpdateOrgUser,
    responses((status = 200, body = OrgUserView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`last_admin`: the organization's last org_admin")))]
async fn update_user(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, id)): P2,
    JsonBody(body): JsonBody<UpdateOrgUser>,
) -> ApiResult<Json<OrgUserView>> {
    let (org, user) = svc::set_org_role(&s, &who, &org, &id, body.role.role()).await?;
    Ok(Json(OrgUserView::new(user, &org.zone_id, None)))
}

#[utoipa::path(delete, path = "/organizations/{organization_id}/users/{user_id}", tag = "organization-users",
    params(("organization_id" = String, Path), ("user_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "`last_admin`: the organization's last org_admin")))]
async fn remove_user(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((org, id)): P2,
) -> ApiResult<StatusCode> {
    svc::remove_org_user(&s, &who, &org, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/zones/{zone_id}/members", tag = "zone-members",
    params(("zone_id" = String, Path)), responses((status = 200, body = ZoneList<ZoneMemberView>), (status = 404, body = ErrorBody)))]
async fn list_zone_members(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    q: QueryMap,
) -> ApiResult<Json<ZoneList<ZoneMemberView>>> {
    let page = list::page(&q, &[])?;
    Ok(Json(ZoneList::from_page(
        svc::list_zone_members(&s, &who, &zone, &page).await?,
        ZoneMemberView::from,
    )))
}

#[utoipa::path(post, path = "/zones/{zone_id}/members", tag = "zone-members",
    params(("zone_id" = String, Path)), request_body = AddZoneMember,
    responses((status = 201, body = ZoneMemberView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_zone_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path(zone): Path<String>,
    JsonBody(body): JsonBody<AddZoneMember>,
) -> ApiResult<(StatusCode, Json<ZoneMemberView>)> {
    let m = svc::add_zone_member(
        &s,
        &who,
        &zone,
        &body.organization_user_id,
        body.role.role(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(m.into())))
}

#[utoipa::path(get, path = "/zones/{zone_id}/members/{organization_user_id}", tag = "zone-members",
    params(("zone_id" = String, Path), ("organization_user_id" = String, Path)),
    responses((status = 200, body = ZoneMemberView), (status = 404, body = ErrorBody)))]
async fn get_zone_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, user)): P2,
) -> ApiResult<Json<ZoneMemberView>> {
    Ok(Json(
        svc::get_zone_member(&s, &who, &zone, &user).await?.into(),
    ))
}

#[utoipa::path(patch, path = "/zones/{zone_id}/members/{organization_user_id}", tag = "zone-members",
    params(("zone_id" = String, Path), ("organization_user_id" = String, Path)), request_body = UpdateZoneMember,
    responses((status = 200, body = ZoneMemberView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_zone_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, user)): P2,
    JsonBody(body): JsonBody<UpdateZoneMember>,
) -> ApiResult<Json<ZoneMemberView>> {
    let m = svc::set_zone_role(&s, &who, &zone, &user, body.role.role()).await?;
    Ok(Json(m.into()))
}

#[utoipa::path(delete, path = "/zones/{zone_id}/members/{organization_user_id}", tag = "zone-members",
    params(("zone_id" = String, Path), ("organization_user_id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn remove_zone_member(
    State(s): State<AppState>,
    Auth(who): Auth,
    Path((zone, user)): P2,
) -> ApiResult<StatusCode> {
    svc::remove_zone_member(&s, &who, &zone, &user).await?;
    Ok(StatusCode::NO_CONTENT)
}
