//! `GET|POST {issuer}/openidconnect/userinfo` (OIDC Core §5.3): the signed-in user's claims for
//! a user access token of this zone, presented as `Bearer`, or (a token bound to a key) as
//! `DPoP` with a proof (RFC 9449 §7, `latchkey_oauth::dpop::presented`); 401 with
//! `WWW-Authenticate: Bearer error="invalid_token"` (or `DPoP …`) otherwise (RFC 6750 §3).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_domain::store::UserFilter;
use latchkey_domain::{ListFilter, PageRequest};
use serde_json::{Value, json};

use latchkey_oauth::dpop::{self, Scheme};
use latchkey_oauth::paths;

use super::grants::verify_zone_token;
use super::token::{dpop_proofs, no_store};
use crate::state::AppState;

fn invalid(description: &str) -> Response {
    challenge(Scheme::Bearer, description)
}

/// 401 `invalid_token` with a challenge of `scheme` (a DPoP challenge names its algorithms).
fn challenge(scheme: Scheme, description: &str) -> Response {
    let body = json!({"error": "invalid_token", "error_description": description});
    let mut res = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    let description = description.replace('"', "'");
    let challenge = match scheme {
        Scheme::Bearer => {
            format!(r#"Bearer error="invalid_token", error_description="{description}""#)
        }
        Scheme::DPoP => format!(
            r#"DPoP error="invalid_token", error_description="{description}", algs="{}""#,
            dpop::ALGS.join(" ")
        ),
    };
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

pub async fn userinfo(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Ok(zone) = s.zone(&zone).await else {
        return invalid("unknown zone");
    };
    let Some((scheme, token)) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(dpop::authorization)
    else {
        return invalid("a bearer token is required");
    };
    let url = zone.url(paths::USERINFO);
    let at = dpop::Request {
        method: method.as_str(),
        url: &url,
        access_token: Some(token),
    };
    let Some(claims) = verify_zone_token(&s, &zone, token).await else {
        return challenge(scheme, "the token is invalid or expired");
    };
    if let Err(why) = dpop::presented(&s, &zone, scheme, &dpop_proofs(&headers), &at, &claims).await
    {
        return challenge(scheme, &why);
    }
    if claims.get("sub_profile").and_then(Value::as_str) != Some("user") {
        return invalid("the token does not belong to a user");
    }
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let filter = UserFilter {
        list: ListFilter::default().exact("identifier", vec![sub.clone()]),
        external: None,
    };
    let user = match s
        .store
        .list_users(&zone.zone.id, &filter, &PageRequest::first(1))
        .await
    {
        Ok(mut p) => p.items.pop(),
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "server error").into_response(),
    };
    match user.filter(|u| u.status == "active") {
        Some(u) => no_store(
            json!({"sub": sub, "email": u.email, "email_verified": u.email_verified, "updated_at": u.updated_at.millis() / 1000}),
        ),
        None => invalid("the user no longer exists"),
    }
}
