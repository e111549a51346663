//! `{issuer}/logout`, the zone's end-session endpoint (OpenID Connect RP-Initiated Logout 1.0).
//! A GET signs out at once only when its `id_token_hint` is an ID token of the browser's own web
//! session; otherwise it asks (a link or an image must not sign anyone out), and the POST of that
//! page's form, carrying its CSRF token, ends the web session and everything issued under it.
//! A relying party's own POST is turned into the GET (303), so the browser's `SameSite=Lax`
//! session cookie comes along. Afterwards the browser goes to the client's registered
//! `post_logout_redirect_uri` with `state`, or sees the signed-out page; when the session signed
//! in through an upstream provider that wants single logout, it goes there first and comes back
//! through `{issuer}/logout/return`. The checks are `latchkey_oauth::logout`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::Timestamp;
use latchkey_domain::model::identity::Session;
use latchkey_oauth::logout::{self as protocol, Logout, LogoutQuery, Refusal, upstream};

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

/// Holds where the browser goes once back from the upstream provider's sign-out.
fn return_cookie(zone: &ZoneEntry) -> String {
    format!("lk_logout_return_{}", zone.zone.id)
}

/// `GET {issuer}/logout`: signs out a hinted session of this browser, else asks.
pub async fn start(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let (q, logout) = match checked(&s, &zone, q.pairs()).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    match browser::current_session(&s, &zone, &headers).await {
        Some(session) if !logout.names(&session) => confirm(&zone, &q, &logout),
        session => finish(&s, &zone, session, &logout).await,
    }
}

/// `POST {issuer}/logout`: the confirmation form (with its CSRF token), or a relying party's
/// request sent as a form, which is answered with the same request as a GET.
pub async fn submit(
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
    let Some(sent) = form.get("csrf") else {
        return match LogoutQuery::parse(form.pairs()) {
            Ok(q) => browser::redirect(&browser::with_query(&zone.url("/logout"), &q.pairs())),
            Err(message) => pages::error(StatusCode::BAD_REQUEST, &message),
        };
    };
    let cookie = browser::cookie(&headers, &logout_cookie(&zone));
    if !cookie.is_some_and(|c| browser::same_secret(sent, &c)) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "The sign-out form has expired or was not sent from this page. Open the sign-out page again.",
        );
    }
    let (_, logout) = match checked(&s, &zone, form.pairs()).await {
        Ok(x) => x,
        Err(page) => return page,
    };
    let session = browser::current_session(&s, &zone, &headers).await;
    finish(&s, &zone, session, &logout).await
}

/// The request's parameters, checked; or the error page.
async fn checked<'a>(
    s: &AppState,
    zone: &ZoneEntry,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(LogoutQuery, Logout), Response> {
    let q = LogoutQuery::parse(pairs).map_err(|m| pages::error(StatusCode::BAD_REQUEST, &m))?;
    match protocol::check(s, zone, &q).await {
        Ok(logout) => Ok((q, logout)),
        Err(Refusal::Bad(message)) => Err(pages::error(StatusCode::BAD_REQUEST, message)),
        Err(Refusal::Failed) => Err(browser::failed()),
    }
}

/// The confirmation page, carrying the relying party's parameters.
fn confirm(zone: &ZoneEntry, q: &LogoutQuery, logout: &Logout) -> Response {
    let Ok(csrf) = latchkey_crypto::random::secret("") else {
        return browser::failed();
    };
    let client = logout.client.as_ref().map(|c| c.name.as_str());
    let mut res = pages::logout(
        &zone.zone.name,
        client,
        &zone.url("/logout"),
        &csrf,
        &q.pairs(),
    );
    browser::set_cookie(
        &mut res,
        zone,
        &logout_cookie(zone),
        &csrf,
        CONFIRM_TTL_SECONDS,
    );
    res
}

/// Ends `session` (its token sessions and their refresh tokens with it), clears the cookies and
/// sends the browser on.
async fn finish(
    s: &AppState,
    zone: &ZoneEntry,
    session: Option<Session>,
    logout: &Logout,
) -> Response {
    let mut hop = None;
    if let Some(session) = session {
        if s.store
            .revoke_session(&zone.zone.id, &session.id, Timestamp::now())
            .await
            .is_err()
        {
            return browser::failed();
        }
        hop = upstream::hop(s, zone, &session, logout.redirect.as_deref()).await;
    }
    let mut res = match (&hop, &logout.redirect) {
        (Some(hop), _) => browser::redirect(&hop.url),
        (None, Some(uri)) => browser::redirect(uri),
        (None, None) => pages::signed_out(),
    };
    browser::set_cookie(&mut res, zone, &browser::session_cookie(zone), "", 0);
    browser::set_cookie(&mut res, zone, &logout_cookie(zone), "", 0);
    if let Some(hop) = hop {
        let name = return_cookie(zone);
        browser::set_cookie(&mut res, zone, &name, &hop.cookie, CONFIRM_TTL_SECONDS);
    }
    res
}

/// `GET {issuer}/logout/return`: back from signing out at the upstream provider; on to where the
/// relying party wanted the browser, when the cookie and `state` say so, else the signed-out page.
pub async fn returned(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let cookie = browser::cookie(&headers, &return_cookie(&zone));
    let next = match (cookie, q.get("state")) {
        (Some(c), Some(state)) => upstream::back(&s, &zone, &c, state),
        _ => None,
    };
    let mut res = match next {
        Some(uri) => browser::redirect(&uri),
        None => pages::signed_out(),
    };
    browser::set_cookie(&mut res, &zone, &return_cookie(&zone), "", 0);
    res
}
