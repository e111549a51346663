//! Organization members (list, change a role, remove; the last `org_admin` stays) and zone
//! members (add, list, retrieve, change a role, remove). Who may call which is the
//! authorization table's business (`authz`); these check only that the objects exist and belong
//! together.

use axum::http::StatusCode;
use latchkey_domain::id::UserId;
use latchkey_domain::model::access::{OrgRole, Principal, ZoneRole};
use latchkey_domain::model::member::{MemberChange, OrgUser, ZoneMember};
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::zone::Zone;
use latchkey_domain::{Page, PageRequest, StoreError, Timestamp};

use super::{access, new_id};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn last_admin() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "last_admin",
        "the organization's last org_admin cannot be removed or demoted; make someone else org_admin first",
    )
}

fn member_missing(id: &str) -> ApiError {
    ApiError::not_found(format!("organization user `{id}`"))
}

pub async fn list_org_users(
    state: &AppState,
    who: &Principal,
    org: &str,
    page: &PageRequest,
) -> ApiResult<(Organization, Page<OrgUser>)> {
    let org = access::organization(state, who, org).await?;
    let page = state.store.list_org_users(&org.id, page).await?;
    Ok((org, page))
}

pub async fn get_org_user(
    state: &AppState,
    who: &Principal,
    org: &str,
    id: &str,
) -> ApiResult<(Organization, OrgUser)> {
    let org = access::organization(state, who, org).await?;
    let user = state
        .store
        .get_org_user(&org.id, &UserId::new(id))
        .await?
        .ok_or_else(|| member_missing(id))?;
    Ok((org, user))
}

pub async fn set_org_role(
    state: &AppState,
    who: &Principal,
    org: &str,
    id: &str,
    role: OrgRole,
) -> ApiResult<(Organization, OrgUser)> {
    let org = access::organization(state, who, org).await?;
    let change = state
        .store
        .set_org_role(&org.id, &UserId::new(id), role, Timestamp::now())
        .await?;
    settled(change, id)?;
    get_org_user(state, who, org.id.as_str(), id).await
}

pub async fn remove_org_user(
    state: &AppState,
    who: &Principal,
    org: &str,
    id: &str,
) -> ApiResult<()> {
    let org = access::organization(state, who, org).await?;
    let change = state
        .store
        .remove_org_user(&org.id, &UserId::new(id))
        .await?;
    settled(change, id)
}

fn settled(change: MemberChange, id: &str) -> ApiResult<()> {
    match change {
        MemberChange::Done => Ok(()),
        MemberChange::NotFound => Err(member_missing(id)),
        MemberChange::LastAdmin => Err(last_admin()),
    }
}

fn zone_member_missing(id: &str) -> ApiError {
    ApiError::not_found(format!("zone member `{id}`"))
}

pub async fn add_zone_member(
    state: &AppState,
    who: &Principal,
    zone: &str,
    user: &str,
    role: ZoneRole,
) -> ApiResult<ZoneMember> {
    let zone: Zone = access::zone(state, who, zone).await?;
    if user.is_empty() || user.len() > 64 {
        return Err(ApiError::invalid_field(
            "organization_user_id",
            "must be the id of a member of the organization (1–64 characters)",
        ));
    }
    let user_id = UserId::new(user);
    if state
        .store
        .get_org_user(&zone.organization_id, &user_id)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid_field(
            "organization_user_id",
            format!("`{user}` is not a member of the zone's organization"),
        ));
    }
    let now = Timestamp::now();
    let member = ZoneMember {
        zone_id: zone.id,
        id: new_id()?,
        organization_id: zone.organization_id,
        organization_user_id: user_id,
        role,
        created_at: now,
        updated_at: now,
    };
    match state.store.add_zone_member(&member).await {
        Err(StoreError::Conflict(_)) => Err(ApiError::conflict(format!(
            "`{user}` is already a member of this zone; change their role instead"
        ))),
        other => other.map(|()| member).map_err(ApiError::from),
    }
}

pub async fn list_zone_members(
    state: &AppState,
    who: &Principal,
    zone: &str,
    page: &PageRequest,
) -> ApiResult<Page<ZoneMember>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_zone_members(&zone.id, page).await?)
}

pub async fn get_zone_member(
    state: &AppState,
    who: &Principal,
    zone: &str,
    user: &str,
) -> ApiResult<ZoneMember> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_zone_member(&zone.id, &UserId::new(user))
        .await?
        .ok_or_else(|| zone_member_missing(user))
}

pub async fn set_zone_role(
    state: &AppState,
    who: &Principal,
    zone: &str,
    user: &str,
    role: ZoneRole,
) -> ApiResult<ZoneMember> {
    let found = access::zone(state, who, zone).await?;
    let changed = state
        .store
        .set_zone_role(&found.id, &UserId::new(user), role, Timestamp::now())
        .await?;
    if !changed {
        return Err(zone_member_missing(user));
    }
    get_zone_member(state, who, zone, user).await
}

pub async fn remove_zone_member(
    state: &AppState,
    who: &Principal,
    zone: &str,
    user: &str,
) -> ApiResult<()> {
    let zone = access::zone(state, who, zone).await?;
    if state
        .store
        .remove_zone_member(&zone.id, &UserId::new(user))
        .await?
    {
        Ok(())
    } else {
        Err(zone_member_missing(user))
    }
}
