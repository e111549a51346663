//! `GET|POST {issuer}/openidconnect/userinfo` (OIDC Core §5.3): the signed-in user's claims for
//! a user access token of this zone; 401 with `WWW-Authenticate: Bearer error="invalid_token"`
//! otherwise (RFC 6750 §3).

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_domain::store::UserFilter;
use latchkey_domain::{ListFilter, PageRequest};
use serde_json::{Value, json};

use super::grants::verify_zone_token;
use super::token::no_store;
use crate::extract::auth::bearer_token;
use crate::state::AppState;

fn invalid(description: &str) -> Response {
    let body = json!({"error": "invalid_token", "error_description": description});
    let mut res = (StatusCode::UNAUTHORIZED, axum::Json(body)).into_response();
    let challenge = format!(r#"Bearer error="invalid_token", error_description="{description}""#);
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

pub async fn userinfo(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Ok(zone) = s.zone(&zone).await else {
        return invalid("unknown zone");
    };
    let Some(token) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token)
    else {
        return invalid("a bearer token is required");
    };
    let Some(claims) = verify_zone_token(&s, &zone, token).await else {
        return invalid("the token is invalid or expired");
    };
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
