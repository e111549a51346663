//! The organization SSO connection (spec §3.1.18–3.1.21): enable, retrieve, update, disable.
//! Every change is mirrored, in the same store transaction, onto a platform-owned provider of the
//! organization's platform zone, which becomes the zone's `user_identity_provider_id`: the zone's
//! sign-in then goes through the identity provider (`latchkey_oauth::federation::signin`, where
//! a first sign-in needs a pending invitation). Field rules are the providers' (`providers.rs`)
//! plus: endpoints and the identifier must be https (http only on a loopback or private address
//! when the server allows private fetches), and `authorization_parameters` may not name a
//! parameter of the protocol itself. The client secret is sealed under the provider's context.

use latchkey_domain::id::ProviderId;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::sso::{SsoConnection, SsoOAuth2, SsoOpenId, SsoProtocols};
use latchkey_domain::{Patch, StoreError, Timestamp};

use super::providers::{check_oauth2, check_openid, client_id, seal_client_secret};
use super::{access, new_id, required, validate};
use crate::api::sso::{
    EnableSsoConnection, SsoOAuth2Patch, SsoOpenIdPatch, SsoProtocolsPatch, UpdateSsoConnection,
};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const ALREADY: &str = "SSO is already enabled for this organization";

/// Query parameters of the upstream authorization request that the protocol sets itself.
const RESERVED: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "state",
    "scope",
    "nonce",
    "code_challenge",
    "code_challenge_method",
];

fn not_enabled(org: &Organization) -> ApiError {
    ApiError::not_found(format!("the SSO connection of organization `{}`", org.id))
}

async fn current(state: &AppState, org: &Organization) -> ApiResult<SsoConnection> {
    state
        .store
        .get_sso_connection(&org.id)
        .await?
        .ok_or_else(|| not_enabled(org))
}

/// The organization and its connection (404 when SSO is not enabled).
pub async fn get(
    state: &AppState,
    who: &Principal,
    org: &str,
) -> ApiResult<(Organization, SsoConnection)> {
    let org = access::organization(state, who, org).await?;
    let c = current(state, &org).await?;
    Ok((org, c))
}

fn identifier(state: &AppState, value: String) -> ApiResult<String> {
    let value = validate::identifier("identifier", value)?;
    validate::outbound_url("identifier", &value, state.fetcher.allows_private())?;
    Ok(value)
}

/// Checks the protocols with the providers' rules (on the projected provider) and the SSO ones.
fn check(state: &AppState, c: &SsoConnection, org: &Organization) -> ApiResult<()> {
    let provider = c.provider(&org.zone_id);
    let protocols = provider.protocols.unwrap_or_default();
    if let Some(o) = &protocols.oauth2 {
        check_oauth2(o)?;
    }
    if let Some(o) = &protocols.openid {
        check_openid(o)?;
    }
    let p = c.protocols.clone().unwrap_or_default();
    let o = p.oauth2.unwrap_or_default();
    let i = p.openid.unwrap_or_default();
    for (field, url) in [
        (
            "protocols.oauth2.authorization_endpoint",
            &o.authorization_endpoint,
        ),
        ("protocols.oauth2.jwks_uri", &o.jwks_uri),
        (
            "protocols.oauth2.registration_endpoint",
            &o.registration_endpoint,
        ),
        ("protocols.oauth2.token_endpoint", &o.token_endpoint),
        ("protocols.openid.userinfo_endpoint", &i.userinfo_endpoint),
    ] {
        if let Some(u) = url {
            validate::outbound_url(field, u, state.fetcher.allows_private())?;
        }
    }
    for key in o.authorization_parameters.iter().flat_map(|m| m.keys()) {
        if RESERVED.contains(&key.as_str()) {
            return Err(ApiError::invalid_field(
                &format!("protocols.oauth2.authorization_parameters.{key}"),
                "is set by the protocol and cannot be configured",
            ));
        }
    }
    Ok(())
}

/// Maps a store conflict to 409: SSO already enabled, or the provider's identifier taken in the
/// platform zone by a customer provider.
async fn conflict(state: &AppState, org: &Organization, e: StoreError) -> ApiError {
    if !matches!(e, StoreError::Conflict(_)) {
        return e.into();
    }
    match state.store.get_sso_connection(&org.id).await {
        Ok(Some(_)) => ApiError::conflict(ALREADY),
        _ => ApiError::conflict(
            "the organization's platform zone already has a provider with this identifier",
        ),
    }
}

