//! Sign-in, sign-up, consent and sign-out pages, and the hand-off from a signed-in browser to
//! the client: consent when the client needs it, then a single-use code.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::Timestamp;
use latchkey_domain::id::SessionId;
use latchkey_domain::model::identity::{Session, SessionType, Status, User};
use latchkey_domain::model::login::GrantData;

use super::accounts::{self, Refusal};
use super::authorize::client_error;
use super::browser::{self, AuthRequest};
use super::cache::ZoneEntry;
use super::pages::{self, LoginPage};
use super::passwords;
use crate::extract::QueryMap;
use crate::state::AppState;

/// Codes are redeemed within a minute.
pub const CODE_TTL_SECONDS: i64 = 60;

fn failed() -> Response {
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "The server failed; try again.",
    )
}

/// The browser's active web session in this zone, if any.
pub async fn current_session(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
) -> Option<Session> {
    let secret = browser::cookie(headers, &browser::session_cookie(zone))?;
    s.store
        .find_web_session(&zone.zone.id, &s.hasher.hash(&secret), Timestamp::now())
        .await
        .ok()
        .flatten()
}

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
    render_login(&s, &zone, &req, &id, &csrf, None, "").await
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
    let upstream = super::federation::login_provider(s, zone)
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

/// `POST {issuer}/login`: email and password sign-in or sign-up.
pub async fn login_submit(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    ext: Extensions,
    body: Bytes,
) -> Response {
    let form = QueryMap::parse(std::str::from_utf8(&body).unwrap_or_default());
    let (zone, req, id, csrf) = match zone_and_request(&s, &zone, form.get("request")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !csrf_ok(&headers, &zone, &form, &csrf) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "The form has expired or was not sent from this page. Go back and try again.",
        );
    }
    let email = form.get("email").unwrap_or_default().trim().to_lowercase();
    let password = form.get("password").unwrap_or_default();
    let user = if form.get("intent") == Some("signup") {
        accounts::sign_up(&s, &zone, &req, &email, password).await
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
    match start_session(&s, &zone, &user, None, None).await {
        Ok((session, cookie)) => {
            let mut res = proceed(&s, &zone, &id, &csrf, req, session).await;
            browser::set_cookie(
                &mut res,
                &zone,
                &browser::session_cookie(&zone),
                &cookie,
                browser::SESSION_TTL_SECONDS,
            );
            res
        }
        Err(r) => r,
    }
}

/// Creates a web session for `user`; returns it with the cookie value.
pub async fn start_session(
    s: &AppState,
    zone: &ZoneEntry,
    user: &User,
    provider: Option<&latchkey_domain::model::directory::Provider>,
    claims: Option<serde_json::Value>,
) -> Result<(Session, String), Response> {
    let secret = latchkey_crypto::random::secret("lk_ws_").map_err(|_| failed())?;
    let now = Timestamp::now();
    let session = Session {
        zone_id: zone.zone.id.clone(),
        id: SessionId::new(latchkey_crypto::random::id().map_err(|_| failed())?),
        organization_id: zone.zone.organization_id.clone(),
        session_type: SessionType::User,
        user_id: Some(user.id.clone()),
        application_id: None,
        user_agent_id: None,
        parent_id: None,
        provider_id: provider.map(|p| p.id.clone()),
        issuer: user.issuer.clone(),
        subject: user.subject.clone(),
        metadata_name: Some(zone.zone.name.clone()),
        session_data: claims,
        status: Status::Active,
        authenticated_at: Some(now),
        expires_at: Some(now.plus_seconds(browser::SESSION_TTL_SECONDS)),
        created_at: now,
        updated_at: now,
    };
    s.store
        .insert_web_session(&session, &s.hasher.hash(&secret))
        .await
        .map_err(|_| failed())?;
    let _ = s.store.touch_user(&zone.zone.id, &user.id, now).await;
    Ok((session, secret))
}

fn requested_scopes(req: &AuthRequest) -> Vec<String> {
    req.scope
        .as_deref()
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect()
}

