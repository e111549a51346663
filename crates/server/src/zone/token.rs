//! `POST {issuer}/oauth/2/token`: parses the form, authenticates the client, dispatches on
//! `grant_type`, and answers 200 JSON with `Cache-Control: no-store` or an RFC 6749 error.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::cache::ZoneEntry;
use super::client_auth;
use super::error::ZoneError;
use super::grants::{self, Issued};
use crate::extract::QueryMap;
use crate::oauth_error::OAuthError;
use crate::state::AppState;

pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

/// Parses an `application/x-www-form-urlencoded` body.
pub fn form(body: &[u8]) -> Result<QueryMap, OAuthError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
    Ok(QueryMap::parse(text))
}

/// A JSON response that must not be cached.
pub fn no_store(body: impl serde::Serialize) -> Response {
    let mut res = axum::Json(body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    res
}

pub async fn token(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    let form = form(&body)?;
    let issued = dispatch(&s, &zone, &headers, &form).await?;
    Ok(no_store(issued))
}

/// Parameters that may appear at most once (RFC 6749 §3.2); `resource` and `audience` repeat.
const SINGLE: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
];

async fn dispatch(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    form: &QueryMap,
) -> Result<Issued, OAuthError> {
    if let Some(p) = SINGLE.iter().find(|p| form.all(p).len() > 1) {
        return Err(OAuthError::invalid_request(format!(
            "`{p}` appears more than once"
        )));
    }
    match form.get("grant_type") {
        None | Some("") => Err(OAuthError::invalid_request("`grant_type` is required")),
        Some("client_credentials") => {
            let client = client_auth::authenticate(s, zone, headers, form).await?;
            grants::client_credentials(s, zone, &client, form).await
        }
        Some(TOKEN_EXCHANGE) => {
            let client = client_auth::authenticate(s, zone, headers, form).await?;
            grants::token_exchange(s, zone, &client, form).await
        }
        Some("authorization_code") => {
            super::code_grant::authorization_code(s, zone, headers, form).await
        }
        Some("refresh_token") => super::code_grant::refresh_token(s, zone, headers, form).await,
        Some(other) => Err(OAuthError::unsupported_grant_type(other)),
    }
}
