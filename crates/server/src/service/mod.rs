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

/// A non-nullable PATCH field: `null` is refused with 400 naming the field.
pub(crate) fn required<T>(field: &str, patch: latchkey_domain::Patch<T>) -> ApiResult<Option<T>> {
    match patch {
        latchkey_domain::Patch::Absent => Ok(None),
        latchkey_domain::Patch::Null => Err(ApiError::invalid_field(field, "cannot be null")),
        latchkey_domain::Patch::Value(v) => Ok(Some(v)),
    }
}

/// Applies a `name` (required) and `description` (nullable) patch; returns whether anything changed.
pub(crate) fn patch_named(
    name: &mut String,
    description: &mut Option<String>,
    name_patch: latchkey_domain::Patch<String>,
    description_patch: latchkey_domain::Patch<String>,
) -> ApiResult<bool> {
    let changed = !name_patch.is_absent() || !description_patch.is_absent();
    if let Some(n) = required("name", name_patch)? {
        *name = text::name("name", n)?;
    }
    *description = description_patch
        .try_map(|d| text::description("description", d, text::DESCRIPTION_MAX))?
        .apply(description.take());
    Ok(changed)
}

/// A fresh random id.
pub(crate) fn new_id() -> ApiResult<String> {
    Ok(latchkey_crypto::random::id()?)
}
