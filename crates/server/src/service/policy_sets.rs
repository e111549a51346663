//! Policy sets (spec §3.17.1–3.17.5, B24–B30): create, list (binding numbers), rename, archive
//! (never while active). Their versions, bindings and attestations are `policy_set_versions`.

use latchkey_domain::id::{PolicySetId, PolicySetVersionId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::policy::{PolicySet, TargetType};
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::PolicySetFilter;
use latchkey_domain::{Page, PageRequest, Timestamp, text};

use super::policy_rules::{actor, check_if_match};
use super::{access, new_id};
use crate::api::policy_set::{CreatePolicySet, UpdatePolicySet};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

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

pub(crate) async fn found_set(state: &AppState, zone: &ZoneId, id: &str) -> ApiResult<PolicySet> {
    state
        .store
        .get_policy_set(zone, &PolicySetId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("policy set `{id}` in zone `{zone}`")))
}

/// A customer set the principal may change (platform sets answer 403).
pub(crate) async fn get_mut(
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
    let condition = check_if_match(if_match, set.updated_at)?;
    if let Some(name) = body.name {
        set.name = text::name("name", name)?;
    }
    set.updated_at = Timestamp::now();
    set.updated_by = Some(actor(who));
    state.store.update_policy_set(&set, condition).await?;
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
    let condition = check_if_match(if_match, set.updated_at)?;
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
    state.store.update_policy_set(&set, condition).await?;
    state.policy_changed(&zone.id);
    Ok(set)
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
