//! The user grants at the token endpoint: `authorization_code` (single use, PKCE S256, exact
//! redirect URI, resources bound to the code; a replayed code revokes what it issued) and
//! `refresh_token` (rotation on every use; a reused token revokes its whole family). Both mint
//! a user access token, a new refresh token and, when `openid` was asked, an ID token.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{SessionId, UserId};
use latchkey_domain::model::identity::{Session, SessionType, Status, User};
use latchkey_domain::model::login::{CodeUse, GrantData, RefreshRecord, RefreshUse};

use crate::browser::{self, BrowserClient};
use crate::client_auth::{self, server};
use crate::decide::user_token_scope;
use crate::error::OAuthError;
use crate::issued::Issued;
use crate::paths;
use crate::requests::{ClientParams, CodeParams, Targets};
use crate::services::Services;
use crate::user_token::{self, UserToken};
use crate::zones::ZoneEntry;

/// Refresh tokens live 30 days and rotate on use.
pub const REFRESH_TTL_SECONDS: i64 = 30 * 86_400;

/// The client of a user grant: confidential (authenticated) or public (`client_id` only).
pub async fn grant_client(
    s: &Services,
    zone: &ZoneEntry,
    params: &ClientParams,
) -> Result<BrowserClient, OAuthError> {
    let presents_secret = params.authorization.is_some()
        || params.client_secret.is_some()
        || params.client_assertion.is_some();
    if presents_secret {
        let c = client_auth::authenticate(s, zone, params).await?;
        return browser::client(s, zone, c.client_id())
            .await?
            .ok_or_else(OAuthError::invalid_client);
    }
    let id = params
        .client_id
        .as_deref()
        .ok_or_else(OAuthError::invalid_client)?;
    match browser::client(s, zone, id).await? {
        Some(c) if c.public => Ok(c),
        _ => Err(OAuthError::invalid_client()),
    }
}

fn pkce_ok(grant: &GrantData, verifier: Option<&str>) -> bool {
    match (&grant.code_challenge, verifier) {
        (None, None) => true,
        (Some(challenge), Some(v)) => {
            let well_formed = (43..=128).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
            well_formed
                && URL_SAFE_NO_PAD.encode(latchkey_crypto::keyed_hash::sha256(v.as_bytes()))
                    == *challenge
        }
        _ => false,
    }
}

/// `grant_type=authorization_code`.
pub async fn authorization_code(
    s: &Services,
    zone: &ZoneEntry,
    params: &ClientParams,
    redeem: &CodeParams,
    targets: &Targets,
    dpop: Option<&str>,
) -> Result<Issued, OAuthError> {
    let client = grant_client(s, zone, params).await?;
    let code = redeem
        .code
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("`code` is required"))?;
    let invalid = || {
        OAuthError::bad(
            "invalid_grant",
            "the code is invalid, expired or already used",
        )
    };
    let mut grant = match s
        .store
        .use_code(&zone.zone.id, &s.hasher.hash(code), Timestamp::now())
        .await
        .map_err(server)?
    {
        CodeUse::Fresh(g) => g,
        CodeUse::Replayed(g) => {
            if let Some(sid) = &g.session_id {
                let _ = s.store.revoke_refresh_for_session(&zone.zone.id, sid).await;
            }
            tracing::warn!(zone = %zone.zone.id, client = %g.client_id, "authorization code replayed; its tokens are revoked");
            return Err(invalid());
        }
        CodeUse::Invalid => return Err(invalid()),
    };
    if grant.client_id != client.client_id || !web_session_active(s, zone, &grant).await? {
        return Err(invalid());
    }
    if grant.redirect_uri != redeem.redirect_uri {
        return Err(OAuthError::bad(
            "invalid_grant",
            "`redirect_uri` does not match the authorization request",
        ));
    }
    if !pkce_ok(&grant, redeem.code_verifier.as_deref()) {
        return Err(OAuthError::bad(
            "invalid_grant",
            "the PKCE code verifier does not match",
        ));
    }
    // A code bound to a key at the authorization request (`dpop_jkt`) is redeemed only with a
    // proof of it (RFC 9449 §10). A public client's refresh tokens are bound to the key it
    // redeemed the code with (§5); a confidential client's are bound to its authentication.
    crate::dpop::key_held(&grant, dpop)?;
    grant.dpop_jkt = dpop.filter(|_| client.public).map(str::to_owned);
    let family = latchkey_crypto::random::id().map_err(|_| OAuthError::server_error())?;
    issue(s, zone, &client, grant, targets, Refresh::New(family), dpop).await
}

