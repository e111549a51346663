//! Who a bearer token names. Zone-issued user access tokens (`zone_user`) are verified here for
//! both their uses: the policy bundle (any zone's user) and the management API (`person`: a
//! user of an organization's platform zone whose token's audience is the management API —
//! the server's public URL — with a live token session; their organization role is read on every
//! request, so removing a member or revoking the session takes effect at once).

use std::sync::Arc;

use latchkey_domain::Timestamp;
use latchkey_domain::id::{OrganizationId, SessionId};
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::identity::{Status, User};
use latchkey_oauth::zones::ZoneEntry;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A verified, unexpired user access token of an active zone user.
pub struct ZoneUser {
    pub zone: Arc<ZoneEntry>,
    pub user: Arc<User>,
    pub claims: Value,
}

/// Whether `token` looks like a compact JWS (and so cannot be an API key or a service-account
/// token).
pub fn is_jws(token: &str) -> bool {
    token.split('.').count() == 3
}

/// The zone user behind a zone-issued user access token, or `None`.
pub async fn zone_user(state: &AppState, token: &str) -> ApiResult<Option<ZoneUser>> {
    let Some(unverified) = latchkey_crypto::jws::Compact::parse(token) else {
        return Ok(None);
    };
    let Some(zone_id) = unverified
        .claims
        .get("iss")
        .and_then(Value::as_str)
        .and_then(|iss| zone_of_issuer(state, iss))
    else {
        return Ok(None);
    };
    let Ok(zone) = state.zone(&zone_id).await else {
        return Ok(None);
    };
    let Some(claims) =
        latchkey_oauth::grants::verify_zone_token(&state.services, &zone, token).await
    else {
        return Ok(None);
    };
    if claims.get("sub_profile").and_then(Value::as_str) != Some("user") {
        return Ok(None);
    }
    let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
        return Ok(None);
    };
    let user = latchkey_oauth::decide::user_by_identifier(&state.services, &zone, sub)
        .await
        .map_err(|_| ApiError::internal())?
        .filter(|u| u.status == "active");
    Ok(user.map(|user| ZoneUser { zone, user, claims }))
}

/// The zone id an issuer names, if it is this server's issuer for that zone.
fn zone_of_issuer(state: &AppState, iss: &str) -> Option<String> {
    let path_mode = format!("{}/z/", state.public_url);
    let id = match iss.strip_prefix(&path_mode) {
        Some(rest) => rest.to_owned(),
        None => {
            let url = url::Url::parse(iss).ok()?;
            url.host_str()?.split('.').next()?.to_owned()
        }
    };
    (!id.is_empty() && state.zone_issuer(&id) == iss).then_some(id)
}

/// The person behind a management bearer that is a JWS, or `None` when it is not one.
pub async fn person(state: &AppState, token: &str) -> ApiResult<Option<Principal>> {
    let Some(found) = zone_user(state, token).await? else {
        return Ok(None);
    };
    let zone = &found.zone.zone;
    let org = state.store.get_organization(&zone.organization_id).await?;
    let is_platform_zone = org.as_ref().is_some_and(|o| o.zone_id == zone.id);
    if !is_platform_zone
        || !audience_includes(&found.claims, &state.public_url)
        || !session_live(state, &found).await?
    {
        return Ok(None);
    }
    let org_id: OrganizationId = zone.organization_id.clone();
    let role = state
        .store
        .get_org_user(&org_id, &found.user.id)
        .await?
        .map(|m| m.role);
    Ok(Some(Principal::User {
        organization_id: org_id,
        user_id: found.user.id.clone(),
        email: found.user.email.clone(),
        role,
    }))
}

fn audience_includes(claims: &Value, audience: &str) -> bool {
    match claims.get("aud") {
        Some(Value::String(a)) => a == audience,
        Some(Value::Array(all)) => all.iter().any(|a| a.as_str() == Some(audience)),
        _ => false,
    }
}

/// The token's session (`sid`) is still active: signing out or revoking the session ends the
/// management access of every token minted in it.
async fn session_live(state: &AppState, found: &ZoneUser) -> ApiResult<bool> {
    let Some(sid) = found.claims.get("sid").and_then(Value::as_str) else {
        return Ok(false);
    };
    let session = state
        .store
        .get_session(&found.zone.zone.id, &SessionId::new(sid))
        .await?;
    let now = Timestamp::now();
    Ok(session.is_some_and(|s| s.status == Status::Active && s.expires_at.is_none_or(|e| e > now)))
}
