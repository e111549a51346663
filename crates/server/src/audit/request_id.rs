//! The request id: the client's `X-Request-Id` when it is sane (1–128 visible ASCII characters of
//! `A–Z a–z 0–9 - _ . : /`), else a fresh random one; kept in the request's extensions for the
//! audit log and echoed on every response.

use std::sync::Arc;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-request-id";
const MAX_LEN: usize = 128;

/// The id of the request being answered.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// Whether a client-chosen id may be kept and echoed as is.
pub fn is_sane(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:/".contains(&b))
}

/// Middleware: assigns the request id and echoes it.
pub async fn assign(mut req: Request, next: Next) -> Response {
    let sent = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane(v));
    let id: Arc<str> = match sent {
        Some(v) => v.into(),
        None => latchkey_oauth::audit_log::new_id().into(),
    };
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HEADER, v);
    }
    res
}

/// The id assigned to the request whose extensions these are.
pub fn of(ext: &axum::http::Extensions) -> String {
    ext.get::<RequestId>()
        .map_or_else(latchkey_oauth::audit_log::new_id, |r| r.0.to_string())
}

#[cfg(test)]
mod tests {
    use super::is_sane;

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(is_sane("req-123_abc.def:9/x"));
        assert!(!is_sane(""));
        assert!(!is_sane("a b"));
        assert!(!is_sane("<script>"));
        assert!(!is_sane(&"a".repeat(129)));
    }
}
