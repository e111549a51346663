//! Cedar policy schemas, policies and policy versions (spec §3.15–3.16): validation against the
//! pinned schema (`latchkey-policy`), immutable numbered versions, platform objects read-only,
//! `If-Match`, and the archive rules (nothing an active set version pins can be archived).

use latchkey_domain::id::{PolicyId, PolicyVersionId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::policy::{Policy, PolicyVersion, SchemaStatus, SchemaVersion};
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::Archival;
use latchkey_domain::{ListFilter, Page, PageRequest, Timestamp, text};
use latchkey_policy::validate::{PolicySource, validate_policy};

use super::policy_rules::{actor, check_if_match, default_schema, pinned_by_active};
use super::{access, new_id, opt_description};
use crate::api::policy::{CreatePolicy, CreatePolicyVersion, UpdatePolicy};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A schema version, or 404.
pub async fn schema(state: &AppState, version: &str) -> ApiResult<SchemaVersion> {
    state
        .store
        .get_schema_version(version)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("policy schema `{version}`")))
}

pub async fn list_schemas(
    state: &AppState,
    who: &Principal,
    zone: &str,
) -> ApiResult<(Vec<SchemaVersion>, Option<String>)> {
    let zone = access::zone(state, who, zone).await?;
    let all = state.store.list_schema_versions().await?;
    Ok((all, default_schema(state, &zone.id).await?))
}

pub async fn get_schema(
    state: &AppState,
    who: &Principal,
    zone: &str,
    version: &str,
) -> ApiResult<(SchemaVersion, bool)> {
    let zone = access::zone(state, who, zone).await?;
    let s = schema(state, version).await?;
    let default = default_schema(state, &zone.id).await?;
    let is_default = default.as_deref() == Some(s.version.as_str());
    Ok((s, is_default))
}

pub async fn set_default_schema(
    state: &AppState,
    who: &Principal,
    zone: &str,
    version: &str,
) -> ApiResult<SchemaVersion> {
    let zone = access::zone_for_change(state, who, zone).await?;
    let s = schema(state, version).await?;
    if s.status == SchemaStatus::Archived {
        return Err(ApiError::conflict(format!(
            "policy schema `{version}` is archived and cannot be the default"
        )));
    }
    state
        .store
        .set_zone_default_schema(&zone.id, &s.version)
        .await?;
    Ok(s)
}

pub async fn list(
    state: &AppState,
    who: &Principal,
    zone: &str,
    filter: &ListFilter,
    page: &PageRequest,
) -> ApiResult<Page<Policy>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_policies(&zone.id, filter, page).await?)
}

pub async fn get(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<Policy> {
    let zone = access::zone(state, who, zone).await?;
    found_policy(state, &zone, id).await
}

async fn found_policy(state: &AppState, zone: &Zone, id: &str) -> ApiResult<Policy> {
    state
        .store
        .get_policy(&zone.id, &PolicyId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("policy `{id}` in zone `{}`", zone.id)))
}

/// A customer policy the principal may change (platform policies answer 403).
async fn get_mut(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
) -> ApiResult<(Zone, Policy)> {
    let zone = access::zone(state, who, zone).await?;
    let p = found_policy(state, &zone, id).await?;
    if p.owner_type == OwnerType::Platform {
        return Err(ApiError::platform_owned(&format!("policy `{id}`")));
    }
    Ok((zone, p))
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    zone: &str,
    body: CreatePolicy,
) -> ApiResult<Policy> {
    let zone = access::zone(state, who, zone).await?;
    let now = Timestamp::now();
    let policy = Policy {
        zone_id: zone.id,
        id: PolicyId::new(new_id()?),
        name: text::name("name", body.name)?,
        description: opt_description("description", body.description)?,
        owner_type: OwnerType::Customer,
        latest_version: None,
        latest_version_id: None,
        latest_schema_version: None,
        created_at: now,
        created_by: actor(who),
        updated_at: now,
        updated_by: None,
        archived_at: None,
        archived_by: None,
    };
    state.store.create_policy(&policy).await?;
    Ok(policy)
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    if_match: Option<&str>,
    body: UpdatePolicy,
) -> ApiResult<Policy> {
    let (_, mut p) = get_mut(state, who, zone, id).await?;
    let condition = check_if_match(if_match, p.updated_at)?;
    if let Some(name) = body.name {
        p.name = text::name("name", name)?;
    }
    if body.description.is_some() {
        p.description = opt_description("description", body.description)?;
    }
    p.updated_at = Timestamp::now();
    p.updated_by = Some(actor(who));
    state.store.update_policy(&p, condition).await?;
    Ok(p)
}

pub async fn archive(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    if_match: Option<&str>,
) -> ApiResult<Policy> {
    let (zone, mut p) = get_mut(state, who, zone, id).await?;
    let condition = check_if_match(if_match, p.updated_at)?;
    if p.archived_at.is_some() {
        return Ok(p);
    }
    if pinned_by_active(state, &zone.id, |e| e.policy_id == p.id).await? {
        return Err(ApiError::conflict(format!(
            "policy `{id}` is pinned by an active policy set version; activate another version first"
        )));
    }
    let now = Timestamp::now();
    p.archived_at = Some(now);
    p.archived_by = Some(actor(who));
    p.updated_at = now;
    p.updated_by = Some(actor(who));
    state.store.update_policy(&p, condition).await?;
    Ok(p)
}

