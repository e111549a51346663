//! The writes behind the user policy bundle (`/policy/bundle`, B31–B33): the caller (a zone user),
//! validating bundle files against a schema version, customer policies and their versions, the
//! user-target set seeded from the platform defaults, and a new set version pinned, attested and
//! bound active for the user.

use std::sync::Arc;

use axum::http::StatusCode;
use latchkey_domain::id::{PolicyId, PolicySetId, PolicySetVersionId, PolicyVersionId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::identity::User;
use latchkey_domain::model::policy::{
    ManifestEntry, Policy, PolicySet, PolicySetVersion, PolicyVersion, TargetType,
};
use latchkey_domain::store::BindMode;
use latchkey_domain::{StoreError, Timestamp};
use latchkey_oauth::zones::ZoneEntry;
use latchkey_policy::attestation::AttestationStatus;
use latchkey_policy::bundle::BUNDLE_INVALID;
use latchkey_policy::defaults::DEFAULT_POLICIES;
use latchkey_policy::validate::{PolicySource, ValidatedPolicy, validate_policy};

use super::new_id;
use super::policy_attest::{attest, manifest_sha};
use super::policy_rules::default_schema;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The authenticated caller of `/policy/bundle`: an active user of the token's zone.
pub struct Caller {
    pub zone: Arc<ZoneEntry>,
    pub user: Arc<User>,
}

impl Caller {
    /// The `*_by` actor of what the caller changes: the user's id.
    pub fn actor(&self) -> String {
        self.user.id.as_str().to_owned()
    }

    /// The user id, the target of the user's set.
    pub fn target(&self) -> &str {
        self.user.id.as_str()
    }
}

/// The name of a user's bundle set (how the set is found again).
pub fn set_name(caller: &Caller) -> String {
    format!("user-bundle-{}", caller.target())
}

/// A 400 `bundle_invalid`.
pub fn bundle_invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, BUNDLE_INVALID, message)
}

/// `cedar` (the file of `key`) validated against `schema_version`, which must exist and not be
/// archived.
pub async fn validated(
    state: &AppState,
    schema_version: &str,
    key: &str,
    cedar: &str,
) -> ApiResult<ValidatedPolicy> {
    if cedar.len() > super::policies::MAX_CEDAR_BYTES {
        return Err(bundle_invalid(format!(
            "policy `{key}` is longer than {} bytes",
            super::policies::MAX_CEDAR_BYTES
        )));
    }
    let schema = state
        .policies
        .schema(state.store.as_ref(), schema_version)
        .await?
        .ok_or_else(|| bundle_invalid(format!("unknown policy schema `{schema_version}`")))?;
    if schema.status() == latchkey_policy::schema::SchemaStatus::Archived {
        return Err(bundle_invalid(format!(
            "policy schema `{schema_version}` is archived"
        )));
    }
    validate_policy(PolicySource::CedarRaw(cedar), &schema).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_cedar",
            format!(
                "policy `{key}`: {} at line {}, column {}",
                e.message, e.line, e.column
            ),
        )
    })
}

/// A new version of customer policy `policy` from validated Cedar.
pub async fn add_version(
    state: &AppState,
    caller: &Caller,
    policy: &PolicyId,
    schema_version: &str,
    valid: ValidatedPolicy,
) -> ApiResult<PolicyVersion> {
    let version = PolicyVersion {
        zone_id: caller.zone.zone.id.clone(),
        id: PolicyVersionId::new(new_id()?),
        policy_id: policy.clone(),
        version: 0,
        schema_version: schema_version.to_owned(),
        owner_type: OwnerType::Customer,
        cedar_raw: valid.cedar_raw,
        cedar_json: valid.cedar_json,
        sha: valid.sha,
        created_at: Timestamp::now(),
        created_by: caller.actor(),
        archived_at: None,
        archived_by: None,
    };
    Ok(state.store.add_policy_version(version).await?)
}

