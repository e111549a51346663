//! `{issuer}/logout`: a GET only asks (a link or an image must not sign anyone out); the POST of
//! that page's form, carrying its CSRF token, ends the web session and everything issued under
//! it.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::Timestamp;

use super::browser;
use super::cache::ZoneEntry;
use super::pages;
use crate::extract::QueryMap;
use crate::state::AppState;

/// The confirmation form stays valid this long.
const CONFIRM_TTL_SECONDS: i64 = 15 * 60;

fn logout_cookie(zone: &ZoneEntry) -> String {
    format!("lk_logout_{}", zone.zone.id)
}

/// `GET {issuer}/logout`: the confirmation page.
pub async fn confirm(State(s): State<AppState>, Path(zone): Path<String>) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let Ok(csrf) = latchkey_crypto::random::secret("") else {
        return pages::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server failed; try again.",
        );
    };
    let mut res = pages::logout(&zone.zone.name, &zone.url("/logout"), &csrf);
    browser::set_cookie(
        &mut res,
        &zone,
        &logout_cookie(&zone),
        &csrf,
        CONFIRM_TTL_SECONDS,
    );
    res
}

/// `POST {issuer}/logout`: ends the web session, its token sessions and their refresh tokens.
pub async fn logout(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let form = QueryMap::parse(std::str::from_utf8(&body).unwrap_or_default());
    let cookie = browser::cookie(&headers, &logout_cookie(&zone));
    let confirmed = matches!((form.get("csrf"), cookie.as_deref()),
        (Some(a), Some(b)) if browser::same_secret(a, b));
    if !confirmed {
        return pages::error(
            StatusCode::FORBIDDEN,
            "The sign-out form has expired or was not sent from this page. Open the sign-out page again.",
        );
    }
    if let Some(session) = browser::current_session(&s, &zone, &headers).await {
        let _ = s
            .store
            .revoke_session(&zone.zone.id, &session.id, Timestamp::now())
            .await;
    }
    let mut res = pages::page(
        StatusCode::OK,
        "Signed out",
        "<h1>You are signed out</h1><p class=\"sub\">You can close this window.</p>",
    );
    browser::set_cookie(&mut res, &zone, &browser::session_cookie(&zone), "", 0);
    browser::set_cookie(&mut res, &zone, &logout_cookie(&zone), "", 0);
    res
}
