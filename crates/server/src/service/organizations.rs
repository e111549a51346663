//! Organizations: list, create (platform admins), retrieve by id or label, rename. Creating an
//! organization also creates its platform zone.

use latchkey_domain::id::{OrganizationId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::organization::Organization;
use latchkey_domain::model::zone::Zone;
use latchkey_domain::store::Store;
use latchkey_domain::{Page, PageRequest, Timestamp, text};

use super::{access, new_id};
use crate::api::organization::{CreateOrganization, UpdateOrganization};
use crate::error::ApiResult;
use crate::state::AppState;

pub async fn list(
    state: &AppState,
    who: &Principal,
    page: &PageRequest,
) -> ApiResult<Page<Organization>> {
    // A person who has not joined yet (no role) belongs to no organization.
    if let Principal::User { role: None, .. } = who {
        return Ok(Page {
            items: Vec::new(),
            has_next: false,
            has_prev: false,
            total: page.with_total.then_some(0),
            start: None,
            end: None,
        });
    }
    let only = (!who.is_platform_admin()).then(|| who.organization_id());
    Ok(state.store.list_organizations(only, page).await?)
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    body: CreateOrganization,
) -> ApiResult<Organization> {
    access::require_platform_admin(who, "create organizations")?;
    let name = text::name(
        "name",
        body.name.unwrap_or_else(|| "Organization".to_owned()),
    )?;
    let org = insert(state.store.as_ref(), name).await?;
    super::platform_zone::ensure(state, &org).await?;
    // Like every zone, the platform zone decides issuance with the platform policy set (start-up
    // seeds zones made before; without it nobody could get a token for the management API).
    if let Some(zone) = state.store.get_zone(&org.zone_id).await? {
        super::policy_attest::seed_defaults(state, &zone).await?;
    }
    Ok(org)
}

/// Creates an organization named `name` with its platform zone.
pub async fn insert(store: &dyn Store, name: String) -> ApiResult<Organization> {
    let now = Timestamp::now();
    let id = OrganizationId::new(new_id()?);
    let zone_id = ZoneId::new(new_id()?);
    let mut zone = Zone::new(
        zone_id.clone(),
        id.clone(),
        format!("{name} (platform)"),
        now,
    );
    zone.owner_type = OwnerType::Platform;
    zone.slug = "platform".to_owned();
    zone.requires_invitation = true;
    zone.dcr_enabled = false;
    let org = Organization {
        id,
        label: text::slugify(&name, "org"),
        name,
        sso_enabled: false,
        zone_id,
        created_at: now,
        updated_at: now,
    };
    Ok(store.create_organization(org, zone).await?)
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    id_or_label: &str,
    body: UpdateOrganization,
) -> ApiResult<Organization> {
    let mut org = access::organization(state, who, id_or_label).await?;
    if let Some(name) = super::required("name", body.name)? {
        org.name = text::name("name", name)?;
        org.updated_at = Timestamp::now();
        state.store.update_organization(&org).await?;
    }
    Ok(org)
}
