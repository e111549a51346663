//! The authorization endpoint's protocol side (RFC 6749 §4.1 with PKCE, RFC 8707 resources): the
//! typed query with its size bounds, redirect-URI choice, the checks that turn a query into a
//! pending [`AuthRequest`], and storing it while the user signs in. Which page or redirect
//! answers is the HTTP layer's business.

use latchkey_domain::Timestamp;
use latchkey_domain::id::ApplicationId;
use latchkey_domain::model::directory::{ProviderType, Resource};

use latchkey_domain::model::identity::Session;

use crate::browser::{self, AuthRequest, BrowserClient};
use crate::error::OAuthError;
use crate::services::Services;
use crate::supported::PROMPTS;
use crate::targets::resolve_target;
use crate::user_token::{MAX_HINT_BYTES, id_token_hint};
use crate::zones::ZoneEntry;

/// Scopes a zone understands besides the resources' own.
pub const STANDARD_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Longest value accepted for any authorization request parameter (bytes).
pub const MAX_PARAMETER_BYTES: usize = 2048;
/// Most `resource` parameters in one request.
const MAX_RESOURCES: usize = 16;

/// An authorization request's parameters (the first value of each, every `resource`).
#[derive(Debug, Clone, Default)]
pub struct AuthorizeQuery {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub resources: Vec<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    /// A sign-up invitation token (invitation-only zones).
    pub invitation: Option<String>,
    /// OpenID Connect: the longest ago (seconds) the user may have signed in.
    pub max_age: Option<String>,
    /// OpenID Connect: an ID token of the user the client expects.
    pub id_token_hint: Option<String>,
    /// OpenID Connect: the email the sign-in form starts with.
    pub login_hint: Option<String>,
    /// RFC 9126: the handle of a pushed request, which then replaces every other parameter.
    pub request_uri: Option<String>,
    /// A request object (RFC 9101), which zones do not take.
    pub request: Option<String>,
    /// RFC 9449 §10: the thumbprint of the DPoP key the code is to be redeemed with.
    pub dpop_jkt: Option<String>,
}

impl AuthorizeQuery {
    /// Reads the query's `(name, value)` pairs, refusing oversized parameters before anything is
    /// looked up or stored (nothing an anonymous caller sends may grow the database beyond these
    /// bounds). The refusal is a sentence for the error page.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, String> {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().collect();
        if pairs.iter().filter(|(k, _)| *k == "resource").count() > MAX_RESOURCES {
            return Err(format!(
                "At most {MAX_RESOURCES} `resource` parameters are accepted."
            ));
        }
        let mut q = Self::default();
        for (name, value) in pairs {
            if value.is_empty() {
                // RFC 6749 §3.1: a parameter sent without a value is treated as omitted.
                continue;
            }
            let bound = match name {
                "id_token_hint" => MAX_HINT_BYTES,
                _ => MAX_PARAMETER_BYTES,
            };
            if value.len() > bound {
                return Err(format!(
                    "The `{}` parameter is too long (at most {bound} bytes).",
                    name.chars().take(40).collect::<String>()
                ));
            }
            let slot = match name {
                "resource" => {
                    q.resources.push(value.to_owned());
                    continue;
                }
                "client_id" => &mut q.client_id,
                "redirect_uri" => &mut q.redirect_uri,
                "response_type" => &mut q.response_type,
                "code_challenge" => &mut q.code_challenge,
                "code_challenge_method" => &mut q.code_challenge_method,
                "scope" => &mut q.scope,
                "state" => &mut q.state,
                "nonce" => &mut q.nonce,
                "prompt" => &mut q.prompt,
                "invitation" => &mut q.invitation,
                "max_age" => &mut q.max_age,
                "id_token_hint" => &mut q.id_token_hint,
                "login_hint" => &mut q.login_hint,
                "request_uri" => &mut q.request_uri,
                "request" => &mut q.request,
                "dpop_jkt" => &mut q.dpop_jkt,
                _ => continue,
            };
            slot.get_or_insert_with(|| value.to_owned());
        }
        Ok(q)
    }

    /// Whether `prompt` lists `value`.
    pub fn prompts(prompt: Option<&str>, value: &str) -> bool {
        prompt.is_some_and(|p| p.split_ascii_whitespace().any(|x| x == value))
    }
}

/// The redirect URI of the request: the requested one when registered (exact match, any port on
/// loopback), or the client's only one; otherwise a sentence for the error page.
pub fn redirect_uri(
    client: &BrowserClient,
    requested: Option<&str>,
) -> Result<String, &'static str> {
    match requested {
        Some(r)
            if client
                .redirect_uris
                .iter()
                .any(|reg| browser::redirect_matches(reg, r)) =>
        {
            Ok(r.to_owned())
        }
        Some(_) => Err("The redirect_uri is not registered for this client."),
        None if client.redirect_uris.len() == 1 => Ok(client.redirect_uris[0].clone()),
        None => Err("The request has no redirect_uri."),
    }
}

