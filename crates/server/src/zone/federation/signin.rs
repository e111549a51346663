//! Signing users in through the zone's identity provider: the hop out, the ID token checks
//! (signature, issuer, audience, expiry, nonce), and the user found or created on return.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use latchkey_crypto::jws::Compact;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{ProviderId, UserId};
use latchkey_domain::model::directory::Provider;
use latchkey_domain::model::identity::User;
use latchkey_domain::store::UserFilter;
use latchkey_domain::{ListFilter, PageRequest};
use serde_json::Value;

use super::*;
use crate::extract::QueryMap;
use crate::state::AppState;
use crate::zone::browser::{self};
use crate::zone::cache::ZoneEntry;
use crate::zone::pages;
use latchkey_oauth::provider::*;

/// The zone's user identity provider, when one is set.
pub async fn login_provider(s: &AppState, zone: &ZoneEntry) -> Result<Option<Provider>, Response> {
    let Some(id) = &zone.zone.user_identity_provider_id else {
        return Ok(None);
    };
    s.store
        .get_provider(&zone.zone.id, &ProviderId::new(id))
        .await
        .map_err(|_| failed("store"))
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
    if !matches!(browser::load_request(&s, &zone, id).await, Ok(Some(_))) {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in request has expired. Start again from the application.",
        );
    }
    let provider = match login_provider(&s, &zone).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This zone has no identity provider.",
            );
        }
        Err(r) => return r,
    };
    let Ok(nonce) = latchkey_crypto::random::secret("") else {
        return failed("random");
    };
    let mut scopes = vec!["openid".to_owned(), "profile".into(), "email".into()];
    for extra in provider
        .protocols
        .as_ref()
        .and_then(|x| x.openid.as_ref())
        .and_then(|o| o.scopes.clone())
        .unwrap_or_default()
    {
        if !scopes.contains(&extra) {
            scopes.push(extra);
        }
    }
    let pending = Pending {
        login: true,
        request_id: id.to_owned(),
        provider_id: provider.id.as_str().to_owned(),
        verifier: None,
        nonce,
        resource_id: None,
        user_id: None,
        browser: String::new(),
    };
    go_upstream(&s, &zone, &provider, pending, scopes, None)
        .await
        .unwrap_or_else(|r| r)
}

/// Verifies an upstream ID token against the provider's keys, issuer, audience and nonce.
pub(super) async fn id_token_claims(
    s: &AppState,
    p: &Provider,
    token: &str,
    nonce: &str,
) -> Result<Value, String> {
    let c = Compact::parse(token).ok_or("malformed id_token")?;
    let jwks_url = endpoint(s, p, "jwks_uri").await.ok_or("no jwks_uri")?;
    let key = s
        .fetcher
        .signing_key(&jwks_url, &c)
        .await
        .map_err(|e| e.to_string())?;
    let verified = key.is_some_and(|k| c.verify_with(&k));
    if !verified {
        return Err("id_token signature".into());
    }
    let claims = c.claims;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => Some(a.as_str()) == p.client_id.as_deref(),
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == p.client_id.as_deref()),
        _ => false,
    };
    let iss_ok = claims
        .get("iss")
        .and_then(Value::as_str)
        .map(|i| i.trim_end_matches('/'))
        == Some(issuer_of(p).trim_end_matches('/'));
    let exp_ok = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|e| e + 60 > Timestamp::now().millis() / 1000);
    let nonce_ok = claims.get("nonce").and_then(Value::as_str) == Some(nonce);
    if aud_ok && iss_ok && exp_ok && nonce_ok {
        Ok(claims)
    } else {
        Err("id_token claims".into())
    }
}

pub(super) async fn finish_login(s: &AppState, zone: &ZoneEntry, back: Returned) -> Response {
    let Returned {
        provider,
        pending,
        tokens,
        req,
        csrf,
    } = back;
    let (p, pending) = (&provider, &pending);
    let mut claims = match tokens.get("id_token").and_then(Value::as_str) {
        Some(t) => match id_token_claims(s, p, t, &pending.nonce).await {
            Ok(c) => c,
            Err(e) => return failed(&e),
        },
        None => Value::Object(Default::default()),
    };
    if claims.get("sub").is_none() || claims.get("email").is_none() {
        let access = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(url) = endpoint(s, p, "userinfo_endpoint").await
            && let Ok(info) = s.fetcher.get_bearer(&url, access).await
            && let (Some(obj), Some(extra)) = (claims.as_object_mut(), info.as_object())
        {
            for (k, v) in extra {
                obj.entry(k.clone()).or_insert(v.clone());
            }
        }
    }
    let Some(subject) = claims.get("sub").and_then(Value::as_str).map(str::to_owned) else {
        return failed("no subject");
    };
    let user = match find_or_create_user(s, zone, p, &subject, &claims).await {
        Ok(u) => u,
        Err(e) => return failed(e),
    };
    if user.status != "active" {
        return pages::error(StatusCode::FORBIDDEN, "This account is disabled.");
    }
    match crate::zone::login::start_session(s, zone, &user, Some(p), Some(claims)).await {
        Ok((session, cookie)) => {
            let mut res =
                crate::zone::login::proceed(s, zone, &pending.request_id, &csrf, req, session)
                    .await;
            browser::set_cookie(
                &mut res,
                zone,
                &browser::session_cookie(zone),
                &cookie,
                browser::SESSION_TTL_SECONDS,
            );
            res
        }
        Err(r) => r,
    }
}

pub(super) async fn find_or_create_user(
    s: &AppState,
    zone: &ZoneEntry,
    p: &Provider,
    subject: &str,
    claims: &Value,
) -> Result<User, &'static str> {
    let issuer = issuer_of(p);
    let f = UserFilter {
        list: ListFilter::default()
            .exact("issuer", vec![issuer.clone()])
            .exact("subject", vec![subject.to_owned()]),
        external: None,
    };
    if let Some(u) = s
        .store
        .list_users(&zone.zone.id, &f, &PageRequest::first(1))
        .await
        .map_err(|_| "store")?
        .items
        .pop()
    {
        return Ok(u);
    }
    let id = latchkey_crypto::random::id().map_err(|_| "random")?;
    let claim = p
        .protocols
        .as_ref()
        .and_then(|x| x.openid.as_ref())
        .and_then(|o| o.user_identifier_claim.clone());
    let identifier = claim
        .and_then(|c| claims.get(&c).and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| id.clone());
    let now = Timestamp::now();
    let user = User {
        zone_id: zone.zone.id.clone(),
        id: UserId::new(&id),
        organization_id: zone.zone.organization_id.clone(),
        email: claims
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
        email_verified: claims
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        external: false,
        identifier,
        status: "active".into(),
        authenticated_at: Some(now),
        issuer: Some(issuer),
        provider_id: Some(p.id.clone()),
        subject: Some(subject.to_owned()),
        password_hash: None,
        created_at: now,
        updated_at: now,
    };
    s.store
        .insert_user(&user)
        .await
        .map_err(|_| "the user could not be created")?;
    Ok(user)
}
