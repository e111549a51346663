//! The console's sign-in state: one sealed cookie per organization the browser is signed in to
//! (`lk_console_o_{organization_id}`: the person's tokens, their CSRF secret and timestamps,
//! sealed with AES-256-GCM under the master key so the browser can neither read nor forge it),
//! and `lk_console_org` naming the current one. Nothing is kept on the server, so any instance
//! can serve any request. A session ends after 30 minutes idle or 12 hours in all; the access
//! token is refreshed (rotating the refresh token) when it is about to expire.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_domain::time::Timestamp;
use serde::{Deserialize, Serialize};

use super::ConsoleState;
use super::api::{Api, Call};

/// Idle time after which a console session ends.
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// Time after which a console session ends however busy it is.
pub const ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;
/// `last_seen` is rewritten (a new cookie) at most this often.
const TOUCH_MS: i64 = 60 * 1000;
/// Refresh the access token when it has less than this left.
const REFRESH_MARGIN_MS: i64 = 60 * 1000;

const SEAL_CONTEXT: &str = "console/session/v1";
const PREFIX: &str = "lk_console_o_";
pub const CURRENT: &str = "lk_console_org";

/// A person's console session in one organization.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    pub organization_id: String,
    pub organization_name: String,
    /// The organization's platform zone (where the person signed in).
    pub zone_id: String,
    pub email: String,
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub access_expires_at: i64,
    pub started_at: i64,
    pub last_seen: i64,
    /// Every form carries it; a POST without it is refused.
    pub csrf: String,
}

/// What a console page has at hand: the session, the other organizations signed in to, and the
/// request's context for API calls.
#[derive(Clone)]
pub struct Ctx {
    pub session: Session,
    pub others: Vec<(String, String)>,
    pub api: Api,
    pub context: axum::http::Extensions,
}

impl Ctx {
    pub fn call(&self) -> Call<'_> {
        Call {
            token: &self.session.access_token,
            context: &self.context,
        }
    }

    pub fn org(&self) -> &str {
        &self.session.organization_id
    }
}

fn now_ms() -> i64 {
    Timestamp::now().millis()
}

pub fn cookie_name(organization_id: &str) -> String {
    format!("{PREFIX}{organization_id}")
}

/// Seals a session into a cookie value.
pub fn seal(state: &ConsoleState, session: &Session) -> Option<String> {
    let json = serde_json::to_vec(session).ok()?;
    let sealed = state.app.sealer.seal(SEAL_CONTEXT, &json).ok()?;
    Some(URL_SAFE_NO_PAD.encode(sealed))
}

fn open(state: &ConsoleState, value: &str) -> Option<Session> {
    let sealed = URL_SAFE_NO_PAD.decode(value).ok()?;
    let json = state.app.sealer.open(SEAL_CONTEXT, &sealed).ok()?;
    serde_json::from_slice(&json).ok()
}

/// Whether the session is still within its idle and absolute limits.
fn alive(s: &Session, now: i64) -> bool {
    now - s.last_seen < IDLE_MS && now - s.started_at < ABSOLUTE_MS
}

/// `name=value` pairs of the request's cookies.
fn cookies(headers: &HeaderMap) -> impl Iterator<Item = (String, String)> + '_ {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            Some((k.to_owned(), v.to_owned()))
        })
}

pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    cookies(headers).find_map(|(k, v)| (k == name).then_some(v))
}

/// Every live session the browser holds, by organization.
fn sessions(state: &ConsoleState, headers: &HeaderMap, now: i64) -> Vec<Session> {
    cookies(headers)
        .filter(|(k, _)| k.starts_with(PREFIX))
        .filter_map(|(k, v)| {
            let s = open(state, &v)?;
            (k == cookie_name(&s.organization_id) && alive(&s, now)).then_some(s)
        })
        .collect()
}

/// A `Set-Cookie` value for the console's path: HttpOnly, SameSite=Strict, Secure on https.
pub fn set_cookie(state: &ConsoleState, name: &str, value: &str, max_age_s: i64) -> String {
    let secure = if state.app.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    format!("{name}={value}; Path=/console; Max-Age={max_age_s}; HttpOnly; SameSite=Strict{secure}")
}