/// Enables SSO: 409 when it already is.
pub async fn enable(
    state: &AppState,
    who: &Principal,
    org: &str,
    body: EnableSsoConnection,
) -> ApiResult<SsoConnection> {
    let org = access::organization(state, who, org).await?;
    if state.store.get_sso_connection(&org.id).await?.is_some() {
        return Err(ApiError::conflict(ALREADY));
    }
    let Some(cid) = body.client_id else {
        return Err(ApiError::invalid_field("client_id", "is required"));
    };
    let Some(ident) = body.identifier else {
        return Err(ApiError::invalid_field("identifier", "is required"));
    };
    let now = Timestamp::now();
    let mut c = SsoConnection {
        organization_id: org.id.clone(),
        id: new_id()?,
        provider_id: ProviderId::new(new_id()?),
        identifier: identifier(state, ident)?,
        client_id: Some(client_id(cid)?),
        client_secret: None,
        protocols: body.protocols,
        created_at: now,
        updated_at: now,
    };
    check(state, &c, &org)?;
    if let Some(s) = body.client_secret {
        c.client_secret = Some(seal_client_secret(state, &org.zone_id, &c.provider_id, s)?);
    }
    let provider = c.provider(&org.zone_id);
    if let Err(e) = state.store.enable_sso_connection(&c, provider).await {
        return Err(conflict(state, &org, e).await);
    }
    state.zone_changed(&org.zone_id);
    Ok(c)
}

fn patch_oauth2(o: Option<SsoOAuth2>, p: SsoOAuth2Patch) -> SsoOAuth2 {
    let o = o.unwrap_or_default();
    SsoOAuth2 {
        authorization_endpoint: p.authorization_endpoint.apply(o.authorization_endpoint),
        authorization_parameters: p.authorization_parameters.apply(o.authorization_parameters),
        code_challenge_methods_supported: p
            .code_challenge_methods_supported
            .apply(o.code_challenge_methods_supported),
        jwks_uri: p.jwks_uri.apply(o.jwks_uri),
        registration_endpoint: p.registration_endpoint.apply(o.registration_endpoint),
        scopes_supported: p.scopes_supported.apply(o.scopes_supported),
        token_endpoint: p.token_endpoint.apply(o.token_endpoint),
    }
}

fn patch_openid(o: Option<SsoOpenId>, p: SsoOpenIdPatch) -> SsoOpenId {
    let o = o.unwrap_or_default();
    SsoOpenId {
        scopes: p.scopes.apply(o.scopes),
        user_identifier_claim: p.user_identifier_claim.apply(o.user_identifier_claim),
        userinfo_endpoint: p.userinfo_endpoint.apply(o.userinfo_endpoint),
    }
}

fn patch_protocols(
    current: Option<SsoProtocols>,
    patch: Patch<SsoProtocolsPatch>,
) -> Option<SsoProtocols> {
    let patch = match patch {
        Patch::Absent => return current,
        Patch::Null => return None,
        Patch::Value(p) => p,
    };
    let current = current.unwrap_or_default();
    let oauth2 = match patch.oauth2 {
        Patch::Absent => current.oauth2,
        Patch::Null => None,
        Patch::Value(p) => Some(patch_oauth2(current.oauth2, p)),
    };
    let openid = match patch.openid {
        Patch::Absent => current.openid,
        Patch::Null => None,
        Patch::Value(p) => Some(patch_openid(current.openid, p)),
    };
    (oauth2.is_some() || openid.is_some()).then_some(SsoProtocols { oauth2, openid })
}

/// Applies a tri-state patch (404 when SSO is not enabled).
pub async fn update(
    state: &AppState,
    who: &Principal,
    org: &str,
    body: UpdateSsoConnection,
) -> ApiResult<SsoConnection> {
    let (org, mut c) = get(state, who, org).await?;
    if let Some(i) = required("identifier", body.identifier)? {
        c.identifier = identifier(state, i)?;
    }
    c.client_id = body.client_id.try_map(client_id)?.apply(c.client_id);
    c.protocols = patch_protocols(c.protocols, body.protocols);
    check(state, &c, &org)?;
    c.client_secret = match body.client_secret {
        Patch::Absent => c.client_secret,
        Patch::Null => None,
        Patch::Value(s) => Some(seal_client_secret(state, &org.zone_id, &c.provider_id, s)?),
    };
    c.updated_at = Timestamp::now();
    let provider = c.provider(&org.zone_id);
    if let Err(e) = state.store.update_sso_connection(&c, &provider).await {
        return Err(conflict(state, &org, e).await);
    }
    state.zone_changed(&org.zone_id);
    Ok(c)
}

/// Disables SSO (404 when it is not enabled): the platform zone signs people in with its own
/// accounts again; users who came through the identity provider keep their records.
pub async fn disable(state: &AppState, who: &Principal, org: &str) -> ApiResult<()> {
    let org = access::organization(state, who, org).await?;
    if !state.store.disable_sso_connection(&org.id).await? {
        return Err(not_enabled(&org));
    }
    state.zone_changed(&org.zone_id);
    Ok(())
}
