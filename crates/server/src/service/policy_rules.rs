//! What the policy services share: the `*_by` actor of a principal, entity tags and `If-Match`,
//! the zone's default schema version, and what an active set version pins.

use latchkey_domain::Timestamp;
use latchkey_domain::id::ZoneId;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::policy::{ManifestEntry, SchemaStatus};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The raw `*_by` string of a principal.
pub fn actor(who: &Principal) -> String {
    who.actor_id().to_owned()
}

/// `If-Match` against an object's entity tag (`updated_at` in milliseconds, quoted). Answers the
/// write's condition: with `If-Match`, the change is stored only while `updated_at` is unchanged
/// (so two writers that both matched cannot both win: the second gets 412).
pub fn check_if_match(
    if_match: Option<&str>,
    updated_at: Timestamp,
) -> ApiResult<Option<Timestamp>> {
    let Some(expected) = if_match else {
        return Ok(None);
    };
    let tag = etag(updated_at);
    let matches = expected
        .split(',')
        .map(|t| t.trim().trim_start_matches("W/"))
        .any(|t| t == "*" || t == tag);
    if matches {
        Ok(Some(updated_at))
    } else {
        Err(ApiError::new(
            axum::http::StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "`If-Match` does not match the current version of this object",
        ))
    }
}

/// The entity tag of an object last changed at `updated_at`.
pub fn etag(updated_at: Timestamp) -> String {
    format!("\"{}\"", updated_at.millis())
}

/// The zone's default schema version: the one it picked, else the newest active one.
pub async fn default_schema(state: &AppState, zone: &ZoneId) -> ApiResult<Option<String>> {
    if let Some(v) = state.store.zone_default_schema(zone).await? {
        return Ok(Some(v));
    }
    let all = state.store.list_schema_versions().await?;
    Ok(all
        .into_iter()
        .find(|s| s.status == SchemaStatus::Active)
        .map(|s| s.version))
}

/// Whether an active set version of the zone pins a manifest entry matching `pred`.
pub async fn pinned_by_active(
    state: &AppState,
    zone: &ZoneId,
    pred: impl Fn(&ManifestEntry) -> bool,
) -> ApiResult<bool> {
    let bound = state.store.bound_sets(zone).await?;
    Ok(bound
        .iter()
        .any(|b| b.active && b.version.manifest.iter().any(&pred)))
}
