//! The browser flows' HTTP side: cookies (names, reading, `Set-Cookie`), 303 redirects, and the
//! error page for an unknown zone. The protocol pieces (clients, redirect matching, the pending
//! request) are `latchkey_oauth::browser`, re-exported here.

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;

pub use latchkey_oauth::browser::*;

use super::cache::ZoneEntry;
use crate::state::AppState;

/// The zone a browser request is for, or the error page to answer instead.
pub async fn zone_page(
    state: &AppState,
    zone_id: &str,
) -> Result<std::sync::Arc<ZoneEntry>, Response> {
    state
        .zone(zone_id)
        .await
        .map_err(|e| super::pages::error(e.status, &e.message))
}

/// The cookie names of a zone's web session and of the CSRF check.
pub fn session_cookie(zone: &ZoneEntry) -> String {
    format!("lk_session_{}", zone.zone.id)
}

pub fn csrf_cookie(zone: &ZoneEntry) -> String {
    format!("lk_csrf_{}", zone.zone.id)
}

/// The value of cookie `name` in the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

/// Adds a `Set-Cookie` header: HttpOnly, SameSite=Lax, Secure on https, scoped to the zone.
pub fn set_cookie(res: &mut Response, zone: &ZoneEntry, name: &str, value: &str, max_age: i64) {
    let secure = if zone.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let path = url::Url::parse(&zone.issuer)
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    let path = if path.is_empty() {
        "/".to_owned()
    } else {
        path
    };
    let v =
        format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    if let Ok(h) = HeaderValue::from_str(&v) {
        res.headers_mut().append(header::SET_COOKIE, h);
    }
}

/// A 303 redirect.
pub fn redirect(location: &str) -> Response {
    let mut res = Response::new(axum::body::Body::empty());
    *res.status_mut() = axum::http::StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The browser's active web session in this zone, if any.
pub async fn current_session(
    state: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
) -> Option<latchkey_domain::model::identity::Session> {
    let secret = cookie(headers, &session_cookie(zone))?;
    latchkey_oauth::login::web_session(state, zone, &secret).await
}

/// The page answering a server failure in a browser flow.
pub fn failed() -> Response {
    super::pages::error(
        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
        "The server failed; try again.",
    )
}

/// Redirects an error to the client (after client and redirect URI were validated).
pub fn client_error(
    zone: &ZoneEntry,
    redirect_uri: &str,
    state: Option<&str>,
    error: &str,
    description: &str,
) -> Response {
    let mut params = vec![
        ("error", error),
        ("error_description", description),
        ("iss", zone.issuer.as_str()),
    ];
    if let Some(s) = state {
        params.push(("state", s));
    }
    redirect(&with_query(redirect_uri, &params))
}
