//! Management services: validation, authorization and the store calls behind each endpoint.
//! Handlers stay thin (extract → one service call → response); rules live here.

pub mod access;
pub mod bootstrap;
pub mod organizations;
pub mod sa_token;
pub mod service_accounts;
pub mod zones;

use latchkey_domain::text;

use crate::error::{ApiError, ApiResult};

/// Validates an optional description (`None` stays `None`).
pub(crate) fn opt_description(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
    value
        .map(|d| text::description(field, d, text::DESCRIPTION_MAX))
        .transpose()
        .map_err(ApiError::from)
}

/// A fresh random id.
pub(crate) fn new_id() -> ApiResult<String> {
    Ok(latchkey_crypto::random::id()?)
}
