//! Bearer authentication for the management API: API keys and service-account access tokens,
//! looked up by their keyed hash.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use latchkey_domain::Timestamp;
use latchkey_domain::model::access::Principal;

use crate::error::ApiError;
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("missing `Authorization: Bearer` header"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthenticated("`Authorization` header is not valid text"))?;
        let token = bearer_token(value).ok_or_else(|| {
            ApiError::unauthenticated("`Authorization` header must use the Bearer scheme")
        })?;
        let hash = state.hasher.hash(token);
        state
            .store
            .find_principal(&hash, Timestamp::now())
            .await?
            .inspect(|p| crate::audit::identify(&parts.extensions, p))
            .map(Auth)
            .ok_or_else(|| {
                ApiError::unauthenticated("the bearer token is invalid, expired or revoked")
            })
    }
}

/// The token of a `Bearer` authorization value (scheme matched case-insensitively).
pub fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
