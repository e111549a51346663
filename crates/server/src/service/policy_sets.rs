//! Policy sets and their versions (spec §3.17, B24–B30): manifests checked against the zone's
//! policy versions, SHAs and the RFC 8785 `manifest_sha`, a signed attestation per version,
//! activation (one active zone set per zone: activating moves the zone's binding), shadow
//! bindings, archive rules, and the platform set every zone starts with.

use latchkey_domain::id::{PolicySetId, PolicySetVersionId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::policy::{ManifestEntry, PolicySet, PolicySetVersion, TargetType};
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::{Archival, BindMode, PolicySetFilter};
use latchkey_domain::{Page, PageRequest, Timestamp, text};

use super::policy_rules::{actor, check_if_match};
use super::{access, new_id};
use crate::api::policy::{CreatePolicySet, CreatePolicySetVersion, UpdatePolicySet};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use latchkey_policy::attestation::AttestationStatus;

pub use super::policy_attest::{attest, manifest_sha};

pub async fn list(
    state: &AppState,
    who: &Principal,
    zone: &str,
    filter: &PolicySetFilter,
    page: &PageRequest,
) -> ApiResult<Page<PolicySet>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_policy_sets(&zone.id, filter, page).await?)
}

pub async fn get(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<PolicySet> {
    let zone = access::zone(state, who, zone).await?;
    found_set(state, &zone.id, id).await
}

async fn found_set(state: &AppState, zone: &ZoneId, id: &str) -> ApiResult<PolicySet> {
    state
        .store
        .get_policy_set(zone, &PolicySetId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("policy set `{id}` in zone `{zone}`")))
}

/// A customer set the principal may change (platform sets answer 403).
async fn get_mut(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<(Zone, PolicySet)> {
    let zone = access::zone(state, who, zone).await?;
    let set = found_set(state, &zone.id, id).await?;
    if set.owner_type == OwnerType::Platform {
        return Err(ApiError::platform_owned(&format!("policy set `{id}`")));
    }
    Ok((zone, set))
}

fn target_type(body: &CreatePolicySet) -> ApiResult<TargetType> {
    if let Some(scope) = &body.scope_type
        && scope != "zone"
    {
        return Err(ApiError::invalid_field(
            "scope_type",
            "only `zone` is accepted",
        ));
    }
    match body.target_type.as_deref() {
        None => Ok(TargetType::Zone),
        Some(t) => TargetType::parse(t)
            .ok_or_else(|| ApiError::invalid_field("target_type", "must be `zone` or `user`")),
    }
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    zone: &str,
    body: CreatePolicySet,
) -> ApiResult<PolicySet> {
    let zone = access::zone(state, who, zone).await?;
    let target_type = target_type(&body)?;
    let now = Timestamp::now();
    let set = PolicySet {
        zone_id: zone.id,
        id: PolicySetId::new(new_id()?),
        name: text::name("name", body.name)?,
        owner_type: OwnerType::Customer,
        target_type,
        target_id: None,
        latest_version: None,
        latest_version_id: None,
        active_version_id: None,
        shadow_version_id: None,
        created_at: now,
        created_by: actor(who),
        updated_at: now,
        updated_by: None,
        archived_at: None,
        archived_by: None,
    };
    state.store.create_policy_set(&set).await?;
    Ok(set)
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    if_match: Option<&str>,
    body: UpdatePolicySet,
) -> ApiResult<PolicySet> {
    let (_, mut set) = get_mut(state, who, zone, id).await?;
    check_if_match(if_match, set.updated_at)?;
    if let Some(name) = body.name {
        set.name = text::name("name", name)?;
    }
    set.updated_at = Timestamp::now();
    set.updated_by = Some(actor(who));
    state.store.update_policy_set(&set).await?;
    Ok(set)
}

pub async fn archive(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    if_match: Option<&str>,
) -> ApiResult<PolicySet> {
    let (zone, mut set) = get_mut(state, who, zone, id).await?;
    check_if_match(if_match, set.updated_at)?;
    if set.archived_at.is_some() {
        return Ok(set);
    }
    if set.active_version_id.is_some() {
        return Err(ApiError::conflict(format!(
            "policy set `{id}` is active; activate another set first"
        )));
    }
    let now = Timestamp::now();
    set.archived_at = Some(now);
    set.archived_by = Some(actor(who));
    set.updated_at = now;
    set.updated_by = Some(actor(who));
    state.store.update_policy_set(&set).await?;
    state.policies.forget(&zone.id);
    Ok(set)
}

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
    body: crate::api::policy::UpdatePolicySetVersion,
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
    state.policies.forget(&zone.id);
    let set = found_set(state, &zone.id, set.id.as_str()).await?;
    Ok((set, v))
}

/// The numbers of a set's active and shadow versions.
pub async fn bound_numbers(
    state: &AppState,
    set: &PolicySet,
) -> ApiResult<(Option<i64>, Option<i64>)> {
    Ok((
        version_number(state, set, set.active_version_id.as_ref()).await?,
        version_number(state, set, set.shadow_version_id.as_ref()).await?,
    ))
}

async fn version_number(
    state: &AppState,
    set: &PolicySet,
    id: Option<&PolicySetVersionId>,
) -> ApiResult<Option<i64>> {
    let Some(id) = id else {
        return Ok(None);
    };
    Ok(state
        .store
        .get_policy_set_version(&set.zone_id, id)
        .await?
        .map(|v| v.version))
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
    body: crate::api::policy::EvaluateRequest,
) -> ApiResult<crate::api::policy::EvaluateView> {
    let (set, version) = get_version(state, who, zone, set, id).await?;
    let entry = state.zone(set.zone_id.as_str()).await?;
    let compiled = state
        .policies
        .compile_version(state.store.as_ref(), &set, &version)
        .await?
        .map_err(|why| ApiError::conflict(format!("this version does not compile: {why}")))?;
    super::policy_eval::evaluate(state, &entry, &compiled, body).await
}