/// The refresh token a user grant answers with.
pub(crate) enum Refresh {
    /// A new family (a code or a device code redeemed).
    New(String),
    /// The token a rotation already stored (the grant's token session lives on).
    Rotated(String),
}

/// Whether the web session a code was issued from is still active (a revoked or deleted session
/// redeems nothing).
pub(crate) async fn web_session_active(
    s: &Services,
    zone: &ZoneEntry,
    grant: &GrantData,
) -> Result<bool, OAuthError> {
    let Some(id) = &grant.session_id else {
        return Ok(true);
    };
    let session = s
        .store
        .get_session(&zone.zone.id, &SessionId::new(id))
        .await
        .map_err(server)?;
    Ok(session.is_some_and(|x| x.status == Status::Active))
}

/// `grant_type=refresh_token`. What the client could correct (an unauthorized `resource`) is
/// checked before the token is spent; the rotation itself refuses a token whose sessions ended.
pub async fn refresh_token(
    s: &Services,
    zone: &ZoneEntry,
    params: &ClientParams,
    refresh_token: Option<&str>,
    targets: &Targets,
    dpop: Option<&str>,
) -> Result<Issued, OAuthError> {
    let client = grant_client(s, zone, params).await?;
    let presented =
        refresh_token.ok_or_else(|| OAuthError::invalid_request("`refresh_token` is required"))?;
    let presented_hash = s.hasher.hash(presented);
    if let Some(grant) = s
        .store
        .peek_refresh(&zone.zone.id, &presented_hash)
        .await
        .map_err(server)?
        && grant.client_id == client.client_id
    {
        audiences(s, zone, &grant, targets).await?;
        crate::dpop::key_held(&grant, dpop)?;
    }
    let next = latchkey_crypto::random::secret("lk_rt_").map_err(|_| OAuthError::server_error())?;
    let next_hash = s.hasher.hash(&next);
    let now = Timestamp::now();
    let refused = |why: &str| OAuthError::bad("invalid_grant", why.to_owned());
    match s
        .store
        .rotate_refresh(
            &zone.zone.id,
            &presented_hash,
            &next_hash,
            now.plus_seconds(REFRESH_TTL_SECONDS),
            now,
        )
        .await
        .map_err(server)?
    {
        RefreshUse::Rotated(old) if old.client_id == client.client_id => {
            // (checked before the rotation too; this one answers a race with a rebinding)
            crate::dpop::key_held(&old, dpop)?;
            issue(
                s,
                zone,
                &client,
                *old,
                targets,
                Refresh::Rotated(next),
                dpop,
            )
            .await
        }
        RefreshUse::Rotated(_) => {
            let _ = s
                .store
                .revoke_refresh(&zone.zone.id, &next_hash, &client.client_id)
                .await;
            Err(refused("the refresh token was issued to another client"))
        }
        RefreshUse::Reused => {
            tracing::warn!(zone = %zone.zone.id, client = %client.client_id, "refresh token reused; its family is revoked");
            Err(refused("the refresh token was already used; sign in again"))
        }
        RefreshUse::SessionEnded => Err(refused("the session of this refresh token has ended")),
        RefreshUse::Invalid => Err(refused("the refresh token is invalid or expired")),
    }
}

/// Mints the tokens of a user grant (access tokens bound to `dpop`'s key when given). With
/// [`Refresh::Rotated`], that refresh token was already stored by the rotation (and the grant's
/// token session lives on); otherwise a new family starts, under a new token session.
pub(crate) async fn issue(
    s: &Services,
    zone: &ZoneEntry,
    client: &BrowserClient,
    mut grant: GrantData,
    targets: &Targets,
    refresh: Refresh,
    dpop: Option<&str>,
) -> Result<Issued, OAuthError> {
    let user = active_user(s, zone, &grant).await?;
    let audiences = audiences(s, zone, &grant, targets).await?;
    grant.scope = user_token_scope(s, zone, client, &user, &audiences, grant.scope.take()).await?;
    // A rotation already extended the grant's token session in its own transaction.
    let session_id = match (&refresh, &grant.token_session_id) {
        (Refresh::Rotated(_), Some(id)) => id.clone(),
        _ => token_session(s, zone, client, &user, &grant).await?,
    };
    grant.token_session_id = Some(session_id.clone());
    let who = UserToken {
        client,
        user: &user,
        grant: &grant,
    };
    let access = user_token::access_token(s, zone, &who, &audiences, &session_id, dpop).await?;
    let refresh = match refresh {
        Refresh::Rotated(r) => r,
        Refresh::New(family) => new_refresh(s, zone, family, &grant).await?,
    };
    let wants_openid = grant
        .scope
        .as_deref()
        .is_some_and(|sc| sc.split_ascii_whitespace().any(|x| x == "openid"));
    let id_token = if wants_openid {
        Some(user_token::id_token(s, zone, &who, access.iat).await?)
    } else {
        None
    };
    s.audit.sign_in(&zone.zone, user.id.as_str(), &audiences);
    Ok(Issued {
        access_token: access.token,
        token_type: if dpop.is_some() {
            crate::dpop::TOKEN_TYPE
        } else {
            "Bearer"
        },
        expires_in: access.lifetime,
        issued_token_type: None,
        scope: grant.scope.clone(),
        refresh_token: Some(refresh),
        id_token,
        username: None,
    })
}

