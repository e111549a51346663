//! Upstream providers as seen from the browser flows: signing users in through the zone's
//! `user_identity_provider_id` (OIDC authorization code + PKCE, as a client, `signin`), and
//! brokering delegated grants for `external` resources (`brokering`), with each provider's quirks
//! (`latchkey_oauth::provider`). Both leave through [`go_upstream`] and return through
//! `{issuer}/oauth/2/redirect` ([`callback`]), which only the browser that left may complete.

mod brokering;
mod signin;

pub use brokering::next_missing_grant;
pub use latchkey_oauth::provider::{pointer, upstream_token};
pub use latchkey_oauth::upstream::seal_token;
pub use signin::{login_provider, login_upstream};

use brokering::finish_grant;
use latchkey_oauth::provider::{UpstreamAsk, authorize_params, endpoint, oauth2};
use signin::finish_login;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{ProviderId, UserId};
use latchkey_domain::model::directory::{Provider, Resource};
use serde::{Deserialize, Serialize};

use super::authorize::client_error;
use super::browser::{self};
use super::cache::ZoneEntry;
use super::pages;
use crate::api::zone::paths;
use crate::extract::QueryMap;
use crate::state::AppState;

const STATE_TTL_SECONDS: i64 = 15 * 60;
const DEFAULT_GRANT_SECONDS: i64 = 3600;

fn failed(why: &str) -> Response {
    tracing::warn!(why, "upstream flow failed");
    pages::error(
        StatusCode::BAD_GATEWAY,
        &format!("The upstream provider could not be used: {why}."),
    )
}

/// What an upstream redirect is for; sealed while the browser is away.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    login: bool,
    request_id: String,
    provider_id: String,
    verifier: Option<String>,
    nonce: String,
    resource_id: Option<String>,
    user_id: Option<String>,
    /// Keyed hash of the binding cookie set on the browser that left; the callback must
    /// present the same cookie.
    browser: String,
}

/// What a completed upstream hop brings back to finish with: the provider, the pending state,
/// the provider's token response, and the sign-in request (with its CSRF token) it belongs to.
struct Returned {
    provider: Provider,
    pending: Pending,
    tokens: serde_json::Value,
    req: crate::zone::browser::AuthRequest,
    csrf: String,
}

/// The cookie that binds an upstream hop to the browser that started it.
fn binding_cookie(zone: &ZoneEntry) -> String {
    format!("lk_up_{}", zone.zone.id)
}

/// Whether the callback comes from the browser that started the hop.
fn same_browser(s: &AppState, zone: &ZoneEntry, headers: &HeaderMap, pending: &Pending) -> bool {
    browser::cookie(headers, &binding_cookie(zone))
        .is_some_and(|value| browser::same_secret(&s.hasher.hash(&value), &pending.browser))
}

/// Sends the browser to `provider`, remembering why.
async fn go_upstream(
    s: &AppState,
    zone: &ZoneEntry,
    p: &Provider,
    pending: Pending,
    scopes: Vec<String>,
    resource: Option<&Resource>,
) -> Result<Response, Response> {
    let authorize = endpoint(s, p, "authorization_endpoint")
        .await
        .ok_or_else(|| failed("no authorization endpoint"))?;
    let client_id = p
        .client_id
        .clone()
        .ok_or_else(|| failed("the provider has no client_id"))?;
    let o = oauth2(p).cloned().unwrap_or_default();
    let state = latchkey_crypto::random::secret("").map_err(|_| failed("random"))?;
    let pkce = o
        .code_challenge_methods_supported
        .as_ref()
        .is_none_or(|m| m.iter().any(|x| x == "S256"));
    let mut pending = pending;
    if pkce {
        pending.verifier = Some(latchkey_crypto::random::secret("").map_err(|_| failed("random"))?);
    }
    let binding = latchkey_crypto::random::secret("").map_err(|_| failed("random"))?;
    pending.browser = s.hasher.hash(&binding);
    let ask = UpstreamAsk {
        client_id,
        redirect_uri: zone.url(paths::REDIRECT),
        state: state.clone(),
        scopes,
        verifier: pending.verifier.clone(),
        nonce: pending.login.then(|| pending.nonce.clone()),
        resource: resource.map(|r| r.identifier.clone()),
    };
    let params = authorize_params(&o, ask);
    let sealed = s
        .sealer
        .seal(
            &format!("{}/upstream_state", zone.zone.id),
            &serde_json::to_vec(&pending).map_err(|_| failed("state"))?,
        )
        .map_err(|_| failed("seal"))?;
    let expires = Timestamp::now().plus_seconds(STATE_TTL_SECONDS);
    s.store
        .put_upstream_state(&zone.zone.id, &s.hasher.hash(&state), &sealed, expires)
        .await
        .map_err(|_| failed("store"))?;
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut res = browser::redirect(&browser::with_query(&authorize, &pairs));
    browser::set_cookie(
        &mut res,
        zone,
        &binding_cookie(zone),
        &binding,
        STATE_TTL_SECONDS,
    );
    Ok(res)
}

