//! The console's stylesheet and script, compiled into the binary and served with long caching
//! (their URLs are fixed, so a new binary sends `no-cache` validation via the ETag).

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::ConsoleState;

const CSS: &str = include_str!("assets/console.css");
const JS: &str = include_str!("assets/console.js");

pub fn router() -> Router<ConsoleState> {
    Router::new()
        .route(
            "/console/assets/console.css",
            get(|h: HeaderMap| async move { asset(&h, CSS, "text/css; charset=utf-8") }),
        )
        .route(
            "/console/assets/console.js",
            get(|h: HeaderMap| async move { asset(&h, JS, "text/javascript; charset=utf-8") }),
        )
}

fn etag(body: &str) -> String {
    let digest = latchkey_crypto::keyed_hash::sha256(body.as_bytes());
    format!("\"{}\"", latchkey_crypto::keyed_hash::hex(&digest[..8]))
}

fn asset(req: &HeaderMap, body: &'static str, content_type: &'static str) -> Response {
    let tag = etag(body);
    if req.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(tag.as_str()) {
        return StatusCode::NOT_MODIFIED.into_response();
    }
    let mut res = ([(header::CONTENT_TYPE, content_type)], body).into_response();
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    res
}
