//! Signing in to the console: the person picks an organization, signs in at its platform zone
//! (authorization code + PKCE with the first-party public client `latchkey-console`, for the
//! management API as resource), and comes back to `/console/callback`, where the code is
//! redeemed in process and the session cookie set. Also switching organization and signing out
//! (which ends the token's session on the server, not just the cookie).

use axum::Form;
use axum::extract::{Query, State};
use axum::http::Extensions;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_domain::id::OrganizationId;
use maud::html;
use serde::{Deserialize, Serialize};

use super::ConsoleState;
use super::api::with_query;
use super::layout::{self, redirect, to_sign_in};
use super::session::{self, Ctx, Session};
use crate::service::platform_zone::CONSOLE_CLIENT_ID;

const LOGIN_COOKIE: &str = "lk_console_login";
const LOGIN_CONTEXT: &str = "console/login/v1";
/// A sign-in must come back within ten minutes.
const LOGIN_MS: i64 = 10 * 60 * 1000;

/// What the browser carries between the redirect out and the callback.
#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    nonce: String,
    organization_id: String,
    organization_name: String,
    zone_id: String,
    at: i64,
}

#[derive(Deserialize)]
pub struct SignInQuery {
    organization: Option<String>,
    error: Option<String>,
}

/// `GET /console/sign-in`: choose the organization (default: the server's default one).
pub async fn page(State(state): State<ConsoleState>, Query(q): Query<SignInQuery>) -> Response {
    if let Some(org) = q.organization.as_deref().filter(|o| !o.trim().is_empty()) {
        return start(&state, org.trim()).await;
    }
    let default = state
        .app
        .store
        .get_organization(&state.app.default_org)
        .await
        .ok()
        .flatten();
    let body = html! {
        h1 { "Sign in to Latchkey" }
        @if let Some(e) = &q.error { div.error role="alert" { (e) } }
        @if let Some(org) = &default {
            p { a.button #sign-in-default href=(with_query("/console/sign-in", &[("organization", org.id.as_str())])) { "Sign in to " (org.name) } }
        }
        form method="get" action="/console/sign-in" {
            label for="organization" { "Another organization (id or label)" }
            input #organization name="organization" type="text" required maxlength="128" autocomplete="organization";
            button.secondary type="submit" { "Continue" }
        }
    };
    layout::bare("Sign in", body)
}

/// Redirects to the organization's platform zone with a fresh PKCE pair, state and nonce.
async fn start(state: &ConsoleState, org: &str) -> Response {
    let found = match state
        .app
        .store
        .get_organization(&OrganizationId::new(org.to_owned()))
        .await
    {
        Ok(Some(o)) => Some(o),
        Ok(None) => state
            .app
            .store
            .find_organization_by_label(org)
            .await
            .ok()
            .flatten(),
        Err(_) => None,
    };
    let Some(org) = found else {
        return redirect(&with_query(
            "/console/sign-in",
            &[("error", "No organization has that id or label.")],
        ));
    };
    let (Ok(st), Ok(verifier), Ok(nonce)) = (
        latchkey_crypto::random::secret(""),
        latchkey_crypto::random::secret(""),
        latchkey_crypto::random::secret(""),
    ) else {
        return layout::failure();
    };
    let pending = Pending {
        state: st.clone(),
        verifier: verifier.clone(),
        nonce: nonce.clone(),
        organization_id: org.id.to_string(),
        organization_name: org.name.clone(),
        zone_id: org.zone_id.to_string(),
        at: session::now(),
    };
    let Some(sealed) = seal_pending(state, &pending) else {
        return layout::failure();
    };
    let challenge =
        URL_SAFE_NO_PAD.encode(latchkey_crypto::keyed_hash::sha256(verifier.as_bytes()));
    let issuer = state.app.zone_issuer(org.zone_id.as_str());
    let callback = format!("{}/console/callback", state.app.public_url);
    let url = with_query(
        &format!("{issuer}/oauth/2/authorize"),
        &[
            ("response_type", "code"),
            ("client_id", CONSOLE_CLIENT_ID),
            ("redirect_uri", &callback),
            ("scope", "openid email"),
            ("resource", &state.app.public_url),
            ("state", &st),
            ("nonce", &nonce),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    let mut res = redirect(&url);
    // Lax: it must come back on the top-level redirect from the sign-in page.
    let cookie = session::set_cookie(state, LOGIN_COOKIE, &sealed, LOGIN_MS / 1000)
        .replace("SameSite=Strict", "SameSite=Lax");
    session::append_cookie(&mut res, &cookie);
    res
}

fn seal_pending(state: &ConsoleState, p: &Pending) -> Option<String> {
    let json = serde_json::to_vec(p).ok()?;
    let sealed = state.app.sealer.seal(LOGIN_CONTEXT, &json).ok()?;
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

fn open_pending(state: &ConsoleState, value: &str) -> Option<Pending> {
    let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
    let json = state.app.sealer.open(LOGIN_CONTEXT, &sealed).ok()?;
    serde_json::from_slice(&json).ok()
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /console/callback`: checks `state` against the browser's pending sign-in, redeems the
/// code and starts the session.
pub async fn callback(
    State(state): State<ConsoleState>,
    headers: axum::http::HeaderMap,
    extensions: Extensions,
    Query(q): Query<Callback>,
) -> Response {
    let pending = session::cookie(&headers, LOGIN_COOKIE)
        .and_then(|v| open_pending(&state, &v))
        .filter(|p| session::now() - p.at < LOGIN_MS);
    let Some(pending) = pending else {
        return sign_in_error(
            "This sign-in expired or was started in another browser. Sign in again.",
        );
    };
    let same_state = q.state.as_deref().is_some_and(|s| {
        latchkey_crypto::keyed_hash::constant_time_eq(s.as_bytes(), pending.state.as_bytes())
    });
    if !same_state {
        return sign_in_error(
            "This sign-in does not match the one this browser started. Sign in again.",
        );
    }
    if let Some(e) = q.error {
        let text = q.error_description.unwrap_or(e);
        return sign_in_error(&format!("Sign-in did not complete: {text}"));
    }
    let Some(code) = q.code else {
        return sign_in_error("Sign-in did not return a code.");
    };
    match redeem(&state, &extensions, &pending, &code).await {
        Some(s) => {
            let mut res = redirect("/console/zones");
            if let Some(c) = session::session_cookie(&state, &s) {
                session::append_cookie(&mut res, &c);
            }
            let current = session::set_cookie(
                &state,
                session::CURRENT,
                &s.organization_id,
                session::ABSOLUTE_MS / 1000,
            );
            session::append_cookie(&mut res, &current);
            session::append_cookie(&mut res, &session::set_cookie(&state, LOGIN_COOKIE, "", 0));
            res
        }
        None => sign_in_error("The sign-in code could not be redeemed. Sign in again."),
    }
}

fn sign_in_error(message: &str) -> Response {
    redirect(&with_query("/console/sign-in", &[("error", message)]))
}

/// Redeems the code at the platform zone's token endpoint (in process).
async fn redeem(
    state: &ConsoleState,
    ext: &Extensions,
    p: &Pending,
    code: &str,
) -> Option<Session> {
    let callback = format!("{}/console/callback", state.app.public_url);
    let tokens = state
        .api
        .post_form(
            ext,
            &format!("/z/{}/oauth/2/token", p.zone_id),
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &callback),
                ("client_id", CONSOLE_CLIENT_ID),
                ("code_verifier", &p.verifier),
                ("resource", &state.app.public_url),
            ],
        )
        .await
        .ok()?;
    let claims = tokens
        .get("id_token")
        .and_then(|t| t.as_str())
        .and_then(jwt_claims)
        .unwrap_or_default();
    if claims.get("nonce").and_then(|n| n.as_str()) != Some(p.nonce.as_str()) {
        return None;
    }
    let now = session::now();
    let mut s = Session {
        organization_id: p.organization_id.clone(),
        organization_name: p.organization_name.clone(),
        zone_id: p.zone_id.clone(),
        email: claims
            .get("email")
            .and_then(|e| e.as_str())
            .unwrap_or("")
            .to_owned(),
        access_token: String::new(),
        refresh_token: None,
        access_expires_at: 0,
        started_at: now,
        last_seen: now,
        csrf: latchkey_crypto::random::secret("").ok()?,
    };
    session::apply_tokens(&mut s, &tokens, now)?;
    Some(s)
}

/// The claims of a JWT this server just issued to us in process (not verified again).
fn jwt_claims(jwt: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let payload = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

/// `POST /console/sign-out`: revokes the refresh token (which ends the token session) and
/// forgets the organization's session in this browser.
pub async fn sign_out(
    State(state): State<ConsoleState>,
    ctx: Ctx,
    Form(f): Form<CsrfOnly>,
) -> Response {
    if !layout::csrf_ok(&ctx, &f.csrf) {
        return layout::csrf_refused();
    }
    if let Some(rt) = &ctx.session.refresh_token {
        let _ = ctx
            .api
            .post_form(
                &ctx.context,
                &format!("/z/{}/oauth/2/revoke", ctx.session.zone_id),
                &[
                    ("token", rt),
                    ("token_type_hint", "refresh_token"),
                    ("client_id", CONSOLE_CLIENT_ID),
                ],
            )
            .await;
    }
    end_token_session(&state, &ctx.session).await;
    let mut res = redirect(&with_query(
        "/console/sign-in",
        &[("error", "You are signed out.")],
    ));
    let gone = session::set_cookie(&state, &session::cookie_name(ctx.org()), "", 0);
    session::append_cookie(&mut res, &gone);
    res
}

/// Ends the session the console's token belongs to (its `sid`) and everything below it, so the
/// access token stops working on the management API at once, even if the cookie was copied; and
/// the platform zone's browser session it was started from, so that signing in again asks for
/// the password (on a shared computer the next person is not let straight back in).
async fn end_token_session(state: &ConsoleState, s: &Session) {
    let Some(sid) = jwt_claims(&s.access_token)
        .and_then(|c| c.get("sid").and_then(|v| v.as_str()).map(str::to_owned))
    else {
        return;
    };
    let store = &state.app.store;
    let zone = latchkey_domain::id::ZoneId::new(s.zone_id.clone());
    let sid = latchkey_domain::id::SessionId::new(sid);
    let now = latchkey_domain::time::Timestamp::now();
    let parent = store
        .get_session(&zone, &sid)
        .await
        .ok()
        .flatten()
        .and_then(|t| t.parent_id);
    let _ = store.revoke_session(&zone, &sid, now).await;
    if let Some(web) = parent {
        let _ = store.end_web_session(&zone, web.as_str(), now).await;
    }
}

#[derive(Deserialize)]
pub struct Switch {
    csrf: String,
    organization: String,
}

/// `POST /console/switch`: makes another signed-in organization the current one.
pub async fn switch(
    State(state): State<ConsoleState>,
    ctx: Ctx,
    Form(f): Form<Switch>,
) -> Response {
    if !layout::csrf_ok(&ctx, &f.csrf) {
        return layout::csrf_refused();
    }
    if !ctx.others.iter().any(|(id, _)| *id == f.organization) {
        return to_sign_in(Some(&f.organization));
    }
    let mut res = redirect("/console/zones");
    let current = session::set_cookie(
        &state,
        session::CURRENT,
        &f.organization,
        session::ABSOLUTE_MS / 1000,
    );
    session::append_cookie(&mut res, &current);
    res
}
