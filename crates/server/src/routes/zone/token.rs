//! `POST {issuer}/oauth/2/token`: parses the form (and `Authorization`) into a typed request,
//! answers a repeated `client_credentials` request from its plan
//! (`latchkey_oauth::client_credentials::planned`, before the zone is looked up) or hands it to
//! `latchkey_oauth::token::issue`, and answers 200 JSON with `Cache-Control: no-store` or an
//! RFC 6749 error.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

use latchkey_oauth::client_credentials;

use super::error::ZoneError;
use super::requests::TokenRequest;
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

/// The request's `DPoP` header values (RFC 9449); one that is not visible ASCII counts as empty.
pub fn dpop_proofs(headers: &HeaderMap) -> Vec<&str> {
    headers
        .get_all(latchkey_oauth::dpop::HEADER)
        .iter()
        .map(|v| v.to_str().unwrap_or_default())
        .collect()
}

/// The request's `Authorization` header (empty when it is not visible ASCII: present, but no
/// credentials).
pub fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .map(|v| v.to_str().unwrap_or_default())
}

pub async fn token(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    ext: axum::http::Extensions,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    // Before the zone is read: a plan made from what follows is kept only if nothing moved since.
    let ticket = client_credentials::ticket(&s);
    let parsed = TokenRequest::parse(&body).map(|mut request| {
        request.client.authorization(authorization(&headers));
        request
    });
    let proofs = dpop_proofs(&headers);
    if proofs.is_empty()
        && let Ok(request) = &parsed
        && let Some(issued) = client_credentials::planned(&s, &zone, request)
    {
        return Ok(no_store(issued?));
    }
    let zone = s.zone(&zone).await?;
    let request = parsed?;
    // The request a sign-in to the management API is audited under.
    let meta = latchkey_oauth::audit_log::RequestMeta {
        request_id: crate::audit::request_id::of(&ext),
        source_address: Some(crate::extract::client_ip(&ext).to_string()),
    };
    let proof = latchkey_oauth::dpop::single(&proofs)?;
    let issue = latchkey_oauth::token::issue(&s, &zone, request, proof, ticket);
    let issued = latchkey_oauth::audit_log::in_request(meta, issue).await?;
    Ok(no_store(issued))
}
