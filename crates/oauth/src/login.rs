//! The login flow's decisions once a user is known: web sessions, whether the zone's policies
//! allow the request at all, whether consent must be asked, recording consent, and issuing the
//! single-use authorization code.

use latchkey_domain::Timestamp;
use latchkey_domain::id::{SessionId, UserId};
use latchkey_domain::model::directory::Provider;
use latchkey_domain::model::identity::{Session, SessionType, Status, User};
use latchkey_domain::model::login::GrantData;

use crate::authorize::AuthorizeQuery;
use crate::browser::{self, AuthRequest};
use crate::error::{OAuthError, server};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Codes are redeemed within a minute.
pub const CODE_TTL_SECONDS: i64 = 60;

/// The active web session whose cookie secret is `secret`, if any.
pub async fn web_session(s: &Services, zone: &ZoneEntry, secret: &str) -> Option<Session> {
    s.store
        .find_web_session(&zone.zone.id, &s.hasher.hash(secret), Timestamp::now())
        .await
        .ok()
        .flatten()
}

/// Creates a web session for `user`; returns it with the cookie secret.
pub async fn start_session(
    s: &Services,
    zone: &ZoneEntry,
    user: &User,
    provider: Option<&Provider>,
    claims: Option<serde_json::Value>,
) -> Result<(Session, String), OAuthError> {
    let fail = |_| OAuthError::server_error();
    let secret = latchkey_crypto::random::secret("lk_ws_").map_err(fail)?;
    let now = Timestamp::now();
    let session = Session {
        zone_id: zone.zone.id.clone(),
        id: SessionId::new(latchkey_crypto::random::id().map_err(fail)?),
        organization_id: zone.zone.organization_id.clone(),
        session_type: SessionType::User,
        user_id: Some(user.id.clone()),
        application_id: None,
        user_agent_id: None,
        parent_id: None,
        provider_id: provider.map(|p| p.id.clone()),
        issuer: user.issuer.clone(),
        subject: user.subject.clone(),
        metadata_name: Some(zone.zone.name.clone()),
        session_data: claims,
        status: Status::Active,
        authenticated_at: Some(now),
        expires_at: Some(now.plus_seconds(browser::SESSION_TTL_SECONDS)),
        created_at: now,
        updated_at: now,
    };
    s.store
        .insert_web_session(&session, &s.hasher.hash(&secret))
        .await
        .map_err(server)?;
    let _ = s.store.touch_user(&zone.zone.id, &user.id, now).await;
    Ok((session, secret))
}

/// The scopes of a pending request.
pub fn requested_scopes(req: &AuthRequest) -> Vec<String> {
    req.scope
        .as_deref()
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect()
}

/// What consent a signed-in request needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentStep {
    /// Consent is not needed or already covers the request: issue the code.
    Granted,
    /// Ask the user.
    Ask,
    /// Consent is needed but the request allows no interaction (`prompt=none`).
    Required,
}

/// Whether the zone's active policy set lets `user` (and the client's application) have the
/// requested resources, decided before the user is asked to consent: a denied request goes back
/// to the client as `access_denied` at once. The code grant decides again at redemption (with
/// the data of that moment), so this is an early answer, never the only check.
pub async fn policy_allows(
    s: &Services,
    zone: &ZoneEntry,
    req: &AuthRequest,
    user: &UserId,
) -> Result<(), OAuthError> {
    if req.resources.is_empty() {
        return Ok(());
    }
    let Some(user) = s
        .store
        .get_user(&zone.zone.id, user)
        .await
        .map_err(server)?
    else {
        return Err(OAuthError::server_error());
    };
    crate::decide::user_token_scope(
        s,
        zone,
        &req.client,
        &user,
        &req.resources,
        req.scope.clone(),
    )
    .await
    .map(|_| ())
}

/// Whether `user` must be asked to consent to the request.
pub async fn consent_step(
    s: &Services,
    zone: &ZoneEntry,
    req: &AuthRequest,
    user: &UserId,
) -> ConsentStep {
    let prompt = req.prompt.as_deref();
    let prompt_consent = AuthorizeQuery::prompts(prompt, "consent");
    let granted = s
        .store
        .get_consent(&zone.zone.id, user, &req.client.client_id)
        .await
        .ok()
        .flatten();
    let covered = granted.is_some_and(|g| g.covers(&requested_scopes(req), &req.resources));
    let ask = req.client.consent_required && (prompt_consent || !covered);
    if !ask {
        ConsentStep::Granted
    } else if AuthorizeQuery::prompts(prompt, "none") {
        ConsentStep::Required
    } else {
        ConsentStep::Ask
    }
}

/// Adds what the user allows now to what they allowed this client before.
pub async fn record_consent(
    s: &Services,
    zone: &ZoneEntry,
    req: &AuthRequest,
    user: &UserId,
) -> Result<(), OAuthError> {
    let before = s
        .store
        .get_consent(&zone.zone.id, user, &req.client.client_id)
        .await
        .map_err(server)?;
    let consent = before
        .unwrap_or_default()
        .merged(&requested_scopes(req), &req.resources);
    s.store
        .put_consent(&zone.zone.id, user, &req.client.client_id, &consent)
        .await
        .map_err(server)
}

/// Issues a single-use code for pending request `id` and spends the request; answers where the
/// browser goes: the client's redirect URI with `code`, `state` and `iss`.
pub async fn issue_code(
    s: &Services,
    zone: &ZoneEntry,
    id: &str,
    req: &AuthRequest,
    session: &Session,
) -> Result<String, OAuthError> {
    let user_id = session
        .user_id
        .clone()
        .ok_or_else(OAuthError::server_error)?;
    let code =
        latchkey_crypto::random::secret("lk_code_").map_err(|_| OAuthError::server_error())?;
    let grant = GrantData {
        client_id: req.client.client_id.clone(),
        user_id: user_id.into_string(),
        session_id: Some(session.id.as_str().to_owned()),
        token_session_id: None,
        scope: req.scope.clone(),
        resources: req.resources.clone(),
        nonce: req.nonce.clone(),
        auth_time: session
            .authenticated_at
            .unwrap_or(session.created_at)
            .millis()
            / 1000,
        redirect_uri: Some(req.redirect_uri.clone()),
        code_challenge: req.code_challenge.clone(),
        code_challenge_method: req.code_challenge_method.clone(),
        // (RFC 9449 §10: the code is redeemed only with a proof of this key)
        dpop_jkt: req.dpop_jkt.clone(),
    };
    let expires = Timestamp::now().plus_seconds(CODE_TTL_SECONDS);
    s.store
        .put_code(&zone.zone.id, &s.hasher.hash(&code), &grant, expires)
        .await
        .map_err(server)?;
    let _ = s.store.delete_auth_request(&zone.zone.id, id).await;
    let mut params = vec![("code", code.as_str()), ("iss", zone.issuer.as_str())];
    if let Some(st) = req.state.as_deref() {
        params.push(("state", st));
    }
    Ok(browser::with_query(&req.redirect_uri, &params))
}
