//! Errors of the zone endpoints: RFC 6749 §5.2 bodies (see `oauth_error.rs`), plus the mapping
//! from management-layer errors met on the way (an unknown zone is a 404, a store failure a 500).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::oauth_error::OAuthError;

#[derive(Debug)]
pub struct ZoneError(pub OAuthError);

impl ZoneError {
    /// Maps a lookup failure: 404 stays 404 (`invalid_request`), anything else is a server error.
    pub fn from_lookup(e: ApiError) -> Self {
        if e.status == StatusCode::NOT_FOUND {
            Self(OAuthError {
                status: StatusCode::NOT_FOUND,
                error: "invalid_request",
                description: e.message,
            })
        } else {
            Self(OAuthError::server_error())
        }
    }
}

impl From<OAuthError> for ZoneError {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl From<ApiError> for ZoneError {
    fn from(e: ApiError) -> Self {
        Self::from_lookup(e)
    }
}

impl From<latchkey_domain::StoreError> for ZoneError {
    fn from(e: latchkey_domain::StoreError) -> Self {
        Self::from_lookup(e.into())
    }
}

/// A client metadata document that cannot be used, at a back-channel endpoint (pushed or device
/// authorization): the client is unknown as far as OAuth goes.
impl From<latchkey_oauth::cimd::Refusal> for ZoneError {
    fn from(refusal: latchkey_oauth::cimd::Refusal) -> Self {
        use latchkey_oauth::cimd::Refusal;
        Self(match refusal {
            Refusal::Bad(m) => OAuthError::bad("invalid_client", m),
            Refusal::Busy => {
                let mut e = OAuthError::bad("slow_down", "too many new clients from this address");
                e.status = StatusCode::TOO_MANY_REQUESTS;
                e
            }
            Refusal::Failed => OAuthError::server_error(),
        })
    }
}

impl IntoResponse for ZoneError {
    fn into_response(self) -> Response {
        crate::oauth_error::response(self.0)
    }
}
