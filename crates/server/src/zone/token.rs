//! `POST {issuer}/oauth/2/token`: parses the form into a typed request (`requests.rs`),
//! authenticates the client, dispatches on the grant, and answers 200 JSON with `Cache-Control: no-store` or an RFC 6749 error.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use super::cache::ZoneEntry;
use super::client_auth;
use super::error::ZoneError;
use super::grants::{self, Issued};
use super::requests::{Grant, TokenRequest};
use crate::oauth_error::OAuthError;
use crate::state::AppState;

pub use latchkey_oauth::requests::TOKEN_EXCHANGE;

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
    let request = TokenRequest::parse(&body)?;
    let issued = dispatch(&s, &zone, &headers, request).await?;
    Ok(no_store(issued))
}

async fn dispatch(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    request: TokenRequest,
) -> Result<Issued, OAuthError> {
    let TokenRequest {
        client,
        targets,
        grant,
    } = request;
    match grant {
        Grant::ClientCredentials => {
            let client = client_auth::authenticate(s, zone, headers, &client).await?;
            grants::client_credentials(s, zone, &client, &targets).await
        }
        Grant::TokenExchange(exchange) => {
            let client = client_auth::authenticate(s, zone, headers, &client).await?;
            grants::token_exchange(s, zone, &client, &exchange, &targets).await
        }
        Grant::AuthorizationCode(code) => {
            super::code_grant::authorization_code(s, zone, headers, &client, &code, &targets).await
        }
        Grant::RefreshToken { refresh_token } => {
            super::code_grant::refresh_token(
                s,
                zone,
                headers,
                &client,
                refresh_token.as_deref(),
                &targets,
            )
            .await
        }
    }
}