/// After sign-in: upstream grants still missing, then consent if needed, then a code.
pub async fn proceed(
    s: &AppState,
    zone: &ZoneEntry,
    id: &str,
    csrf: &str,
    req: AuthRequest,
    session: Session,
) -> Response {
    let Some(user_id) = session.user_id.clone() else {
        return failed();
    };
    match super::federation::next_missing_grant(s, zone, id, &req, &user_id).await {
        Ok(Some(redirect)) => return redirect,
        Ok(None) => {}
        Err(r) => return r,
    }
    let wanted = requested_scopes(&req);
    let prompt_consent = req
        .prompt
        .as_deref()
        .is_some_and(|p| p.split_ascii_whitespace().any(|x| x == "consent"));
    let granted = s
        .store
        .get_consent(&zone.zone.id, &user_id, &req.client.client_id)
        .await
        .ok()
        .flatten();
    let covered = granted.is_some_and(|g| g.covers(&wanted, &req.resources));
    let silent = req
        .prompt
        .as_deref()
        .is_some_and(|p| p.split_ascii_whitespace().any(|x| x == "none"));
    if req.client.consent_required && (prompt_consent || !covered) && silent {
        return client_error(
            zone,
            &req.redirect_uri,
            req.state.as_deref(),
            "consent_required",
            "the user has not consented to this client",
        );
    }
    if req.client.consent_required && (prompt_consent || !covered) {
        let mut res = pages::consent(
            &zone.zone.name,
            &req.client.name,
            &zone.url("/login/consent"),
            id,
            csrf,
            &wanted,
            &req.resources,
        );
        browser::set_cookie(
            &mut res,
            zone,
            &browser::csrf_cookie(zone),
            csrf,
            browser::REQUEST_TTL_SECONDS,
        );
        return res;
    }
    issue_code(s, zone, id, req, &session).await
}

/// `POST {issuer}/login/consent`
pub async fn consent_submit(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = QueryMap::parse(std::str::from_utf8(&body).unwrap_or_default());
    let (zone, req, id, csrf) = match zone_and_request(&s, &zone, form.get("request")).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !csrf_ok(&headers, &zone, &form, &csrf) {
        return pages::error(
            StatusCode::FORBIDDEN,
            "The form has expired or was not sent from this page. Go back and try again.",
        );
    }
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
    let before = s
        .store
        .get_consent(&zone.zone.id, &user_id, &req.client.client_id)
        .await;
    let Ok(before) = before else {
        return failed();
    };
    let consent = before
        .unwrap_or_default()
        .merged(&requested_scopes(&req), &req.resources);
    if s.store
        .put_consent(&zone.zone.id, &user_id, &req.client.client_id, &consent)
        .await
        .is_err()
    {
        return failed();
    }
    issue_code(&s, &zone, &id, req, &session).await
}

/// Issues a single-use code and redirects to the client with `code`, `state` and `iss`.
async fn issue_code(
    s: &AppState,
    zone: &ZoneEntry,
    id: &str,
    req: AuthRequest,
    session: &Session,
) -> Response {
    let Some(user_id) = session.user_id.clone() else {
        return failed();
    };
    let Ok(code) = latchkey_crypto::random::secret("lk_code_") else {
        return failed();
    };
    let grant = GrantData {
        client_id: req.client.client_id.clone(),
        user_id: user_id.into_string(),
        session_id: Some(session.id.as_str().to_owned()),
        token_session_id: None,
        scope: req.scope.clone(),
        resources: req.resources.clone(),
        nonce: req.nonce.clone(),
        auth_time: session
            .authenticated_at
            .unwrap_or(session.created_at)
            .millis()
            / 1000,
        redirect_uri: Some(req.redirect_uri.clone()),
        code_challenge: req.code_challenge.clone(),
        code_challenge_method: req.code_challenge_method.clone(),
    };
    let expires = Timestamp::now().plus_seconds(CODE_TTL_SECONDS);
    if s.store
        .put_code(&zone.zone.id, &s.hasher.hash(&code), &grant, expires)
        .await
        .is_err()
    {
        return failed();
    }
    let _ = s.store.delete_auth_request(&zone.zone.id, id).await;
    let mut params = vec![("code", code.as_str()), ("iss", zone.issuer.as_str())];
    if let Some(st) = req.state.as_deref() {
        params.push(("state", st));
    }
    browser::redirect(&browser::with_query(&req.redirect_uri, &params))
}
