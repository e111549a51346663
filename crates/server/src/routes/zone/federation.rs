//! The upstream provider endpoints: `GET {issuer}/login/upstream` (sign in through the zone's
//! identity provider) and `GET {issuer}/oauth/2/redirect` (the return from any upstream hop,
//! which only the browser that left may complete). The protocol is
//! `latchkey_oauth::federation`; finishing continues the sign-in in `login`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_domain::id::UserId;
use latchkey_domain::model::identity::Session;
use latchkey_oauth::federation::signin::{self, SignInError};
use latchkey_oauth::federation::{self as protocol, Pending, Returned, brokering};

use super::browser::{self, client_error};
use super::cache::ZoneEntry;
use super::hop::{self, binding_cookie};
use super::{login, pages};
use crate::extract::QueryMap;
use crate::state::AppState;

fn expired() -> Response {
    pages::error(
        StatusCode::BAD_REQUEST,
        "This sign-in request has expired. Start again from the application.",
    )
}

/// `GET {issuer}/login/upstream?request=…`: sign in through the zone's identity provider.
pub async fn login_upstream(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    q: QueryMap,
) -> Response {
    let zone = match browser::zone_page(&s, &zone).await {
        Ok(z) => z,
        Err(page) => return page,
    };
    let Some(id) = q.get("request") else {
        return pages::error(StatusCode::BAD_REQUEST, "The sign-in request is missing.");
    };
    let Ok(Some((req, _))) = browser::load_request(&s, &zone, id).await else {
        return expired();
    };
    let provider = match signin::login_provider(&s, &zone).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This zone has no identity provider.",
            );
        }
        Err(f) => return hop::failed(f),
    };
    let left = match signin::login_hop(id, &provider) {
        Ok((pending, scopes)) => {
            let asks = signin::sign_in_asks(&req);
            protocol::prepare_hop(&s, &zone, &provider, pending, scopes, None, asks).await
        }
        Err(f) => Err(f),
    };
    match left {
        Ok(h) => hop::leave(&zone, h),
        Err(f) => hop::failed(f),
    }
}

/// The web session a grant hop must still be signed in with: the one it was started for.
async fn grant_session(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    pending: &Pending,
) -> Result<Session, Response> {
    match browser::current_session(s, zone, headers).await {
        Some(x) if x.user_id.as_ref().map(UserId::as_str) == pending.user_id.as_deref() => Ok(x),
        _ => Err(pages::error(
            StatusCode::FORBIDDEN,
            "The sign-in session ended or belongs to another user. Start again from the application.",
        )),
    }
}

/// The pending hop behind the callback's `state`, checked to come from the browser that left.
async fn pending_of(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    q: &QueryMap,
) -> Result<Pending, Response> {
    let Some(state) = q.get("state") else {
        return Err(pages::error(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no state.",
        ));
    };
    let pending = match protocol::take_pending(s, zone, state).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return Err(pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in attempt is unknown or has expired. Start again from the application.",
            ));
        }
        Err(f) => return Err(hop::failed(f)),
    };
    // Nothing is redeemed or written for a browser other than the one that left.
    let binding = browser::cookie(headers, &binding_cookie(zone));
    if !pending.bound_to(s, binding.as_deref()) {
        tracing::warn!(zone = %zone.zone.id, "upstream callback from another browser refused");
        return Err(pages::error(
            StatusCode::FORBIDDEN,
            "This sign-in was started in another browser. Start again from the application.",
        ));
    }
    Ok(pending)
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
    match returned(&s, &zone, &headers, &q).await {
        Ok(x) => x,
        Err(page) => page,
    }
}

async fn returned(
    s: &AppState,
    zone: &ZoneEntry,
    headers: &HeaderMap,
    q: &QueryMap,
) -> Result<Response, Response> {
    let pending = pending_of(s, zone, headers, q).await?;
    // A grant hop also needs the browser still signed in as the hop's user.
    let session = match pending.login {
        true => None,
        false => Some(grant_session(s, zone, headers, &pending).await?),
    };
    let Ok(Some((req, csrf))) = browser::load_request(s, zone, &pending.request_id).await else {
        return Err(expired());
    };
    if let Some(err) = q.get("error") {
        if req.return_to.is_some() {
            return Err(pages::error(
                StatusCode::FORBIDDEN,
                &format!("The upstream provider refused the sign-in: {err}"),
            ));
        }
        return Err(client_error(
            zone,
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            &format!("the upstream provider refused: {err}"),
        ));
    }
    let Some(code) = q.get("code") else {
        return Err(pages::error(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no code.",
        ));
    };
    let (provider, tokens) = protocol::redeem(s, zone, &pending, code)
        .await
        .map_err(hop::failed)?;
    // (The binding cookie is left to expire: the response may already set it for the next hop,
    // and the state it binds is spent.)
    let back = Returned {
        provider,
        pending,
        tokens,
        req,
        csrf,
    };
    Ok(match session {
        None => finish_login(s, zone, back).await,
        Some(session) => finish_grant(s, zone, back, session).await,
    })
}

async fn finish_login(s: &AppState, zone: &ZoneEntry, back: Returned) -> Response {
    let (user, claims) = match signin::signed_in_user(s, zone, &back).await {
        Ok(x) => x,
        Err(SignInError::Failed(f)) => return hop::failed(f),
        Err(SignInError::Disabled) => {
            return pages::error(StatusCode::FORBIDDEN, "This account is disabled.");
        }
        Err(SignInError::Refused(why)) => return pages::error(StatusCode::FORBIDDEN, why),
    };
    let Returned {
        provider,
        pending,
        req,
        csrf,
        ..
    } = back;
    login::signed_in(
        s,
        zone,
        &user,
        Some(&provider),
        Some(claims),
        (&pending.request_id, &csrf),
        req,
    )
    .await
}

async fn finish_grant(
    s: &AppState,
    zone: &ZoneEntry,
    back: Returned,
    session: Session,
) -> Response {
    if let Err(f) = brokering::store_grant(s, zone, &back).await {
        return hop::failed(f);
    }
    let Returned {
        pending, req, csrf, ..
    } = back;
    login::proceed(s, zone, &pending.request_id, &csrf, req, session).await
}