/// Checks and stores a new version of a customer policy.
pub async fn create_version(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: CreatePolicyVersion,
) -> ApiResult<PolicyVersion> {
    let (zone, p) = get_mut(state, who, zone, id).await?;
    if p.archived_at.is_some() {
        return Err(ApiError::conflict(format!("policy `{id}` is archived")));
    }
    let validated = validated(state, &body).await?;
    let version = PolicyVersion {
        zone_id: zone.id.clone(),
        id: PolicyVersionId::new(new_id()?),
        policy_id: p.id,
        version: 0,
        schema_version: body.schema_version,
        owner_type: OwnerType::Customer,
        cedar_raw: validated.cedar_raw,
        cedar_json: validated.cedar_json,
        sha: validated.sha,
        created_at: Timestamp::now(),
        created_by: actor(who),
        archived_at: None,
        archived_by: None,
    };
    Ok(state.store.add_policy_version(version).await?)
}

/// The body's Cedar (exactly one of `cedar_raw` / `cedar_json`) validated against its schema.
async fn validated(
    state: &AppState,
    body: &CreatePolicyVersion,
) -> ApiResult<latchkey_policy::validate::ValidatedPolicy> {
    let source = match (&body.cedar_raw, &body.cedar_json) {
        (Some(raw), None) => PolicySource::CedarRaw(raw),
        (None, Some(json)) => PolicySource::CedarJson(json),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_field(
                "cedar_raw",
                "give either `cedar_raw` or `cedar_json`, not both",
            ));
        }
        (None, None) => {
            return Err(ApiError::invalid_field(
                "cedar_raw",
                "one of `cedar_raw` or `cedar_json` is required",
            ));
        }
    };
    if body
        .cedar_raw
        .as_ref()
        .is_some_and(|r| r.len() > MAX_CEDAR_BYTES)
    {
        return Err(ApiError::invalid_field(
            "cedar_raw",
            format!("at most {MAX_CEDAR_BYTES} bytes"),
        ));
    }
    let schema = state
        .policies
        .schema(state.store.as_ref(), &body.schema_version)
        .await
        .map_err(|_| ApiError::internal())?
        .ok_or_else(|| {
            ApiError::invalid_field(
                "schema_version",
                format!("unknown policy schema `{}`", body.schema_version),
            )
        })?;
    if schema.status() == latchkey_policy::schema::SchemaStatus::Archived {
        return Err(ApiError::invalid_field(
            "schema_version",
            format!("policy schema `{}` is archived", body.schema_version),
        ));
    }
    validate_policy(source, &schema).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "invalid_cedar",
            format!("{} at line {}, column {}", e.message, e.line, e.column),
        )
    })
}

/// Longest Cedar text accepted for one policy version (bytes).
pub const MAX_CEDAR_BYTES: usize = 64 * 1024;

pub async fn get_version(
    state: &AppState,
    who: &Principal,
    zone: &str,
    policy: &str,
    id: &str,
) -> ApiResult<PolicyVersion> {
    let zone = access::zone(state, who, zone).await?;
    found_version(state, &zone.id, policy, id).await
}

async fn found_version(
    state: &AppState,
    zone: &ZoneId,
    policy: &str,
    id: &str,
) -> ApiResult<PolicyVersion> {
    state
        .store
        .get_policy_version(zone, &PolicyVersionId::new(id))
        .await?
        .filter(|v| v.policy_id.as_str() == policy)
        .ok_or_else(|| ApiError::not_found(format!("version `{id}` of policy `{policy}`")))
}

pub async fn list_versions(
    state: &AppState,
    who: &Principal,
    zone: &str,
    policy: &str,
    page: &PageRequest,
) -> ApiResult<Page<PolicyVersion>> {
    let zone = access::zone(state, who, zone).await?;
    let p = found_policy(state, &zone, policy).await?;
    Ok(state
        .store
        .list_policy_versions(&zone.id, Some(&p.id), &ListFilter::default(), page)
        .await?)
}

pub async fn archive_version(
    state: &AppState,
    who: &Principal,
    zone: &str,
    policy: &str,
    id: &str,
) -> ApiResult<PolicyVersion> {
    let (zone, _) = get_mut(state, who, zone, policy).await?;
    let v = found_version(state, &zone.id, policy, id).await?;
    if v.archived_at.is_some() {
        return Ok(v);
    }
    if pinned_by_active(state, &zone.id, |e| e.policy_version_id == v.id).await? {
        return Err(ApiError::conflict(format!(
            "policy version `{id}` is pinned by an active policy set version"
        )));
    }
    let archival = Archival {
        at: Timestamp::now(),
        by: actor(who),
    };
    state
        .store
        .archive_policy_version(&zone.id, &v.id, &archival)
        .await?;
    found_version(state, &zone.id, policy, id).await
}
