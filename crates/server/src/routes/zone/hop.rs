//! Upstream hops as HTTP: the 303 to the provider with the browser's binding cookie, and the
//! 502 page when a hop fails. The hop itself is `latchkey_oauth::federation`.

use axum::http::StatusCode;
use axum::response::Response;
use latchkey_oauth::federation::{Failed, Hop, STATE_TTL_SECONDS};

use super::browser;
use super::cache::ZoneEntry;
use super::pages;

/// The cookie that binds an upstream hop to the browser that started it.
pub fn binding_cookie(zone: &ZoneEntry) -> String {
    format!("lk_up_{}", zone.zone.id)
}

/// Sends the browser to the provider, bound to it by a cookie.
pub fn leave(zone: &ZoneEntry, hop: Hop) -> Response {
    let mut res = browser::redirect(&hop.location);
    browser::set_cookie(
        &mut res,
        zone,
        &binding_cookie(zone),
        &hop.binding,
        STATE_TTL_SECONDS,
    );
    res
}

/// The page for a failed hop (the reason is logged and named).
pub fn failed(Failed(why): Failed) -> Response {
    tracing::warn!(why, "upstream flow failed");
    pages::error(
        StatusCode::BAD_GATEWAY,
        &format!("The upstream provider could not be used: {why}."),
    )
}
