//! `GET {issuer}/oauth/2/authorize` (RFC 6749 §4.1 with PKCE, RFC 8707 resources, RFC 9207 `iss`).
//! Client and redirect URI are validated first and problems with them answer an error page;
//! after that, errors go back to the client. A signed-in browser continues straight to consent
//! or a code; otherwise the user is sent to the sign-in page.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::Timestamp;
use latchkey_domain::id::ApplicationId;
use latchkey_domain::model::directory::{ProviderType, Resource};
use latchkey_domain::model::identity::Session;

use super::browser::{self, AuthRequest, BrowserClient};
use super::cache::ZoneEntry;
use super::pages;
use super::targets::resolve_target;
use crate::extract::QueryMap;
use crate::state::AppState;

/// Scopes a zone understands besides the resources' own.
pub const STANDARD_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Redirects an error to the client (after client and redirect URI were validated).
pub fn client_error(
    zone: &ZoneEntry,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![
        ("error", error),
        ("error_description", description),
        ("iss", zone.issuer.as_str()),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    browser::redirect(&browser::with_query(redirect_uri, &params))
}

pub async fn authorize(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    if let Err(message) = within_limits(&q) {
        return pages::error(StatusCode::BAD_REQUEST, &message);
    }
    let client = match q.get("client_id") {
        None => return pages::error(StatusCode::BAD_REQUEST, "The request has no client_id."),
        Some(id) => match browser::client(&s, &zone, id).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "The client is not registered in this zone.",
                );
            }
            Err(_) => {
                return pages::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "The server failed; try again.",
                );
            }
        },
    };
    let redirect_uri = match redirect_uri(&client, q.get("redirect_uri")) {
        Ok(r) => r,
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, message),
    };
    let state = q.get("state").map(str::to_owned);
    match build_request(&s, &zone, &q, client, redirect_uri.clone(), state.clone()).await {
        Ok(request) => start(&s, &zone, &headers, request).await,
        Err((error, description)) => {
            client_error(&zone, &redirect_uri, state.as_deref(), error, &description)
        }
    }
}

/// Longest value accepted for any authorization request parameter (bytes).
pub const MAX_PARAMETER_BYTES: usize = 2048;
/// Most `resource` parameters in one request.
const MAX_RESOURCES: usize = 16;

/// Refuses oversized parameters before anything is looked up or stored (nothing an anonymous
/// caller sends may grow the database beyond these bounds).
fn within_limits(q: &QueryMap) -> Result<(), String> {
    if q.all("resource").len() > MAX_RESOURCES {
        return Err(format!(
            "At most {MAX_RESOURCES} `resource` parameters are accepted."
        ));
    }
    for (name, value) in q.pairs() {
        if value.len() > MAX_PARAMETER_BYTES {
            return Err(format!(
                "The `{}` parameter is too long (at most {MAX_PARAMETER_BYTES} bytes).",
                name.chars().take(40).collect::<String>()
            ));
        }
    }
    Ok(())
}

fn redirect_uri(client: &BrowserClient, requested: Option<&str>) -> Result<String, &'static str> {
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

type Refusal = (&'static str, String);

async fn build_request(
    s: &AppState,
    zone: &ZoneEntry,
    q: &QueryMap,
    client: BrowserClient,
    redirect_uri: String,
    state: Option<String>,
) -> Result<AuthRequest, Refusal> {
    if q.get("response_type") != Some("code") {
        return Err((
            "unsupported_response_type",
            "only `response_type=code` is supported".into(),
        ));
    }
    let challenge = q.get("code_challenge").map(str::to_owned);
    let method = q.get("code_challenge_method").map(str::to_owned);
    match (&challenge, method.as_deref()) {
        (None, _) if zone.zone.pkce_required || client.public => {
            return Err((
                "invalid_request",
                "PKCE is required: send `code_challenge` with method `S256`".into(),
            ));
        }
        (Some(c), Some("S256"))
            if c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {}
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
    let mut resources: Vec<String> = Vec::new();
    let mut offered: Vec<String> = Vec::new();
    for r in q.all("resource") {
        let t = resolve_target(s, zone, r)
            .await
            .map_err(|e| ("invalid_target", e.description))?;
        reachable(s, zone, &client, &t.resource, t.kind).await?;
        offered.extend(t.resource.scopes.clone().unwrap_or_default());
        if !resources.iter().any(|x| x == r) {
            resources.push(r.to_owned());
        }
    }
    let scope = q
        .get("scope")
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
    Ok(AuthRequest {
        client,
        redirect_uri,
        state,
        scope,
        resources,
        code_challenge: challenge,
        code_challenge_method: method,
        nonce: q.get("nonce").map(str::to_owned),
        prompt: q.get("prompt").map(str::to_owned),
        invitation: q.get("invitation").map(|t| s.hasher.hash(t)),
    })
}

/// Whether the zone lets `client` ask for `resource` in a browser flow. Vault resources are for
/// applications, never for users' tokens. A client whose users are not asked for consent is
/// limited to what its application provides or depends on; any other client reaches the zone's
/// resources only as far as the user consents (checked before a code is issued).
async fn reachable(
    s: &AppState,
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

/// Stores the request and sends the browser on: to sign-in, or (already signed in) onwards.
async fn start(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    request: AuthRequest,
) -> Response {
    let session = super::login::current_session(s, zone, headers).await;
    let prompt = request.prompt.clone().unwrap_or_default();
    if prompt.split_ascii_whitespace().any(|p| p == "none") && session.is_none() {
        return client_error(
            zone,
            &request.redirect_uri,
            request.state.as_deref(),
            "login_required",
            "the user is not signed in",
        );
    }
    let (id, csrf) = match save(s, zone, &request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match session {
        Some(session) if !prompt.split_ascii_whitespace().any(|p| p == "login") => {
            super::login::proceed(s, zone, &id, &csrf, request, session).await
        }
        _ => browser::redirect(&browser::with_query(
            &zone.url("/login"),
            &[("request", &id)],
        )),
    }
}

/// Persists a pending request; returns its id and CSRF token.
pub async fn save(
    s: &AppState,
    zone: &ZoneEntry,
    request: &AuthRequest,
) -> Result<(String, String), Response> {
    let fail = || {
        pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server failed; try again.",
        )
    };
    let id = latchkey_crypto::random::id().map_err(|_| fail())?;
    let csrf = latchkey_crypto::random::secret("").map_err(|_| fail())?;
    let params = serde_json::to_string(request).map_err(|_| fail())?;
    let expires = Timestamp::now().plus_seconds(browser::REQUEST_TTL_SECONDS);
    s.store
        .put_auth_request(&zone.zone.id, &id, &params, &csrf, expires)
        .await
        .map_err(|_| fail())?;
    Ok((id, csrf))
}

/// Whether the session's sign-in is recent enough for `max_age` (seconds), when given.
pub fn fresh_enough(session: &Session, max_age: Option<i64>) -> bool {
    match (max_age, session.authenticated_at) {
        (Some(m), Some(at)) => at.millis() + m * 1000 >= Timestamp::now().millis(),
        _ => true,
    }
}