pub fn append_cookie(res: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// The session cookie for `s`, expiring with its absolute limit.
pub fn session_cookie(state: &ConsoleState, s: &Session) -> Option<String> {
    let value = seal(state, s)?;
    let left = (s.started_at + ABSOLUTE_MS - now_ms()) / 1000;
    Some(set_cookie(
        state,
        &cookie_name(&s.organization_id),
        &value,
        left.max(0),
    ))
}

/// Middleware over the signed-in pages: finds the current session, refreshes its token when
/// due, hands a [`Ctx`] to the handler, and rewrites the cookie when the session changed. Without
/// a live session, the browser goes to the sign-in page.
pub async fn require(State(state): State<ConsoleState>, mut req: Request, next: Next) -> Response {
    let now = now_ms();
    let all = sessions(&state, req.headers(), now);
    let current = cookie(req.headers(), CURRENT);
    let chosen = current
        .as_deref()
        .and_then(|org| all.iter().find(|s| s.organization_id == org))
        .or_else(|| all.first())
        .cloned();
    let Some(mut session) = chosen else {
        return super::nav::to_sign_in(None);
    };
    let mut changed = false;
    if session.access_expires_at - now < REFRESH_MARGIN_MS {
        match refresh(&state.api, req.extensions(), &mut session, now).await {
            Some(()) => changed = true,
            None => return super::nav::to_sign_in(Some(&session.organization_id)),
        }
    }
    if now - session.last_seen > TOUCH_MS {
        session.last_seen = now;
        changed = true;
    }
    let others = all
        .iter()
        .filter(|s| s.organization_id != session.organization_id)
        .map(|s| (s.organization_id.clone(), s.organization_name.clone()))
        .collect();
    let ctx = Ctx {
        session: session.clone(),
        others,
        api: state.api.clone(),
        context: req.extensions().clone(),
    };
    req.extensions_mut().insert(ctx);
    let mut res = next.run(req).await;
    // A handler that set this cookie itself has the last word: sign-out clears it, and a
    // refreshed copy appended after the clearing would sign the browser straight back in.
    let name = cookie_name(&session.organization_id);
    if changed
        && !sets_cookie(res.headers(), &name)
        && let Some(c) = session_cookie(&state, &session)
    {
        append_cookie(&mut res, &c);
    }
    res
}

/// Whether `headers` already carry a `Set-Cookie` for `name`.
fn sets_cookie(headers: &HeaderMap, name: &str) -> bool {
    headers.get_all(header::SET_COOKIE).iter().any(|v| {
        v.to_str()
            .ok()
            .and_then(|v| v.split_once('='))
            .is_some_and(|(k, _)| k.trim() == name)
    })
}

/// Uses the refresh token (and stores the rotated one).
async fn refresh(
    api: &Api,
    context: &axum::http::Extensions,
    session: &mut Session,
    now: i64,
) -> Option<()> {
    let refresh_token = session.refresh_token.clone()?;
    let path = format!("/z/{}/oauth/2/token", session.zone_id);
    let tokens = api
        .post_form(
            context,
            &path,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token),
                (
                    "client_id",
                    crate::service::platform_zone::CONSOLE_CLIENT_ID,
                ),
            ],
        )
        .await
        .ok()?;
    apply_tokens(session, &tokens, now)
}

/// Takes the tokens of a token response into the session.
pub fn apply_tokens(session: &mut Session, tokens: &serde_json::Value, now: i64) -> Option<()> {
    session.access_token = tokens.get("access_token")?.as_str()?.to_owned();
    if let Some(r) = tokens.get("refresh_token").and_then(|v| v.as_str()) {
        session.refresh_token = Some(r.to_owned());
    }
    let expires_in = tokens
        .get("expires_in")
        .and_then(serde_json::Value::as_i64)
        .unwrap_or(300);
    session.access_expires_at = now + expires_in * 1000;
    Some(())
}

/// The page context of a signed-in request (set by [`require`]).
impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Ctx {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| super::nav::to_sign_in(None).into_response())
    }
}

pub fn now() -> i64 {
    now_ms()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(started: i64, seen: i64) -> Session {
        Session {
            organization_id: "o".into(),
            organization_name: "O".into(),
            zone_id: "z".into(),
            email: "a@example.com".into(),
            access_token: "t".into(),
            refresh_token: None,
            access_expires_at: 0,
            started_at: started,
            last_seen: seen,
            csrf: "c".into(),
        }
    }

    #[test]
    fn sessions_end_when_idle_or_old() {
        let now = ABSOLUTE_MS * 2;
        assert!(alive(&session(now - 1000, now - 1000), now));
        assert!(!alive(&session(now - 1000, now - IDLE_MS), now));
        assert!(!alive(&session(now - ABSOLUTE_MS, now - 10), now));
    }

    #[test]
    fn a_cookie_the_handler_set_is_found_by_its_exact_name() {
        let mut h = HeaderMap::new();
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static("lk_console_o_ab=x; Path=/"),
        );
        h.append(
            header::SET_COOKIE,
            HeaderValue::from_static("lk_console_o_a=; Max-Age=0"),
        );
        assert!(sets_cookie(&h, "lk_console_o_a"));
        assert!(sets_cookie(&h, "lk_console_o_ab"));
        assert!(!sets_cookie(&h, "lk_console_o_b"));
        assert!(!sets_cookie(&HeaderMap::new(), "lk_console_o_a"));
    }
}