/// `GET {issuer}/oauth/2/redirect`: the return from an upstream provider.
pub async fn callback(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let Some(state) = q.get("state") else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no state.",
        );
    };
    let sealed = match s
        .store
        .take_upstream_state(&zone.zone.id, &s.hasher.hash(state), Timestamp::now())
        .await
    {
        Ok(Some(x)) => x,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in attempt is unknown or has expired. Start again from the application.",
            );
        }
        Err(_) => return failed("store"),
    };
    let Ok(pending) = s
        .sealer
        .open(&format!("{}/upstream_state", zone.zone.id), &sealed)
        .map_err(|_| ())
        .and_then(|b| serde_json::from_slice::<Pending>(&b).map_err(|_| ()))
    else {
        return failed("state");
    };
    // Nothing is redeemed or written for a browser other than the one that left, nor for a
    // grant hop whose browser is no longer signed in as the user it was started for.
    if !same_browser(&s, &zone, &headers, &pending) {
        tracing::warn!(zone = %zone.zone.id, "upstream callback from another browser refused");
        return pages::error(
            StatusCode::FORBIDDEN,
            "This sign-in was started in another browser. Start again from the application.",
        );
    }
    let session = if pending.login {
        None
    } else {
        match super::login::current_session(&s, &zone, &headers).await {
            Some(x) if x.user_id.as_ref().map(UserId::as_str) == pending.user_id.as_deref() => {
                Some(x)
            }
            _ => {
                return pages::error(
                    StatusCode::FORBIDDEN,
                    "The sign-in session ended or belongs to another user. Start again from the application.",
                );
            }
        }
    };
    let (req, csrf) = match browser::load_request(&s, &zone, &pending.request_id).await {
        Ok(Some(x)) => x,
        _ => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in request has expired. Start again from the application.",
            );
        }
    };
    if let Some(err) = q.get("error") {
        return client_error(
            &zone,
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            &format!("the upstream provider refused: {err}"),
        );
    }
    let Some(code) = q.get("code") else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no code.",
        );
    };
    let provider = match s
        .store
        .get_provider(&zone.zone.id, &ProviderId::new(&pending.provider_id))
        .await
    {
        Ok(Some(p)) => p,
        _ => return failed("the provider no longer exists"),
    };
    let redirect_uri = zone.url(paths::REDIRECT);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    if let Some(v) = &pending.verifier {
        form.push(("code_verifier", v));
    }
    let tokens = match upstream_token(&s, &provider, &form).await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    // (The binding cookie is left to expire: the response may already set it for the next hop,
    // and the state it binds is spent.)
    let back = Returned {
        provider,
        pending,
        tokens,
        req,
        csrf,
    };
    match session {
        None => finish_login(&s, &zone, back).await,
        Some(session) => finish_grant(&s, &zone, back, session).await,
    }
}