/// A new customer policy named `name` with one version; answers its manifest entry.
pub async fn new_policy(
    state: &AppState,
    caller: &Caller,
    name: &str,
    description: Option<String>,
    schema_version: &str,
    valid: ValidatedPolicy,
) -> ApiResult<ManifestEntry> {
    let now = Timestamp::now();
    let policy = Policy {
        zone_id: caller.zone.zone.id.clone(),
        id: PolicyId::new(new_id()?),
        name: latchkey_domain::text::name("new_policy", name.to_owned())?,
        description,
        owner_type: OwnerType::Customer,
        latest_version: None,
        latest_version_id: None,
        latest_schema_version: None,
        created_at: now,
        created_by: caller.actor(),
        updated_at: now,
        updated_by: None,
        archived_at: None,
        archived_by: None,
    };
    state.store.create_policy(&policy).await?;
    let v = add_version(state, caller, &policy.id, schema_version, valid).await?;
    Ok(entry(&v))
}

/// The manifest entry pinning `v`.
pub fn entry(v: &PolicyVersion) -> ManifestEntry {
    ManifestEntry {
        policy_id: v.policy_id.clone(),
        policy_version_id: v.id.clone(),
        sha: v.sha.clone(),
    }
}

/// The caller's set, made from the platform defaults forked into customer policies (validated
/// against the zone's default schema), with one version bound active for the user.
pub async fn seed(state: &AppState, caller: &Caller) -> ApiResult<PolicySet> {
    let zone = &caller.zone.zone;
    let schema_version = default_schema(state, &zone.id)
        .await?
        .ok_or_else(ApiError::internal)?;
    let now = Timestamp::now();
    let set = PolicySet {
        zone_id: zone.id.clone(),
        id: PolicySetId::new(new_id()?),
        name: set_name(caller),
        owner_type: OwnerType::Customer,
        target_type: TargetType::User,
        target_id: Some(caller.target().to_owned()),
        latest_version: None,
        latest_version_id: None,
        active_version_id: None,
        shadow_version_id: None,
        created_at: now,
        created_by: caller.actor(),
        updated_at: now,
        updated_by: None,
        archived_at: None,
        archived_by: None,
    };
    state.store.create_policy_set(&set).await?;
    let mut entries = Vec::with_capacity(DEFAULT_POLICIES.len());
    for d in DEFAULT_POLICIES {
        let valid = validated(state, &schema_version, d.name, d.cedar).await?;
        let description = Some(d.description.to_owned());
        entries.push(new_policy(state, caller, d.name, description, &schema_version, valid).await?);
    }
    pin(state, caller, &set, &schema_version, entries, None).await
}

/// A new version of the caller's set pinning `entries`, attested and bound active for the user;
/// answers the set as stored. With `after` (the version the caller's `If-Match` matched), the new
/// version must be the very next one (else 412: a concurrent `PUT` with the same `If-Match` has
/// added one, bound or not yet bound).
pub async fn pin(
    state: &AppState,
    caller: &Caller,
    set: &PolicySet,
    schema_version: &str,
    entries: Vec<ManifestEntry>,
    after: Option<i64>,
) -> ApiResult<PolicySet> {
    let zone = &caller.zone.zone;
    let draft = PolicySetVersion {
        zone_id: zone.id.clone(),
        id: PolicySetVersionId::new(new_id()?),
        policy_set_id: set.id.clone(),
        version: after.map_or(0, |n| n + 1),
        schema_version: schema_version.to_owned(),
        owner_type: OwnerType::Customer,
        manifest_sha: manifest_sha(&entries),
        manifest: entries,
        attestation: None,
        attestation_jws: None,
        created_at: Timestamp::now(),
        created_by: caller.actor(),
        archived_at: None,
        archived_by: None,
    };
    let stored = match state.store.add_policy_set_version(draft).await {
        Err(StoreError::Conflict(_)) if after.is_some() => return Err(precondition_failed()),
        other => other?,
    };
    let (statement, jws) = attest(state, zone, &stored, AttestationStatus::Created).await?;
    state
        .store
        .set_attestation(&zone.id, &stored.id, &statement, &jws)
        .await?;
    state
        .store
        .bind_policy_set(
            &zone.id,
            &set.id,
            Some(&stored.id),
            BindMode::Active,
            caller.target(),
        )
        .await?;
    state.policy_changed(&zone.id);
    state
        .store
        .get_policy_set(&zone.id, &set.id)
        .await?
        .ok_or_else(ApiError::internal)
}

/// 412: `If-Match` names a bundle that is no longer the current one.
pub fn precondition_failed() -> ApiError {
    ApiError::new(
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
        "`If-Match` does not match the current bundle",
    )
}
