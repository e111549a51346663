//! Discovery documents and JWKS, served pre-serialized with `ETag` and `Cache-Control`, ignoring
//! any `Authorization` header the client sends along.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::error::ZoneError;
use crate::state::AppState;

/// A cached JSON document, or 304 when the client already has it.
fn document(body: &str, etag: &str, max_age: u32, request: &HeaderMap) -> Response {
    if request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some(etag)
    {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut res = (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_owned(),
    )
        .into_response();
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}")) {
        h.insert(header::CACHE_CONTROL, v);
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    res
}

/// `{issuer}/.well-known/oauth-authorization-server` and `/.well-known/openid-configuration`,
/// and their RFC 8414 path-insertion forms.
pub async fn metadata(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ZoneError> {
    let entry = s.zone(&zone).await.map_err(ZoneError::from_lookup)?;
    Ok(document(
        &entry.metadata,
        &entry.metadata_etag,
        300,
        &headers,
    ))
}

/// `{issuer}/openidconnect/jwks`: every published key (next, current, previous).
pub async fn jwks(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ZoneError> {
    let entry = s.zone(&zone).await.map_err(ZoneError::from_lookup)?;
    let keys = s
        .keys
        .get(&entry.zone.id, &entry.zone.signing_alg)
        .await
        .map_err(|e| ZoneError::from_lookup(e.into()))?;
    Ok(document(&keys.jwks, &keys.etag, 300, &headers))
}
