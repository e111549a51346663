//! Bearer authentication for the management API: API keys and service-account access tokens,
//! looked up by their keyed hash, and people's access tokens from their organization's platform
//! zone (`service::principals`).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use latchkey_domain::Timestamp;
use latchkey_domain::model::access::Principal;

use crate::error::ApiError;
use crate::service::authz::Grants;
use crate::service::{access, principals};
use crate::state::AppState;

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Auth(pub Principal);

impl Auth {
    /// The principal named by the request's `Authorization: Bearer` header, or 401.
    pub async fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Principal, ApiError> {
        let header = headers
            .get(AUTHORIZATION)
            .ok_or_else(|| ApiError::unauthenticated("missing `Authorization: Bearer` header"))?;
        let value = header
            .to_str()
            .map_err(|_| ApiError::unauthenticated("`Authorization` header is not valid text"))?;
        let token = bearer_token(value).ok_or_else(|| {
            ApiError::unauthenticated("`Authorization` header must use the Bearer scheme")
        })?;
        let found = if principals::is_jws(token) {
            principals::person(state, token).await?
        } else {
            let hash = state.hasher.hash(token);
            state.store.find_principal(&hash, Timestamp::now()).await?
        };
        found.ok_or_else(|| {
            ApiError::unauthenticated("the bearer token is invalid, expired or revoked")
        })
    }
}

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    /// The principal the route guard resolved, or (routes it does not govern) resolved here.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<Auth>() {
            return Ok(found.clone());
        }
        Ok(Auth(Self::resolve(state, &parts.headers).await?))
    }
}

impl FromRequestParts<AppState> for Grants {
    type Rejection = ApiError;

    /// The grants the route guard computed for the caller.
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(found) = parts.extensions.get::<Grants>() {
            return Ok(found.clone());
        }
        let who = Auth::from_request_parts(parts, state).await?;
        access::grants(state, &who.0).await
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
