//! Sign-in, sign-up, consent and sign-out pages, and the hand-off from a signed-in browser to
//! the client: consent when the client needs it, then a single-use code.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::model::directory::Provider;
use latchkey_domain::model::identity::{Session, User};
use latchkey_oauth::federation::brokering::{self, Missing};
use latchkey_oauth::login::{self as flow, ConsentStep};

use super::accounts::{self, Refusal};
use super::browser::{self, AuthRequest, client_error, current_session, failed};
use super::cache::ZoneEntry;
use super::pages::{self, LoginPage};
use super::{hop, passwords};
use crate::extract::QueryMap;
use crate::state::AppState;

async fn zone_and_request(
    s: &AppState,
    zone: &str,
    id: Option<&str>,
) -> Result<(std::sync::Arc<ZoneEntry>, AuthRequest, String, String), Response> {
    let zone = s
        .zone(zone)
        .await
        .map_err(|e| pages::error(e.status, &e.message))?;
    let id =
        id.ok_or_else(|| pages::error(StatusCode::BAD_REQUEST, "The sign-in request is missing."))?;
    match browser::load_request(s, &zone, id).await {
        Ok(Some((req, csrf))) => Ok((zone, req, id.to_owned(), csrf)),
        Ok(None) => Err(pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in request has expired. Start again from the application.",
        )),
        Err(_) => Err(failed()),
    }
}

/// `GET {issuer}/login?request=…`
pub async fn login_page(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    q: QueryMap,
) -> Response {
    let (zone, req, id, csrf) = match zone_and_request(&s, &zone, q.get("request")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let email = req.login_hint.clone().unwrap_or_default();
    render_login(&s, &zone, &req, &id, &csrf, None, &email).await
}

async fn render_login(
    s: &AppState,
    zone: &ZoneEntry,
    req: &AuthRequest,
    id: &str,
    csrf: &str,
    error: Option<&str>,
    email: &str,
) -> Response {
    let upstream = latchkey_oauth::federation::signin::login_provider(s, zone)
        .await
        .ok()
        .flatten();
    let link = upstream.as_ref().map(|p| {
        (
            browser::with_query(&zone.url("/login/upstream"), &[("request", id)]),
            p.name.as_str(),
        )
    });
    let page = LoginPage {
        zone_name: &zone.zone.name,
        client_name: &req.client.name,
        action: &zone.url("/login"),
        request_id: id,
        csrf,
        error,
        email,
        upstream: link,
        passwords: upstream.is_none()
            || zone.zone.login_flow == latchkey_domain::model::zone::LoginFlow::IdentifierFirst,
        signup: upstream.is_none(),
    };
    let mut res = pages::login(&page);
    browser::set_cookie(
        &mut res,
        zone,
        &browser::csrf_cookie(zone),
        csrf,
        browser::REQUEST_TTL_SECONDS,
    );
    res
}

/// Checks the form's CSRF token against the stored request and the browser's cookie.
fn csrf_ok(headers: &HeaderMap, zone: &ZoneEntry, form: &QueryMap, expected: &str) -> bool {
    let cookie = browser::cookie(headers, &browser::csrf_cookie(zone));
    matches!((form.get("csrf"), cookie.as_deref()),
        (Some(a), Some(b)) if browser::same_secret(a, expected) && browser::same_secret(b, expected))
}

/// A posted sign-in or consent form: its fields, the zone, and the pending request with its id and
/// CSRF token.
struct Posted {
    form: QueryMap,
    zone: std::sync::Arc<ZoneEntry>,
    req: AuthRequest,
    id: String,
    csrf: String,
}

/// Reads a posted form, once its CSRF token matches the request's and the browser's cookie.
async fn posted(
    s: &AppState,
    zone: &str,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Posted, Response> {
    let form = QueryMap::parse(std::str::from_utf8(body).unwrap_or_default());
    let (zone, req, id, csrf) = zone_and_request(s, zone, form.get("request")).await?;
    if !csrf_ok(headers, &zone, &form, &csrf) {
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "The form has expired or was not sent from this page. Go back and try again.",
        ));
    }
    Ok(Posted {
        form,
        zone,
        req,
        id,
        csrf,
    })
}