/// An error for the client: `(error, error_description)`.
pub type Refusal = (&'static str, String);

/// The pending request for a validated client and redirect URI, or the error to send back to
/// the client.
pub async fn build_request(
    s: &Services,
    zone: &ZoneEntry,
    q: AuthorizeQuery,
    client: BrowserClient,
    redirect_uri: String,
) -> Result<AuthRequest, Refusal> {
    if q.request.is_some() {
        return Err((
            "request_not_supported",
            "request objects are not supported; push the request (RFC 9126) instead".into(),
        ));
    }
    if q.response_type.as_deref() != Some("code") {
        return Err((
            "unsupported_response_type",
            "only `response_type=code` is supported".into(),
        ));
    }
    check_pkce(
        zone,
        &client,
        q.code_challenge.as_deref(),
        q.code_challenge_method.as_deref(),
    )?;
    let (resources, offered) = requested_resources(s, zone, &client, &q.resources).await?;
    let scope = checked_scope(q.scope.as_deref(), &offered)?;
    let prompt = checked_prompt(q.prompt)?;
    let dpop_jkt = q.dpop_jkt.map(checked_jkt).transpose()?;
    let max_age = q.max_age.as_deref().map(max_age).transpose()?;
    let hint_sub = match q.id_token_hint.as_deref() {
        None => None,
        Some(token) => Some(
            id_token_hint(s, zone, token)
                .await
                .ok_or((
                    "invalid_request",
                    "`id_token_hint` is not an ID token this zone issued".to_owned(),
                ))?
                .sub,
        ),
    };
    Ok(AuthRequest {
        client,
        redirect_uri,
        state: q.state,
        scope,
        resources,
        code_challenge: q.code_challenge,
        code_challenge_method: q.code_challenge_method,
        nonce: q.nonce,
        prompt,
        invitation: q.invitation.map(|t| s.hasher.hash(&t)),
        return_to: None,
        max_age,
        hint_sub,
        login_hint: q
            .login_hint
            .filter(|h| h.len() <= 254 && !h.trim().is_empty()),
        dpop_jkt,
    })
}

/// `dpop_jkt`: a JWK SHA-256 thumbprint, base64url (43 characters).
fn checked_jkt(jkt: String) -> Result<String, Refusal> {
    if sha256_b64url(&jkt) {
        Ok(jkt)
    } else {
        Err((
            "invalid_request",
            "`dpop_jkt` must be a base64url SHA-256 JWK thumbprint (43 characters)".to_owned(),
        ))
    }
}

/// Whether `s` is a SHA-256 digest in unpadded base64url (43 characters): a PKCE challenge, a JWK
/// thumbprint.
fn sha256_b64url(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `prompt`: known values only, and `none` alone.
fn checked_prompt(prompt: Option<String>) -> Result<Option<String>, Refusal> {
    let Some(p) = prompt else {
        return Ok(None);
    };
    let values: Vec<&str> = p.split_ascii_whitespace().collect();
    if let Some(bad) = values.iter().find(|v| !PROMPTS.contains(v)) {
        let bad: String = bad.chars().take(40).collect();
        return Err((
            "invalid_request",
            format!("`prompt` value `{bad}` is not supported"),
        ));
    }
    if values.contains(&"none") && values.len() > 1 {
        return Err((
            "invalid_request",
            "`prompt=none` cannot be combined with other values".to_owned(),
        ));
    }
    Ok((!values.is_empty()).then_some(p))
}

/// `max_age`: seconds, a non-negative integer.
fn max_age(v: &str) -> Result<i64, Refusal> {
    v.parse::<u32>().map(i64::from).map_err(|_| {
        (
            "invalid_request",
            "`max_age` must be a non-negative integer (seconds)".to_owned(),
        )
    })
}

/// Whether the browser's web session may answer `req` without a new sign-in: signed in within
/// `max_age`, and as the user an `id_token_hint` names (OpenID Connect Core §3.1.2.1).
pub async fn session_answers(
    s: &Services,
    zone: &ZoneEntry,
    req: &AuthRequest,
    session: &Session,
) -> Result<bool, OAuthError> {
    if let Some(max_age) = req.max_age {
        let signed_in = session.authenticated_at.unwrap_or(session.created_at);
        if signed_in.plus_seconds(max_age) < Timestamp::now() {
            return Ok(false);
        }
    }
    let Some(sub) = &req.hint_sub else {
        return Ok(true);
    };
    let Some(user_id) = &session.user_id else {
        return Ok(false);
    };
    let user = s
        .store
        .get_user(&zone.zone.id, user_id)
        .await
        .map_err(crate::error::server)?;
    Ok(user.is_some_and(|u| &u.identifier == sub))
}

/// The requested scope, trimmed (None when empty), once every scope in it is a standard one or
/// offered by a requested resource.
pub fn checked_scope(scope: Option<&str>, offered: &[String]) -> Result<Option<String>, Refusal> {
    let scope = scope
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if let Some(sc) = &scope
        && let Some(bad) = sc
            .split_ascii_whitespace()
            .find(|x| !STANDARD_SCOPES.contains(x) && !offered.iter().any(|o| o == x))
    {
        return Err((
            "invalid_scope",
            format!("scope `{bad}` is not offered here"),
        ));
    }
    Ok(scope)
}

/// PKCE (RFC 7636): required for public clients and where the zone requires it; only `S256`
/// with a well-formed challenge.
fn check_pkce(
    zone: &ZoneEntry,
    client: &BrowserClient,
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<(), Refusal> {
    match (challenge, method) {
        (None, _) if zone.zone.pkce_required || client.public => {
            return Err((
                "invalid_request",
                "PKCE is required: send `code_challenge` with method `S256`".into(),
            ));
        }
        (Some(c), Some("S256")) if sha256_b64url(c) => {}
        (Some(_), Some("S256")) => {
            return Err((
                "invalid_request",
                "`code_challenge` must be a base64url SHA-256 (43 characters)".into(),
            ));
        }
        (Some(_), _) => {
            return Err((
                "invalid_request",
                "`code_challenge_method` must be `S256`".into(),
            ));
        }
        (None, _) => {}
    }
    Ok(())
}

/// The requested resources (each resolved and reachable by the client), without repeats, and
/// the scopes they offer.
pub async fn requested_resources(
    s: &Services,
    zone: &ZoneEntry,
    client: &BrowserClient,
    requested: &[String],
) -> Result<(Vec<String>, Vec<String>), Refusal> {
    let mut resources: Vec<String> = Vec::new();
    let mut offered: Vec<String> = Vec::new();
    for r in requested {
        let t = resolve_target(s, zone, r)
            .await
            .map_err(|e| ("invalid_target", e.description))?;
        reachable(s, zone, client, &t.resource, t.kind).await?;
        offered.extend(t.resource.scopes.clone().unwrap_or_default());
        if !resources.contains(r) {
            resources.push(r.clone());
        }
    }
    Ok((resources, offered))
}

/// Whether the zone lets `client` ask for `resource` in a browser flow. Vault resources are for
/// applications, never for users' tokens. A client whose users are not asked for consent is
/// limited to what its application provides or depends on; any other client reaches the zone's
/// resources only as far as the user consents (checked before a code is issued).
async fn reachable(
    s: &Services,
    zone: &ZoneEntry,
    client: &BrowserClient,
    resource: &Resource,
    kind: ProviderType,
) -> Result<(), Refusal> {
    let refuse = || {
        (
            "invalid_target",
            format!("`{}` is not available to this client", resource.identifier),
        )
    };
    if kind == ProviderType::KeycardVault {
        return Err(refuse());
    }
    let Some(app) = client
        .application_id
        .as_deref()
        .filter(|_| !client.consent_required)
    else {
        return Ok(());
    };
    let app = ApplicationId::new(app);
    if resource.application_id.as_ref() == Some(&app) {
        return Ok(());
    }
    match s
        .store
        .dependency_conditions(&zone.zone.id, &app, &resource.id)
        .await
    {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err(refuse()),
        Err(_) => Err(("server_error", "the server failed; try again".into())),
    }
}

/// Persists a pending request; returns its id and CSRF token.
pub async fn save(
    s: &Services,
    zone: &ZoneEntry,
    request: &AuthRequest,
) -> Result<(String, String), OAuthError> {
    let id = latchkey_crypto::random::id().map_err(|_| OAuthError::server_error())?;
    let csrf = latchkey_crypto::random::secret("").map_err(|_| OAuthError::server_error())?;
    let params = serde_json::to_string(request).map_err(|_| OAuthError::server_error())?;
    let expires = Timestamp::now().plus_seconds(browser::REQUEST_TTL_SECONDS);
    s.store
        .put_auth_request(&zone.zone.id, &id, &params, &csrf, expires)
        .await
        .map_err(crate::error::server)?;
    Ok((id, csrf))
}
