//! The request id: the client's `X-Request-Id` when it is sane (1–128 visible ASCII characters of
//! `A–Z a–z 0–9 - _ . : /`), else a fresh one; kept in the request's extensions for the audit log
//! and echoed on every response. Fresh ids are this process's random prefix and a counter: unique
//! across instances and restarts without drawing random bytes for every request (an id names a
//! request; it is not a secret).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};

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
        None => fresh().into(),
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
        .map_or_else(fresh, |r| r.0.to_string())
}

/// Random characters that start every fresh id of this process.
static PREFIX: LazyLock<String> = LazyLock::new(|| {
    let mut id = latchkey_oauth::audit_log::new_id();
    id.truncate(12);
    id
});
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A fresh request id: 26 lowercase letters and digits, starting with a letter (the shape of
/// every other id), the process's random prefix then a base-36 counter.
fn fresh() -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tail = [b'0'; 14];
    for slot in tail.iter_mut().rev() {
        *slot = DIGITS[(n % 36) as usize];
        n /= 36;
    }
    let mut id = String::with_capacity(PREFIX.len() + tail.len());
    id.push_str(&PREFIX);
    id.extend(tail.iter().map(|&b| char::from(b)));
    id
}

#[cfg(test)]
mod tests {
    use super::{fresh, is_sane};

    #[test]
    fn fresh_ids_are_unique_and_shaped_like_ids() {
        let a = fresh();
        let b = fresh();
        assert_ne!(a, b);
        for id in [&a, &b] {
            assert_eq!(id.len(), 26, "{id}");
            assert!(id.starts_with(|c: char| c.is_ascii_lowercase()), "{id}");
            assert!(
                id.bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
                "{id}"
            );
            assert!(is_sane(id));
        }
        assert_eq!(a[..12], b[..12], "one prefix per process");
    }

    #[test]
    fn only_short_plain_ids_are_kept() {
        assert!(is_sane("req-123_abc.def:9/x"));
        assert!(!is_sane(""));
        assert!(!is_sane("a b"));
        assert!(!is_sane("<script>"));
        assert!(!is_sane(&"a".repeat(129)));
    }
}