/// `POST {issuer}/login`: email and password sign-in or sign-up.
pub async fn login_submit(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    ext: Extensions,
    body: Bytes,
) -> Response {
    let Posted {
        form,
        zone,
        req,
        id,
        csrf,
    } = match posted(&s, &zone, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let email = form.get("email").unwrap_or_default().trim().to_lowercase();
    let password = form.get("password").unwrap_or_default();
    let user = if form.get("intent") == Some("signup") {
        accounts::sign_up(&s, &zone, req.invitation.as_deref(), &email, password).await
    } else {
        accounts::sign_in(&s, &zone, &email, password, crate::extract::client_ip(&ext)).await
    };
    let user = match user {
        Ok(user) => user,
        Err(Refusal::Message(message)) => {
            return render_login(&s, &zone, &req, &id, &csrf, Some(message), &email).await;
        }
        Err(Refusal::Throttled(wait)) => {
            return pages::retry_later(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sign-in attempts. Wait a while, then try again.",
                wait,
            );
        }
        Err(Refusal::Busy) => {
            return pages::retry_later(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy signing other people in. Try again in a moment.",
                passwords::RETRY_AFTER_SECONDS,
            );
        }
    };
    signed_in(&s, &zone, &user, None, None, (&id, &csrf), req).await
}

/// Starts a web session for `user` (signed in by password or through `provider`), sets its
/// cookie, and continues request `id` (with its CSRF token).
pub async fn signed_in(
    s: &AppState,
    zone: &ZoneEntry,
    user: &User,
    provider: Option<&Provider>,
    claims: Option<serde_json::Value>,
    (id, csrf): (&str, &str),
    req: AuthRequest,
) -> Response {
    let Ok((session, cookie)) = flow::start_session(s, zone, user, provider, claims).await else {
        return failed();
    };
    let mut res = proceed(s, zone, id, csrf, req, session).await;
    browser::set_cookie(
        &mut res,
        zone,
        &browser::session_cookie(zone),
        &cookie,
        browser::SESSION_TTL_SECONDS,
    );
    res
}

/// After sign-in: back to the page that started it (the device verification page), or on to
/// upstream grants still missing, then consent if needed, then a code.
pub async fn proceed(
    s: &AppState,
    zone: &ZoneEntry,
    id: &str,
    csrf: &str,
    req: AuthRequest,
    session: Session,
) -> Response {
    if let Some(to) = &req.return_to {
        let _ = s.store.delete_auth_request(&zone.zone.id, id).await;
        return browser::redirect(to);
    }
    let Some(user_id) = session.user_id.clone() else {
        return failed();
    };
    match brokering::next_missing_grant(s, zone, id, &req, &user_id).await {
        Ok(Missing::Nothing) => {}
        Ok(Missing::Hop(h)) => return hop::leave(zone, h),
        Ok(Missing::InteractionRequired) => {
            return client_error(
                zone,
                &req.redirect_uri,
                req.state.as_deref(),
                "interaction_required",
                "an upstream authorization is needed",
            );
        }
        Err(f) => return hop::failed(f),
    }
    if let Err(e) = flow::policy_allows(s, zone, &req, &user_id).await {
        if e.error != "access_denied" {
            return failed();
        }
        let _ = s.store.delete_auth_request(&zone.zone.id, id).await;
        return client_error(
            zone,
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            &e.description,
        );
    }
    match flow::consent_step(s, zone, &req, &user_id).await {
        ConsentStep::Granted => issue_code(s, zone, id, &req, &session).await,
        ConsentStep::Required => client_error(
            zone,
            &req.redirect_uri,
            req.state.as_deref(),
            "consent_required",
            "the user has not consented to this client",
        ),
        ConsentStep::Ask => {
            let mut res = pages::consent(
                &zone.zone.name,
                &req.client.name,
                &zone.url("/login/consent"),
                id,
                csrf,
                &flow::requested_scopes(&req),
                &req.resources,
            );
            browser::set_cookie(
                &mut res,
                zone,
                &browser::csrf_cookie(zone),
                csrf,
                browser::REQUEST_TTL_SECONDS,
            );
            res
        }
    }
}

/// `POST {issuer}/login/consent`
pub async fn consent_submit(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Posted {
        form,
        zone,
        req,
        id,
        ..
    } = match posted(&s, &zone, &headers, &body).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(session) = current_session(&s, &zone, &headers).await else {
        return browser::redirect(&browser::with_query(
            &zone.url("/login"),
            &[("request", &id)],
        ));
    };
    if form.get("decision") != Some("allow") {
        let _ = s.store.delete_auth_request(&zone.zone.id, &id).await;
        return client_error(
            &zone,
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            "the user denied the request",
        );
    }
    let Some(user_id) = session.user_id.clone() else {
        return failed();
    };
    // Consent accumulates: what the user allows now adds to what they allowed before.
    if flow::record_consent(&s, &zone, &req, &user_id)
        .await
        .is_err()
    {
        return failed();
    }
    issue_code(&s, &zone, &id, &req, &session).await
}

/// Issues a single-use code and redirects to the client with `code`, `state` and `iss`.
async fn issue_code(
    s: &AppState,
    zone: &ZoneEntry,
    id: &str,
    req: &AuthRequest,
    session: &Session,
) -> Response {
    match flow::issue_code(s, zone, id, req, session).await {
        Ok(location) => browser::redirect(&location),
        Err(_) => failed(),
    }
}
