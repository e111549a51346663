//! `GET {issuer}/oauth/2/authorize` (RFC 6749 §4.1 with PKCE, RFC 8707 resources, RFC 9207 `iss`).
//! Client and redirect URI are validated first and problems with them answer an error page;
//! after that, errors go back to the client. A signed-in browser continues straight to consent
//! or a code; otherwise the user is sent to the sign-in page. The checks themselves are
//! `latchkey_oauth::authorize`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_oauth::authorize::{self as protocol, AuthorizeQuery};
use latchkey_oauth::cimd;

use super::browser::{self, AuthRequest, client_error, failed};
use super::cache::ZoneEntry;
use super::pages;
use crate::extract::{QueryMap, client_ip};
use crate::state::AppState;

pub async fn authorize(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let q = match AuthorizeQuery::parse(q.pairs()) {
        Ok(q) => q,
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, &message),
    };
    if let Some(uri) = q.request_uri.as_deref() {
        return pushed(&s, &zone, &headers, q.client_id.as_deref(), uri).await;
    }
    if let Some(id) = q.client_id.as_deref()
        && let Err(refusal) = cimd::resolve(&s, &zone, id, client_ip(&ext)).await
    {
        return cimd_refused(refusal);
    }
    let client = match q.client_id.as_deref() {
        None => return pages::error(StatusCode::BAD_REQUEST, "The request has no client_id."),
        Some(id) => match browser::client(&s, &zone, id).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return pages::error(
                    StatusCode::BAD_REQUEST,
                    "The client is not registered in this zone.",
                );
            }
            Err(_) => return failed(),
        },
    };
    let redirect_uri = match protocol::redirect_uri(&client, q.redirect_uri.as_deref()) {
        Ok(r) => r,
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, message),
    };
    let state = q.state.clone();
    match protocol::build_request(&s, &zone, q, client, redirect_uri.clone()).await {
        Ok(request) => start(&s, &zone, &headers, request).await,
        Err((error, description)) => {
            client_error(&zone, &redirect_uri, state.as_deref(), error, &description)
        }
    }
}

/// The page for a client metadata document that cannot be used.
pub fn cimd_refused(refusal: cimd::Refusal) -> Response {
    match refusal {
        cimd::Refusal::Bad(message) => pages::error(StatusCode::BAD_REQUEST, &message),
        cimd::Refusal::Busy => pages::retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many new clients from this address; try again in a minute.",
            60,
        ),
        cimd::Refusal::Failed => failed(),
    }
}

/// A pushed request (RFC 9126) brought back by its `request_uri`: every other parameter comes
/// from what the client pushed.
async fn pushed(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    client_id: Option<&str>,
    request_uri: &str,
) -> Response {
    let Some(client_id) = client_id else {
        return pages::error(StatusCode::BAD_REQUEST, "The request has no client_id.");
    };
    match latchkey_oauth::par::take(s, zone, client_id, request_uri).await {
        Ok(Some(request)) => start(s, zone, headers, request).await,
        Ok(None) => pages::error(
            StatusCode::BAD_REQUEST,
            "The request_uri is unknown, expired, already used, or not this client's. Start again from the application.",
        ),
        Err(_) => failed(),
    }
}

/// Stores the request and sends the browser on: to sign-in, or (already signed in) onwards.
async fn start(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    request: AuthRequest,
) -> Response {
    let session = match browser::current_session(s, zone, headers).await {
        Some(session) => match protocol::session_answers(s, zone, &request, &session).await {
            Ok(true) => Some(session),
            Ok(false) => None,
            Err(_) => return failed(),
        },
        None => None,
    };
    let prompt = request.prompt.as_deref();
    if AuthorizeQuery::prompts(prompt, "none") && session.is_none() {
        return client_error(
            zone,
            &request.redirect_uri,
            request.state.as_deref(),
            "login_required",
            "the user is not signed in",
        );
    }
    let login = AuthorizeQuery::prompts(prompt, "login")
        || AuthorizeQuery::prompts(prompt, "select_account");
    let (id, csrf) = match save(s, zone, &request).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match session {
        Some(session) if !login => {
            super::login::proceed(s, zone, &id, &csrf, request, session).await
        }
        _ => browser::redirect(&browser::with_query(
            &zone.url("/login"),
            &[("request", &id)],
        )),
    }
}

/// Persists a pending request; returns its id and CSRF token, or the error page.
async fn save(
    s: &AppState,
    zone: &ZoneEntry,
    request: &AuthRequest,
) -> Result<(String, String), Response> {
    protocol::save(s, zone, request).await.map_err(|_| failed())
}
