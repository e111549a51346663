//! OAuth 2.0 error responses (RFC 6749 §5.2): `{error, error_description}`, `Cache-Control:
//! no-store`, and 401 + `WWW-Authenticate` for `invalid_client` when the client used HTTP Basic.
//! The error type itself lives in `latchkey_oauth::error`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

pub use latchkey_oauth::error::OAuthError;

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

/// The response of an OAuth error.
pub fn response(e: OAuthError) -> Response {
    let body = Body {
        error: e.error,
        error_description: &e.description,
    };
    let mut res = (e.status, axum::Json(body)).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    if e.status == StatusCode::UNAUTHORIZED {
        // Token endpoints authenticate clients with HTTP Basic among other methods, so Basic is
        // the scheme to challenge with, whichever method the client tried (RFC 6749 §5.2).
        h.insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"latchkey\""),
        );
    }
    res
}
