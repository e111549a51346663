//! Who may touch what. A platform admin acts in every organization; every other principal only in
//! its own. Objects of another organization answer 403 whether or not they exist, so an id never
//! reveals whether it is in use elsewhere.

use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::{OrgRole, Principal};
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::zone::Zone;

use crate::api::Permissions;
use crate::error::{ApiError, ApiResult};
use crate::service::authz::{Grants, Scope};
use crate::state::AppState;

/// Resolves an `{organization_id}` path value (id or label) the principal may act on.
pub async fn organization(
    state: &AppState,
    who: &Principal,
    id_or_label: &str,
) -> ApiResult<Organization> {
    let found = match state
        .store
        .get_organization(&OrganizationId::new(id_or_label))
        .await?
    {
        Some(org) => Some(org),
        None => state.store.find_organization_by_label(id_or_label).await?,
    };
    match found {
        Some(org) if who.can_access(&org.id) => Ok(org),
        None if who.is_platform_admin() => {
            Err(ApiError::not_found(format!("organization `{id_or_label}`")))
        }
        _ => Err(denied("organization", id_or_label)),
    }
}

/// Loads a zone the principal may act on.
pub async fn zone(state: &AppState, who: &Principal, zone_id: &str) -> ApiResult<Zone> {
    match state.store.get_zone(&ZoneId::new(zone_id)).await? {
        Some(zone) if who.can_access(&zone.organization_id) => Ok(zone),
        None if who.is_platform_admin() => Err(ApiError::not_found(format!("zone `{zone_id}`"))),
        _ => Err(denied("zone", zone_id)),
    }
}

/// Loads a zone the principal may modify: accessible and customer-owned.
pub async fn zone_for_change(state: &AppState, who: &Principal, zone_id: &str) -> ApiResult<Zone> {
    let zone = zone(state, who, zone_id).await?;
    if zone.owner_type == OwnerType::Platform {
        return Err(ApiError::platform_owned(&format!("zone `{zone_id}`")));
    }
    Ok(zone)
}

/// Only platform admins may create organizations.
pub fn require_platform_admin(who: &Principal, action: &str) -> ApiResult<()> {
    if who.is_platform_admin() {
        Ok(())
    } else {
        Err(ApiError::forbidden(format!(
            "only a platform admin may {action}"
        )))
    }
}

fn denied(kind: &str, id: &str) -> ApiError {
    ApiError::forbidden(format!("{kind} `{id}` is not accessible to this principal"))
}

/// What `who` holds: a person's organization role and (for `org_member`s) zone roles.
pub async fn grants(state: &AppState, who: &Principal) -> ApiResult<Grants> {
    let zones = match who {
        Principal::User {
            organization_id,
            user_id,
            role: Some(OrgRole::OrgMember),
            ..
        } => state.store.zone_roles(organization_id, user_id).await?,
        _ => Vec::new(),
    };
    Ok(Grants::of(who, zones))
}

/// Whether the `{organization_id}` path value `id_or_label` names `org`.
pub async fn names_organization(
    state: &AppState,
    org: &OrganizationId,
    id_or_label: &str,
) -> ApiResult<bool> {
    if org.as_str() == id_or_label {
        return Ok(true);
    }
    Ok(state
        .store
        .find_organization_by_label(id_or_label)
        .await?
        .is_some_and(|o| &o.id == org))
}

/// The caller's effective permissions, for `expand=permissions`: on the organization (`None`)
/// or on a zone, from the authorization table. Platform-owned zones cannot be changed.
pub fn permissions(grants: &Grants, zone: Option<&Zone>) -> Permissions {
    let Some(zone) = zone else {
        return grants.permissions(Scope::Organization, None);
    };
    let mut p = grants.permissions(Scope::Zone, Some(&zone.id));
    if zone.owner_type == OwnerType::Platform
        && let Some(z) = p.get_mut("zones")
    {
        z.insert("update".into(), false);
        z.insert("delete".into(), false);
    }
    p
}
