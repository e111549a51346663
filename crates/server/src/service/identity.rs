//! Identity records through the management API: users and user agents (read-only), sessions and
//! delegated grants (read, revoke, delete). Revoking or deleting takes effect at once because the
//! token flows read these rows.

use latchkey_domain::id::{GrantId, SessionId, UserAgentId, UserId};
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::identity::{Grant, Session, User, UserAgent};
use latchkey_domain::store::{GrantFilter, SessionFilter, UserFilter};
use latchkey_domain::{Page, PageRequest, Timestamp};

use super::access;
use crate::api::identity::RevokeBody;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

fn missing(kind: &str, id: &str) -> ApiError {
    ApiError::not_found(format!("{kind} `{id}`"))
}

fn check_revoke(body: &RevokeBody) -> ApiResult<()> {
    if body.status != "revoked" {
        return Err(ApiError::invalid_field(
            "status",
            "the only allowed value is `revoked`",
        ));
    }
    Ok(())
}

pub async fn list_users(
    state: &AppState,
    who: &Principal,
    zone: &str,
    f: &UserFilter,
    page: &PageRequest,
) -> ApiResult<Page<User>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_users(&zone.id, f, page).await?)
}

pub async fn get_user(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<User> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_user(&zone.id, &UserId::new(id))
        .await?
        .ok_or_else(|| missing("user", id))
}

/// `(session_count, grant_count)` of a user.
pub async fn user_counts(state: &AppState, user: &User) -> ApiResult<(u64, u64)> {
    Ok(state.store.user_counts(&user.zone_id, &user.id).await?)
}

pub async fn list_user_agents(
    state: &AppState,
    who: &Principal,
    zone: &str,
    page: &PageRequest,
) -> ApiResult<Page<UserAgent>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_user_agents(&zone.id, page).await?)
}

pub async fn get_user_agent(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<UserAgent> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_user_agent(&zone.id, &UserAgentId::new(id))
        .await?
        .ok_or_else(|| missing("user agent", id))
}

pub async fn list_sessions(
    state: &AppState,
    who: &Principal,
    zone: &str,
    f: &SessionFilter,
    page: &PageRequest,
) -> ApiResult<Page<Session>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state
        .store
        .list_sessions(&zone.id, f, Timestamp::now(), page)
        .await?)
}

pub async fn get_session(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<Session> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_session(&zone.id, &SessionId::new(id))
        .await?
        .ok_or_else(|| missing("session", id))
}

/// Deletes a registered client (Latchkey extension): its sessions, consents and refresh tokens
/// go with it.
pub async fn delete_user_agent(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<()> {
    let agent = get_user_agent(state, who, zone, id).await?;
    state
        .store
        .delete_user_agent(&agent.zone_id, &agent.id)
        .await?;
    Ok(())
}

pub async fn revoke_session(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: &RevokeBody,
) -> ApiResult<Session> {
    check_revoke(body)?;
    let s = get_session(state, who, zone, id).await?;
    state
        .store
        .revoke_session(&s.zone_id, &s.id, Timestamp::now())
        .await?;
    get_session(state, who, zone, id).await
}

pub async fn delete_session(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<()> {
    let s = get_session(state, who, zone, id).await?;
    state.store.delete_session(&s.zone_id, &s.id).await?;
    Ok(())
}

pub async fn list_grants(
    state: &AppState,
    who: &Principal,
    zone: &str,
    f: &GrantFilter,
    page: &PageRequest,
) -> ApiResult<Page<Grant>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state
        .store
        .list_grants(&zone.id, f, Timestamp::now(), page)
        .await?)
}

pub async fn get_grant(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<Grant> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_grant(&zone.id, &GrantId::new(id))
        .await?
        .ok_or_else(|| missing("delegated grant", id))
}

pub async fn revoke_grant(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: &RevokeBody,
) -> ApiResult<Grant> {
    check_revoke(body)?;
    let g = get_grant(state, who, zone, id).await?;
    state
        .store
        .revoke_grant(&g.zone_id, &g.id, Timestamp::now())
        .await?;
    get_grant(state, who, zone, id).await
}

pub async fn delete_grant(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<()> {
    let g = get_grant(state, who, zone, id).await?;
    state.store.delete_grant(&g.zone_id, &g.id).await?;
    Ok(())
}
