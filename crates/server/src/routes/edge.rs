//! The edge of the HTTP surface, around every route: the header limits (431), paths that do not
//! percent-decode to UTF-8 (400), the request timeout (408, body reading included), and JSON
//! bodies for every error that axum or tower answer by themselves (extractor rejections such as
//! a body over the limit, fallbacks, panics) instead of their plain text. Errors take the shape of
//! the path's family: RFC 6749 `{error, error_description}` under a zone's authorization server,
//! `{message, code, status}` everywhere else. A response to a request whose body was left unread
//! closes the connection (`unread_body`).

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::oauth_error::OAuthError;
use crate::routes::unread_body::ReadToEnd;

/// Most bytes of request header fields (names and values) accepted.
pub const MAX_HEADER_BYTES: usize = 32 * 1024;
/// Most request header fields accepted.
pub const MAX_HEADER_COUNT: usize = 100;
/// Longest plain-text error body kept as the message of its JSON replacement.
const MAX_MESSAGE_BYTES: usize = 1024;

/// Whether `path` belongs to a zone's authorization server (after host-mode rewriting).
pub fn is_zone_path(path: &str) -> bool {
    path.starts_with("/z/") || path.starts_with("/.well-known/")
}

/// An error response in the shape of `path`'s family. 5xx messages are generic.
pub fn error_for(path: &str, status: StatusCode, message: impl Into<String>) -> Response {
    let message = if status.is_server_error() {
        "internal server error".to_owned()
    } else {
        message.into()
    };
    let mut res = if is_zone_path(path) {
        let error = match status {
            StatusCode::SERVICE_UNAVAILABLE => "temporarily_unavailable",
            s if s.is_server_error() => "server_error",
            _ => "invalid_request",
        };
        crate::oauth_error::response(OAuthError {
            status,
            error,
            description: message,
        })
    } else {
        ApiError::new(status, code_for(status), message).into_response()
    };
    if matches!(
        status,
        StatusCode::PAYLOAD_TOO_LARGE
            | StatusCode::REQUEST_TIMEOUT
            | StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
    ) {
        // The request was not read to its end: the connection cannot carry another one.
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}

/// The management error code for a status the edge answers.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE => "headers_too_large",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        s if s.is_server_error() => "internal",
        _ => "invalid_request",
    }
}

/// The edge middleware; `timeout` bounds the whole request, body reading included.
pub async fn edge(State(timeout): State<Duration>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if let Some(why) = oversized_headers(req.headers()) {
        return error_for(&path, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, why);
    }
    if percent_encoding::percent_decode_str(&path)
        .decode_utf8()
        .is_err()
    {
        return error_for(
            &path,
            StatusCode::BAD_REQUEST,
            "the request path is not UTF-8 once percent-decoded",
        );
    }
    let (req, body) = ReadToEnd::watch(req);
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(res) => body.close_if_unread(as_json(&path, res).await).await,
        Err(_) => error_for(
            &path,
            StatusCode::REQUEST_TIMEOUT,
            format!(
                "the request was not complete within {} s",
                timeout.as_secs()
            ),
        ),
    }
}

fn oversized_headers(headers: &HeaderMap) -> Option<String> {
    if headers.len() > MAX_HEADER_COUNT {
        return Some(format!("more than {MAX_HEADER_COUNT} header fields"));
    }
    let bytes: usize = headers
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    (bytes > MAX_HEADER_BYTES).then(|| format!("header fields over {MAX_HEADER_BYTES} bytes"))
}

/// Replaces a non-JSON, non-HTML error response with its JSON equivalent (keeping `Allow`).
async fn as_json(path: &str, res: Response) -> Response {
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return res;
    }
    let ctype = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if ctype.contains("json") || ctype.starts_with("text/html") {
        return res;
    }
    let allow = res.headers().get(header::ALLOW).cloned();
    let text = axum::body::to_bytes(res.into_body(), MAX_MESSAGE_BYTES)
        .await
        .ok()
        .and_then(|b| String::from_utf8(b.to_vec()).ok())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("error")
                .to_ascii_lowercase()
        });
    let mut out = error_for(path, status, text);
    if let Some(allow) = allow {
        out.headers_mut().insert(header::ALLOW, allow);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families() {
        assert!(is_zone_path("/z/abc/oauth/2/token"));
        assert!(is_zone_path("/.well-known/openid-configuration/z/abc"));
        assert!(!is_zone_path("/zones/abc"));
        assert!(!is_zone_path("/organizations"));
    }

    #[test]
    fn header_limits() {
        let mut h = HeaderMap::new();
        h.insert("x-a", HeaderValue::from_static("1"));
        assert!(oversized_headers(&h).is_none());
        let big = HeaderValue::from_str(&"a".repeat(MAX_HEADER_BYTES)).unwrap();
        h.insert("x-big", big);
        assert!(oversized_headers(&h).is_some());
        let mut many = HeaderMap::new();
        for i in 0..=MAX_HEADER_COUNT {
            many.append(
                axum::http::HeaderName::from_bytes(format!("x-{i}").as_bytes()).unwrap(),
                HeaderValue::from_static("1"),
            );
        }
        assert!(oversized_headers(&many).is_some());
    }
}
