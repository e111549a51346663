//! Policy set versions (spec §3.17.6–3.17.11, B24–B29): manifests checked against the zone's
//! policy versions, SHAs and `manifest_sha`, the signed attestation, activation (one active zone
//! set per zone) and shadow binding, archive rules, the pinned versions, and the dry run.

use latchkey_domain::id::{PolicySetVersionId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::policy::{ManifestEntry, PolicySet, PolicySetVersion, TargetType};
use latchkey_domain::store::{Archival, BindMode};
use latchkey_domain::{Page, PageRequest, Timestamp};
use latchkey_policy::attestation::AttestationStatus;

use super::policy_attest::{attest, manifest_sha};
use super::policy_rules::actor;
use super::policy_sets::{found_set, get_mut};
use super::{access, new_id};
use crate::api::policy_set::CreatePolicySetVersion;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The manifest's entries, each an unarchived version of its policy in this zone validated
/// against `schema_version`, with the server's SHA.
async fn checked_manifest(
    state: &AppState,
    zone: &ZoneId,
    body: &CreatePolicySetVersion,
) -> ApiResult<Vec<ManifestEntry>> {
    if body.manifest.entries.len() > MAX_MANIFEST_ENTRIES {
        return Err(ApiError::invalid_field(
            "manifest.entries",
            format!("at most {MAX_MANIFEST_ENTRIES} entries"),
        ));
    }
    let mut out: Vec<ManifestEntry> = Vec::with_capacity(body.manifest.entries.len());
    for (i, entry) in body.manifest.entries.iter().enumerate() {
        let field = format!("manifest.entries[{i}]");
        let (policy_id, version_id) = entry.ids();
        if out.iter().any(|e| e.policy_id == policy_id) {
            return Err(ApiError::invalid_field(&field, "the policy appears twice"));
        }
        let version = state
            .store
            .get_policy_version(zone, &version_id)
            .await?
            .filter(|v| v.policy_id == policy_id)
            .ok_or_else(|| {
                ApiError::invalid_field(&field, "no such version of that policy in this zone")
            })?;
        if version.archived_at.is_some() {
            return Err(ApiError::invalid_field(
                &field,
                "the policy version is archived",
            ));
        }
        if version.schema_version != body.schema_version {
            return Err(ApiError::invalid_field(
                &field,
                format!(
                    "the policy version was validated against schema `{}`, not `{}`",
                    version.schema_version, body.schema_version
                ),
            ));
        }
        out.push(ManifestEntry {
            policy_id,
            policy_version_id: version_id,
            sha: version.sha,
        });
    }
    Ok(out)
}

/// Most entries in one manifest.
pub const MAX_MANIFEST_ENTRIES: usize = 1000;

pub async fn create_version(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: CreatePolicySetVersion,
) -> ApiResult<PolicySetVersion> {
    let (zone, set) = get_mut(state, who, zone, id).await?;
    if set.archived_at.is_some() {
        return Err(ApiError::conflict(format!("policy set `{id}` is archived")));
    }
    if state
        .policies
        .schema(state.store.as_ref(), &body.schema_version)
        .await?
        .is_none()
    {
        return Err(ApiError::invalid_field(
            "schema_version",
            format!("unknown policy schema `{}`", body.schema_version),
        ));
    }
    let manifest = checked_manifest(state, &zone.id, &body).await?;
    let draft = PolicySetVersion {
        zone_id: zone.id.clone(),
        id: PolicySetVersionId::new(new_id()?),
        policy_set_id: set.id.clone(),
        version: 0,
        schema_version: body.schema_version,
        owner_type: OwnerType::Customer,
        manifest_sha: manifest_sha(&manifest),
        manifest,
        attestation: None,
        attestation_jws: None,
        created_at: Timestamp::now(),
        created_by: actor(who),
        archived_at: None,
        archived_by: None,
    };
    let stored = state.store.add_policy_set_version(draft).await?;
    let (statement, jws) = attest(state, &zone, &stored, AttestationStatus::Created).await?;
    state
        .store
        .set_attestation(&zone.id, &stored.id, &statement, &jws)
        .await?;
    Ok(PolicySetVersion {
        attestation: Some(statement),
        attestation_jws: Some(jws),
        ..stored
    })
}

pub async fn get_version(
    state: &AppState,
    who: &Principal,
    zone: &str,
    set: &str,
    id: &str,
) -> ApiResult<(PolicySet, PolicySetVersion)> {
    let zone = access::zone(state, who, zone).await?;
    let set = found_set(state, &zone.id, set).await?;
    let v = found_version(state, &zone.id, &set, id).await?;
    Ok((set, v))
}

async fn found_version(
    state: &AppState,
    zone: &ZoneId,
    set: &PolicySet,
    id: &str,
) -> ApiResult<PolicySetVersion> {
    state
        .store
        .get_policy_set_version(zone, &PolicySetVersionId::new(id))
        .await?
        .filter(|v| v.policy_set_id == set.id)
        .ok_or_else(|| ApiError::not_found(format!("version `{id}` of policy set `{}`", set.id)))
}

pub async fn list_versions(
    state: &AppState,
    who: &Principal,
    zone: &str,
    set: &str,
    page: &PageRequest,
) -> ApiResult<(PolicySet, Page<PolicySetVersion>)> {
    let zone = access::zone(state, who, zone).await?;
    let set = found_set(state, &zone.id, set).await?;
    let page = state
        .store
        .list_policy_set_versions(&zone.id, &set.id, page)
        .await?;
    Ok((set, page))
}

pub async fn archive_version(
    state: &AppState,
    who: &Principal,
    zone: &str,
    set: &str,
    id: &str,
) -> ApiResult<(PolicySet, PolicySetVersion)> {
    let (zone, set) = get_mut(state, who, zone, set).await?;
    let v = found_version(state, &zone.id, &set, id).await?;
    if set.active_version_id.as_ref() == Some(&v.id) {
        return Err(ApiError::conflict(format!(
            "policy set version `{id}` is active; activate another version first"
        )));
    }
    if v.archived_at.is_none() {
        let archival = Archival {
            at: Timestamp::now(),
            by: actor(who),
        };
        state
            .store
            .archive_policy_set_version(&zone.id, &v.id, &archival)
            .await?;
    }
    let v = found_version(state, &zone.id, &set, id).await?;
    let set = found_set(state, &zone.id, set.id.as_str()).await?;
    Ok((set, v))
}

/// `PATCH …/versions/{id}`: `{"active": true}` binds the version (the zone's previous active zone
/// set stops being active); `{"shadow": true|false}` binds or unbinds it in shadow mode.
pub async fn bind_version(
    state: &AppState,
    who: &Principal,
    zone: &str,
    set: &str,
    id: &str,
    body: crate::api::policy_set::UpdatePolicySetVersion,
) -> ApiResult<(PolicySet, PolicySetVersion)> {
    let (zone, set) = get_mut(state, who, zone, set).await?;
    let v = found_version(state, &zone.id, &set, id).await?;
    let (version, mode) = match (body.active, body.shadow) {
        (Some(true), None) => (Some(&v.id), BindMode::Active),
        (None, Some(true)) => (Some(&v.id), BindMode::Shadow),
        (None, Some(false)) if set.shadow_version_id.as_ref() == Some(&v.id) => {
            (None, BindMode::Shadow)
        }
        (None, Some(false)) => return Ok((set, v)),
        _ => {
            return Err(ApiError::invalid_field(
                "active",
                "send `{\"active\": true}` (or the `shadow` extension alone)",
            ));
        }
    };
    if v.archived_at.is_some() || set.archived_at.is_some() {
        return Err(ApiError::conflict(format!(
            "policy set version `{id}` is archived"
        )));
    }
    let target = match set.target_type {
        TargetType::Zone => zone.id.as_str().to_owned(),
        TargetType::User => set.target_id.clone().ok_or_else(|| {
            ApiError::conflict("a user policy set is bound through the policy bundle")
        })?,
    };
    state
        .store
        .bind_policy_set(&zone.id, &set.id, version, mode, &target)
        .await?;
    state.policy_changed(&zone.id);
    let set = found_set(state, &zone.id, set.id.as_str()).await?;
    Ok((set, v))
}

/// The policy versions a set version pins, as one page (`filter[id]` semantics).
pub async fn version_policies(
    state: &AppState,
    who: &Principal,
    zone: &str,
    set: &str,
    id: &str,
    page: &PageRequest,
) -> ApiResult<Page<latchkey_domain::model::policy::PolicyVersion>> {
    let (_, v) = get_version(state, who, zone, set, id).await?;
    let filter = latchkey_domain::ListFilter {
        ids: Some(
            v.manifest
                .iter()
                .map(|e| e.policy_version_id.as_str().to_owned())
                .collect(),
        ),
        ..latchkey_domain::ListFilter::default()
    };
    let page = PageRequest {
        after: None,
        before: None,
        limit: u32::try_from(v.manifest.len().max(1)).unwrap_or(u32::MAX),
        ..page.clone()
    };
    Ok(state
        .store
        .list_policy_versions(&v.zone_id, None, &filter, &page)
        .await?)
}

/// A dry run of set version `id` for a token-request-shaped body: what it would decide, nothing
/// issued or recorded.
pub async fn evaluate(
    state: &AppState,
    who: &Principal,
    zone: &str,
    set: &str,
    id: &str,
    body: crate::api::policy_set::EvaluateRequest,
) -> ApiResult<crate::api::policy_set::EvaluateView> {
    let (set, version) = get_version(state, who, zone, set, id).await?;
    let entry = state.zone(set.zone_id.as_str()).await?;
    let compiled = state
        .policies
        .compile_version(state.store.as_ref(), &set, &version)
        .await?
        .map_err(|why| ApiError::conflict(format!("this version does not compile: {why}")))?;
    super::policy_eval::evaluate(state, &entry, &compiled, body).await
}
