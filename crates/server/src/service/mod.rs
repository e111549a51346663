//! Management services: validation, authorization and the store calls behind each endpoint.
//! Handlers stay thin (extract → one service call → response); rules live here.

pub mod access;
pub mod app_credentials;
pub mod applications;
pub mod audit;
pub mod authz;
pub mod bootstrap;
pub mod identity;
pub mod invitations;
pub mod mail;
pub mod members;
pub mod organizations;
pub mod platform_zone;
pub mod policies;
pub mod policy_attest;
pub mod policy_bundle;
pub mod policy_bundle_write;
pub mod policy_eval;
pub mod policy_rules;
pub mod policy_set_versions;
pub mod policy_sets;
pub mod policy_users;
pub mod principals;
pub mod providers;
pub mod resources;
pub mod sa_token;
pub mod service_accounts;
pub mod sso;
pub mod validate;
pub mod vault;
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

/// Maps a store conflict (a unique value already taken) to a 409 that says which value.
pub(crate) fn taken(e: latchkey_domain::StoreError, what: impl FnOnce() -> String) -> ApiError {
    match e {
        latchkey_domain::StoreError::Conflict(_) => ApiError::conflict(what()),
        other => other.into(),
    }
}

/// A reference that must name an object of the zone: 404 naming the field otherwise.
pub(crate) fn found<T>(value: Option<T>, field: &str, kind: &str, id: &str) -> ApiResult<T> {
    value.ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::NOT_FOUND,
            "not_found",
            format!(
                "`{field}`: {kind} `{}` not found in this zone",
                id.chars().take(64).collect::<String>()
            ),
        )
    })
}
