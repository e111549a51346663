//! Token introspection (RFC 7662) and revocation (RFC 7009), both behind client authentication.
//! Access tokens are self-contained JWTs: introspection verifies them; revoking one is not
//! supported (`unsupported_token_type`), while unknown tokens answer 200 as RFC 7009 requires.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::client_auth;
use super::code_grant::grant_client;
use super::error::ZoneError;
use super::grants::verify_zone_token;
use super::requests::TokenQuery;
use super::token::no_store;
use crate::oauth_error::OAuthError;
use crate::state::AppState;

pub async fn introspect(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    let request = TokenQuery::parse(&body)?;
    client_auth::authenticate(&s, &zone, &headers, &request.client).await?;
    let token = request.token()?;
    let answer = match verify_zone_token(&s, &zone, token).await {
        Some(Value::Object(mut claims)) => {
            claims.insert("active".into(), json!(true));
            claims.insert("token_type".into(), json!("Bearer"));
            Value::Object(claims)
        }
        _ => json!({"active": false}),
    };
    Ok(no_store(answer))
}

pub async fn revoke(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ZoneError> {
    let zone = s.zone(&zone).await?;
    let request = TokenQuery::parse(&body)?;
    // Public clients revoke their refresh tokens with `client_id` alone (RFC 7009 §2.1).
    let client = grant_client(&s, &zone, &headers, &request.client).await?;
    let token = request.token()?;
    if verify_zone_token(&s, &zone, token).await.is_some() {
        return Err(OAuthError::bad(
            "unsupported_token_type",
            "access tokens are self-contained and expire on their own",
        )
        .into());
    }
    s.store
        .revoke_refresh(&zone.zone.id, &s.hasher.hash(token), &client.client_id)
        .await?;
    Ok(axum::http::StatusCode::OK.into_response())
}
