//! Resources (spec §3.10, rules B11–B13, B15–B17).

use latchkey_domain::id::{ApplicationId, ProviderId, ResourceId, ZoneId};
use latchkey_domain::model::OwnerType;
use latchkey_domain::model::access::Principal;
use latchkey_domain::model::directory::Resource;
use latchkey_domain::store::ResourceFilter;
use latchkey_domain::{Page, PageRequest, Timestamp, text};

use super::validate;
use super::{access, found, new_id, opt_description, required, taken};
use crate::api::directory::{CreateResource, UpdateResource};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Longest credential lifetime a resource may ask for: 30 days.
const MAX_LIFETIME: i64 = 30 * 24 * 3600;

/// 404 naming `field` unless `id` is a resource of the zone.
pub async fn must_exist(
    state: &AppState,
    zone: &ZoneId,
    id: &ResourceId,
    field: &str,
) -> ApiResult<Resource> {
    found(
        state.store.get_resource(zone, id).await?,
        field,
        "resource",
        id.as_str(),
    )
}

async fn check_application(state: &AppState, zone: &ZoneId, id: &str) -> ApiResult<ApplicationId> {
    let id = ApplicationId::new(id);
    found(
        state.store.get_application(zone, &id).await?,
        "application_id",
        "application",
        id.as_str(),
    )?;
    Ok(id)
}

async fn check_provider(state: &AppState, zone: &ZoneId, id: &str) -> ApiResult<ProviderId> {
    let id = ProviderId::new(id);
    found(
        state.store.get_provider(zone, &id).await?,
        "credential_provider_id",
        "provider",
        id.as_str(),
    )?;
    Ok(id)
}

fn lifetime(v: i64) -> ApiResult<i64> {
    if !(1..=MAX_LIFETIME).contains(&v) {
        return Err(ApiError::invalid_field(
            "credential_lifetime_seconds",
            format!("must be from 1 to {MAX_LIFETIME}"),
        ));
    }
    Ok(v)
}

fn resource_identifier(v: String) -> ApiResult<String> {
    let v = validate::identifier("identifier", v)?;
    validate::absolute_uri("identifier", &v)?;
    Ok(v)
}

pub async fn list(
    state: &AppState,
    who: &Principal,
    zone: &str,
    filter: &ResourceFilter,
    page: &PageRequest,
) -> ApiResult<Page<Resource>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_resources(&zone.id, filter, page).await?)
}

pub async fn get(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<Resource> {
    let zone = access::zone(state, who, zone).await?;
    state
        .store
        .get_resource(&zone.id, &ResourceId::new(id))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("resource `{id}` in zone `{}`", zone.id)))
}

async fn get_mut(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<Resource> {
    let r = get(state, who, zone, id).await?;
    if r.owner_type == OwnerType::Platform {
        return Err(ApiError::platform_owned(&format!("resource `{id}`")));
    }
    Ok(r)
}

pub async fn create(
    state: &AppState,
    who: &Principal,
    zone: &str,
    body: CreateResource,
) -> ApiResult<Resource> {
    let zone = access::zone(state, who, zone).await?;
    let identifier = resource_identifier(body.identifier)?;
    let name = text::name("name", body.name)?;
    let application_id = match body.application_id {
        Some(a) => Some(check_application(state, &zone.id, &a).await?),
        None => None,
    };
    let credential_provider_id = match body.credential_provider_id {
        Some(p) => Some(check_provider(state, &zone.id, &p).await?),
        None => None,
    };
    let now = Timestamp::now();
    let r = Resource {
        zone_id: zone.id,
        id: ResourceId::new(new_id()?),
        organization_id: zone.organization_id,
        slug: text::slugify(&name, "resource"),
        identifier,
        name,
        owner_type: OwnerType::Customer,
        application_id,
        application_type: body.application_type.unwrap_or_default(),
        credential_lifetime_seconds: body.credential_lifetime_seconds.map(lifetime).transpose()?,
        credential_provider_id,
        description: opt_description("description", body.description)?,
        metadata: body
            .metadata
            .map(|m| validate::metadata("metadata", m))
            .transpose()?
            .flatten(),
        prefix: body.prefix.unwrap_or(false),
        scopes: body
            .scopes
            .map(|s| validate::scopes("scopes", s))
            .transpose()?,
        created_at: now,
        updated_at: now,
    };
    let ident = r.identifier.clone();
    state.store.create_resource(r).await.map_err(|e| {
        taken(e, || {
            format!("a resource with identifier `{ident}` already exists in this zone")
        })
    })
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone: &str,
    id: &str,
    body: UpdateResource,
) -> ApiResult<Resource> {
    let mut r = get_mut(state, who, zone, id).await?;
    if let Some(n) = required("name", body.name)? {
        r.name = text::name("name", n)?;
    }
    if let Some(i) = required("identifier", body.identifier)? {
        r.identifier = resource_identifier(i)?;
    }
    if let Some(t) = required("application_type", body.application_type)? {
        r.application_type = t;
    }
    if let Some(p) = required("prefix", body.prefix)? {
        r.prefix = p;
    }
    r.description = body
        .description
        .try_map(|d| text::description("description", d, text::DESCRIPTION_MAX))?
        .apply(r.description);
    r.metadata = super::validate::patch_metadata(r.metadata, body.metadata)?;
    r.credential_lifetime_seconds = body
        .credential_lifetime_seconds
        .try_map(lifetime)?
        .apply(r.credential_lifetime_seconds);
    r.scopes = body
        .scopes
        .try_map(|s| validate::scopes("scopes", s))?
        .apply(r.scopes);
    r.application_id = match body.application_id {
        latchkey_domain::Patch::Value(a) => Some(check_application(state, &r.zone_id, &a).await?),
        other => other.map(ApplicationId::new).apply(r.application_id),
    };
    r.credential_provider_id = match body.credential_provider_id {
        latchkey_domain::Patch::Value(p) => Some(check_provider(state, &r.zone_id, &p).await?),
        other => other.map(ProviderId::new).apply(r.credential_provider_id),
    };
    r.updated_at = Timestamp::now();
    state.store.update_resource(&r).await.map_err(|e| {
        taken(e, || {
            format!(
                "a resource with identifier `{}` already exists in this zone",
                r.identifier
            )
        })
    })?;
    Ok(r)
}

pub async fn delete(state: &AppState, who: &Principal, zone: &str, id: &str) -> ApiResult<()> {
    let r = get_mut(state, who, zone, id).await?;
    state.store.delete_resource(&r.zone_id, &r.id).await?;
    Ok(())
}
