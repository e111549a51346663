//! Access-token minting: the claim set every zone JWT carries (zone-oauth.md §5.1) and the
//! lifetime rules. Tokens are self-contained; nothing is written per token.

use latchkey_domain::Timestamp;
use latchkey_domain::model::directory::Resource;
use serde::Serialize;
use serde_json::Value;

use crate::error::OAuthError;
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Lifetime when neither the resource nor the zone says otherwise.
pub const DEFAULT_LIFETIME_SECONDS: i64 = 3600;

#[derive(Serialize)]
pub struct Claims<'a> {
    pub iss: &'a str,
    pub sub: &'a str,
    pub aud: &'a str,
    pub exp: i64,
    pub iat: i64,
    pub client_id: &'a str,
    pub jti: String,
    pub sub_profile: &'a str,
    pub keycard_app_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub act: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<&'a str>,
    /// RFC 9449: the DPoP key the token is bound to (`{"jkt": …}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Value>,
}

/// A signed token and its lifetime in seconds.
pub struct Minted {
    pub token: String,
    pub expires_in: i64,
}

pub fn lifetime(resource: &Resource) -> i64 {
    resource
        .credential_lifetime_seconds
        .unwrap_or(DEFAULT_LIFETIME_SECONDS)
}

/// A fresh token id: 128 random bits, hex.
pub fn jti() -> Result<String, OAuthError> {
    let mut b = [0u8; 16];
    latchkey_crypto::random::fill(&mut b).map_err(|_| OAuthError::server_error())?;
    Ok(latchkey_crypto::keyed_hash::hex(&b))
}

/// Signs `claims` with the zone's current key.
pub async fn sign(
    state: &Services,
    zone: &ZoneEntry,
    claims: &Claims<'_>,
) -> Result<Minted, OAuthError> {
    let payload = serde_json::to_vec(claims).map_err(|_| OAuthError::server_error())?;
    Ok(Minted {
        token: sign_payload(state, zone, &payload).await?,
        expires_in: claims.exp - claims.iat,
    })
}

/// Signs a serialized claim set with the zone's current key.
pub async fn sign_payload(
    state: &Services,
    zone: &ZoneEntry,
    payload: &[u8],
) -> Result<String, OAuthError> {
    let keys = state
        .keys
        .get(&zone.zone.id, &zone.zone.signing_alg)
        .await
        .map_err(|_| OAuthError::server_error())?;
    keys.signer
        .sign(payload)
        .map_err(|_| OAuthError::server_error())
}

/// Now, in whole seconds.
pub fn now_seconds() -> i64 {
    Timestamp::now().millis() / 1000
}

/// Signs an arbitrary claim set (user tokens with array audiences, ID tokens).
pub async fn sign_value(
    state: &Services,
    zone: &ZoneEntry,
    claims: &Value,
) -> Result<String, OAuthError> {
    let payload = serde_json::to_vec(claims).map_err(|_| OAuthError::server_error())?;
    sign_payload(state, zone, &payload).await
}
