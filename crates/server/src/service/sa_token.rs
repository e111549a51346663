//! `POST /service-account-token`: the client-credentials grant for service-account credentials
//! (spec §1.3). Issues an opaque bearer token stored as its keyed hash, so deleting the
//! credential or account revokes it at once.

use latchkey_domain::Timestamp;
use latchkey_domain::model::access::ServiceAccountToken;

use crate::oauth_error::OAuthError;
use crate::state::AppState;

/// Lifetime of a service-account access token.
pub const TOKEN_TTL_SECONDS: i64 = 3600;
/// Prefix of service-account access tokens.
pub const TOKEN_PREFIX: &str = "lk_sat_";

/// Client credentials as presented.
#[derive(Debug)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// Authenticates the credential and issues a token: `(access_token, expires_in)`.
pub async fn issue(
    state: &AppState,
    grant_type: Option<&str>,
    creds: ClientCredentials,
) -> Result<(String, i64), OAuthError> {
    match grant_type {
        None | Some("") => return Err(OAuthError::invalid_request("missing `grant_type`")),
        Some("client_credentials") => {}
        Some(other) => return Err(OAuthError::unsupported_grant_type(other)),
    }
    let found = state
        .store
        .find_credential_by_client_id(&creds.client_id)
        .await
        .map_err(|e| {
            tracing::error!(cause = %e, "credential lookup failed");
            OAuthError::server_error()
        })?;
    // Hash even when the client is unknown so both paths cost the same.
    let valid = match &found {
        Some(c) => state.hasher.verify(&creds.client_secret, &c.secret_hash),
        None => {
            let _ = state.hasher.hash(&creds.client_secret);
            false
        }
    };
    let cred = match found {
        Some(c) if valid => c,
        _ => return Err(OAuthError::invalid_client()),
    };
    let token =
        latchkey_crypto::random::secret(TOKEN_PREFIX).map_err(|_| OAuthError::server_error())?;
    let now = Timestamp::now();
    let record = ServiceAccountToken {
        token_hash: state.hasher.hash(&token),
        organization_id: cred.organization_id,
        service_account_id: cred.service_account_id,
        credential_id: cred.id,
        expires_at: now.plus_seconds(TOKEN_TTL_SECONDS),
        created_at: now,
    };
    state
        .store
        .record_token_issued(&record)
        .await
        .map_err(|e| {
            tracing::error!(cause = %e, "recording token failed");
            OAuthError::server_error()
        })?;
    Ok((token, TOKEN_TTL_SECONDS))
}
