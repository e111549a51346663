//! `POST /service-account-token`: client credentials for service accounts, with
//! `client_secret_basic` (RFC 6749 §2.3.1 form-encoded parts) or `client_secret_post`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::api::service_account::TokenResponse;
use crate::extract::QueryMap;
use crate::oauth_error::OAuthError;
use crate::service::sa_token::{self, ClientCredentials};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/service-account-token", post(token))
}

async fn token(State(s): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match issue(&s, &headers, &body).await {
        Ok(t) => {
            let mut res = axum::Json(t).into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res.headers_mut()
                .insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            res
        }
        Err(e) => crate::oauth_error::response(e),
    }
}

async fn issue(
    s: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<TokenResponse, OAuthError> {
    let form = QueryMap::parse(
        std::str::from_utf8(body).map_err(|_| OAuthError::invalid_request("body is not UTF-8"))?,
    );
    let creds = client_credentials(headers, &form)?;
    let (access_token, expires_in) = sa_token::issue(s, form.get("grant_type"), creds).await?;
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in,
    })
}

/// Reads the client's credentials from the Basic header or, failing that, the form.
fn client_credentials(
    headers: &HeaderMap,
    form: &QueryMap,
) -> Result<ClientCredentials, OAuthError> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| OAuthError::invalid_client())?;
        let (scheme, encoded) = value
            .split_once(' ')
            .ok_or_else(OAuthError::invalid_client)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(OAuthError::invalid_client());
        }
        let decoded = STANDARD
            .decode(encoded.trim())
            .map_err(|_| OAuthError::invalid_client())?;
        let text = String::from_utf8(decoded).map_err(|_| OAuthError::invalid_client())?;
        let (id, secret) = text
            .split_once(':')
            .ok_or_else(OAuthError::invalid_client)?;
        return Ok(ClientCredentials {
            client_id: form_decode(id),
            client_secret: form_decode(secret),
        });
    }
    match (form.get("client_id"), form.get("client_secret")) {
        (Some(id), Some(secret)) => Ok(ClientCredentials {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
        }),
        _ => Err(OAuthError::invalid_client()),
    }
}

/// RFC 6749 §2.3.1: Basic credentials are form-encoded before base64; raw values decode to
/// themselves unless they contain `%` or `+`.
fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}
