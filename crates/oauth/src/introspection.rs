//! Token introspection (RFC 7662) and revocation (RFC 7009), both behind client authentication.
//! Access tokens are self-contained JWTs: introspection verifies them; revoking one is not
//! supported (`unsupported_token_type`), while unknown tokens succeed as RFC 7009 requires.

use serde_json::{Value, json};

use crate::client_auth;
use crate::code_grant::grant_client;
use crate::error::{OAuthError, server};
use crate::grants::verify_zone_token;
use crate::requests::TokenQuery;
use crate::services::Services;
use crate::zones::ZoneEntry;

/// The introspection response for an authenticated confidential client.
pub async fn introspect(
    s: &Services,
    zone: &ZoneEntry,
    request: &TokenQuery,
) -> Result<Value, OAuthError> {
    client_auth::authenticate(s, zone, &request.client).await?;
    let token = request.token()?;
    Ok(match verify_zone_token(s, zone, token).await {
        Some(Value::Object(mut claims)) => {
            // (a token bound to a key keeps its `cnf`, RFC 9449 §6.2)
            let kind = if claims.contains_key("cnf") {
                crate::dpop::TOKEN_TYPE
            } else {
                "Bearer"
            };
            claims.insert("active".into(), json!(true));
            claims.insert("token_type".into(), json!(kind));
            Value::Object(claims)
        }
        _ => json!({"active": false}),
    })
}

/// Revokes a refresh token of the requesting client (public clients present `client_id` alone,
/// RFC 7009 §2.1).
pub async fn revoke(
    s: &Services,
    zone: &ZoneEntry,
    request: &TokenQuery,
) -> Result<(), OAuthError> {
    let client = grant_client(s, zone, &request.client).await?;
    let token = request.token()?;
    if verify_zone_token(s, zone, token).await.is_some() {
        return Err(OAuthError::bad(
            "unsupported_token_type",
            "access tokens are self-contained and expire on their own",
        ));
    }
    s.store
        .revoke_refresh(&zone.zone.id, &s.hasher.hash(token), &client.client_id)
        .await
        .map_err(server)?;
    Ok(())
}