/// The grant's user, while it exists and is active.
async fn active_user(
    s: &Services,
    zone: &ZoneEntry,
    grant: &GrantData,
) -> Result<User, OAuthError> {
    s.store
        .get_user(&zone.zone.id, &UserId::new(&grant.user_id))
        .await
        .map_err(server)?
        .filter(|u| u.status == "active")
        .ok_or_else(|| {
            OAuthError::bad(
                "insufficient_authorization",
                "the user no longer exists or is disabled",
            )
        })
}

/// Starts a refresh-token family (or continues `family`) with a new token.
async fn new_refresh(
    s: &Services,
    zone: &ZoneEntry,
    family: String,
    grant: &GrantData,
) -> Result<String, OAuthError> {
    let token =
        latchkey_crypto::random::secret("lk_rt_").map_err(|_| OAuthError::server_error())?;
    let now = Timestamp::now();
    let record = RefreshRecord {
        token_hash: s.hasher.hash(&token),
        family_id: family,
        grant: grant.clone(),
        expires_at: now.plus_seconds(REFRESH_TTL_SECONDS),
        created_at: now,
    };
    s.store
        .insert_refresh(&zone.zone.id, &record)
        .await
        .map_err(server)?;
    Ok(token)
}

/// `aud`: the token request's resources (which must have been authorized), else the code's,
/// else the zone's default resource, else the zone's userinfo endpoint.
async fn audiences(
    s: &Services,
    zone: &ZoneEntry,
    grant: &GrantData,
    targets: &Targets,
) -> Result<Vec<String>, OAuthError> {
    let requested = &targets.resources;
    if !requested.is_empty() {
        if let Some(bad) = requested.iter().find(|r| !grant.resources.contains(r)) {
            return Err(OAuthError::bad(
                "invalid_target",
                format!("`{bad}` was not authorized for this grant"),
            ));
        }
        return Ok(requested.clone());
    }
    if !grant.resources.is_empty() {
        return Ok(grant.resources.clone());
    }
    if let Some(id) = &zone.zone.default_resource_id
        && let Some(r) = s
            .store
            .get_resource(&zone.zone.id, &latchkey_domain::id::ResourceId::new(id))
            .await
            .map_err(server)?
    {
        return Ok(vec![r.identifier]);
    }
    Ok(vec![zone.url(paths::USERINFO)])
}

/// The token session of a grant: the one a rotated refresh token was issued under (kept alive
/// as long as the refresh token), or a new one recorded under the web session that signed in.
async fn token_session(
    s: &Services,
    zone: &ZoneEntry,
    client: &BrowserClient,
    user: &User,
    grant: &GrantData,
) -> Result<String, OAuthError> {
    let now = Timestamp::now();
    let expires = now.plus_seconds(REFRESH_TTL_SECONDS);
    if let Some(id) = &grant.token_session_id {
        s.store
            .extend_session(&zone.zone.id, id, expires, now)
            .await
            .map_err(server)?;
        return Ok(id.clone());
    }
    let session = Session {
        zone_id: zone.zone.id.clone(),
        id: SessionId::new(latchkey_crypto::random::id().map_err(|_| OAuthError::server_error())?),
        organization_id: zone.zone.organization_id.clone(),
        session_type: SessionType::User,
        user_id: Some(user.id.clone()),
        application_id: client
            .application_id
            .clone()
            .map(latchkey_domain::id::ApplicationId::new),
        user_agent_id: client
            .user_agent_id
            .clone()
            .map(latchkey_domain::id::UserAgentId::new),
        parent_id: grant.session_id.clone().map(SessionId::new),
        provider_id: user.provider_id.clone(),
        issuer: user.issuer.clone(),
        subject: user.subject.clone(),
        metadata_name: Some(client.name.clone()),
        session_data: None,
        status: Status::Active,
        authenticated_at: Some(Timestamp::from_millis(grant.auth_time * 1000)),
        expires_at: Some(expires),
        created_at: now,
        updated_at: now,
    };
    s.store.insert_session(&session).await.map_err(server)?;
    Ok(session.id.into_string())
}
