//! OAuth 2.0 errors (RFC 6749 §5.2): the error code, its description and the HTTP status they
//! are answered with. The HTTP layer turns them into `{error, error_description}` bodies.

use http::StatusCode;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "invalid_request",
            description: description.into(),
        }
    }

    pub fn invalid_client() -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            error: "invalid_client",
            description: "client authentication failed".into(),
        }
    }

    pub fn unsupported_grant_type(grant: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error: "unsupported_grant_type",
            description: format!(
                "grant type `{}` is not supported here",
                grant.chars().take(100).collect::<String>()
            ),
        }
    }

    /// A 400 with `error` (e.g. `invalid_grant`, `invalid_target`, `invalid_scope`).
    pub fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            error,
            description: description.into(),
        }
    }

    pub fn server_error() -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            error: "server_error",
            description: "internal server error".into(),
        }
    }
}

/// A store failure met while answering: logged here, `server_error` to the client.
pub fn server(e: latchkey_domain::StoreError) -> OAuthError {
    tracing::error!(cause = %e, "store failure on the token endpoint");
    OAuthError::server_error()
}
