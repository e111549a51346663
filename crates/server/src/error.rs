//! The management API's error type and its `{message, code, status}` JSON body. 4xx messages name
//! the offending field; 5xx bodies are generic and the cause is logged once, here.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use latchkey_domain::{StoreError, ValidationError};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds the client should wait (`Retry-After`), for 429 and 503.
    pub retry_after: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// Human-readable description that names the offending field or object.
    message: String,
    /// Machine-readable error code, e.g. `invalid_field`, `not_found`, `conflict`.
    code: &'static str,
    /// The HTTP status, repeated.
    status: u16,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 429 `rate_limited`, to be retried after `seconds`.
    pub fn rate_limited(message: impl Into<String>, seconds: u64) -> Self {
        let mut e = Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message);
        e.retry_after = Some(seconds);
        e
    }

    pub fn invalid_field(field: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            format!("`{field}`: {message}"),
        )
    }

    pub fn invalid_query(param: &str, message: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("query parameter `{param}`: {message}"),
        )
    }

    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn platform_owned(what: &str) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "platform_owned",
            format!("{what} is platform-owned and cannot be modified"),
        )
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("{what} not found"),
        )
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal server error",
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::invalid_field(&e.field, e.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => Self::not_found(what),
            StoreError::Conflict(message) => Self::conflict(message),
            StoreError::Stale(what) => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                format!("`If-Match` does not match the current version of {what}"),
            ),
            StoreError::BadCursor => Self::new(
                StatusCode::BAD_REQUEST,
                "invalid_cursor",
                "the cursor does not match this list",
            ),
            StoreError::Backend(cause) => {
                tracing::error!(%cause, "store failure");
                Self::internal()
            }
        }
    }
}

impl From<latchkey_oauth::keys::KeyError> for ApiError {
    fn from(e: latchkey_oauth::keys::KeyError) -> Self {
        match e {
            latchkey_oauth::keys::KeyError::Store(e) => e.into(),
            other => {
                tracing::error!(cause = %other, "signing keys");
                ApiError::internal()
            }
        }
    }
}

impl From<latchkey_crypto::CryptoError> for ApiError {
    fn from(e: latchkey_crypto::CryptoError) -> Self {
        tracing::error!(cause = %e, "crypto failure");
        Self::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after;
        let body = ErrorBody {
            message: self.message,
            code: self.code,
            status: self.status.as_u16(),
        };
        let mut res = (self.status, axum::Json(body)).into_response();
        if self.status == StatusCode::CONFLICT {
            // The SDK retries 409 twice unless told not to (spec §1.5).
            res.headers_mut()
                .insert("x-should-retry", HeaderValue::from_static("false"));
        }
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was not read: tell the client not to reuse this connection.
            res.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        if let Some(v) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}
