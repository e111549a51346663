//! Zones: create, list, retrieve, update and delete, with their protocol settings. Platform zones
//! are read-only; deleting a zone cascades to everything it owns.

use latchkey_domain::id::{ApplicationId, ProviderId, ResourceId, ZoneId};
use latchkey_domain::model::access::{OrgRole, Principal};
use latchkey_domain::model::zone::{Cimd, EncryptionKey, Zone};
use latchkey_domain::store::ZoneFilter;
use latchkey_domain::{Page, PageRequest, Patch, Timestamp, ValidationError, text};

use super::{access, new_id, opt_description, required};
use crate::api::directory::CreateApplication;
use crate::api::zone::{CimdBody, CreateZone, EncryptionKeyBody, OAuth2Patch, UpdateZone};
use crate::error::ApiResult;
use crate::state::AppState;

const MAX_CIMD_ENTRIES: usize = 100;

pub async fn list(
    state: &AppState,
    who: &Principal,
    org_filter: Option<&str>,
    mut filter: ZoneFilter,
    page: &PageRequest,
) -> ApiResult<Page<Zone>> {
    let org = match org_filter {
        Some(id) => access::organization(state, who, id).await?.id,
        None => who.organization_id().clone(),
    };
    // An org_member sees the zones they are a member of.
    if let Principal::User {
        user_id,
        role: Some(OrgRole::OrgMember),
        ..
    } = who
    {
        filter.member = Some(user_id.clone());
    }
    Ok(state.store.list_zones(&org, &filter, page).await?)
}

pub async fn create(state: &AppState, who: &Principal, body: CreateZone) -> ApiResult<Zone> {
    let org = match body.organization_id.as_deref() {
        Some(id) => access::organization(state, who, id).await?.id,
        None => who.organization_id().clone(),
    };
    let name = text::name("name", body.name)?;
    let mut zone = Zone::new(ZoneId::new(new_id()?), org, name, Timestamp::now());
    zone.slug = text::slugify(&zone.name, "zone");
    zone.description = opt_description("description", body.description)?;
    zone.encryption_key = body.encryption_key.map(encryption_key).transpose()?;
    if let Some(v) = body.requires_invitation {
        zone.requires_invitation = v;
    }
    if let Some(flow) = body.login_flow {
        zone.login_flow = flow;
    }
    if let Some(alg) = body.signing_alg {
        zone.signing_alg = signing_alg(alg)?;
    }
    if let Some(oauth2) = body.protocols.and_then(|p| p.oauth2) {
        zone.dcr_enabled = oauth2.dcr_enabled.unwrap_or(zone.dcr_enabled);
        zone.pkce_required = oauth2.pkce_required.unwrap_or(zone.pkce_required);
        if let Some(c) = oauth2.cimd {
            zone.cimd = cimd("protocols.oauth2.cimd", c)?;
        }
    }
    // The signing keys and the gateway application are stored with the zone, in one
    // transaction: a zone never shows without them, even if the server dies half-way, and a
    // request that fails leaves no zone behind.
    let gateway = if body.default_mcp_gateway_application == Some(true) {
        let gateway = CreateApplication {
            identifier: format!("{}/mcp", state.zone_issuer(zone.id.as_str())),
            name: "MCP Gateway".to_owned(),
            consent: None,
            dependencies: None,
            description: Some("Default MCP gateway of the zone".to_owned()),
            metadata: None,
            protocols: None,
            traits: Some(vec!["gateway".to_owned()]),
        };
        let (app, _) = super::applications::prepare(state, &zone, gateway).await?;
        zone.default_mcp_gateway_application_id = Some(app.id.as_str().to_owned());
        Some(app)
    } else {
        None
    };
    let keys = state.keys.first_keys(&zone.id, &zone.signing_alg).await?;
    let (zone, _) = state.store.create_zone_with(zone, &keys, gateway).await?;
    super::policy_attest::seed_defaults(state, &zone).await?;
    Ok(zone)
}

pub async fn update(
    state: &AppState,
    who: &Principal,
    zone_id: &str,
    body: UpdateZone,
) -> ApiResult<Zone> {
    let mut zone = access::zone_for_change(state, who, zone_id).await?;
    let defaults = Zone::new(
        zone.id.clone(),
        zone.organization_id.clone(),
        String::new(),
        zone.created_at,
    );
    zone.name = required("name", body.name)?
        .map(|n| text::name("name", n))
        .transpose()?
        .unwrap_or(zone.name);
    zone.description = body
        .description
        .try_map(|d| text::description("description", d, text::DESCRIPTION_MAX))?
        .apply(zone.description);
    zone.external_sync_enabled = required("external_sync_enabled", body.external_sync_enabled)?
        .unwrap_or(zone.external_sync_enabled);
    zone.requires_invitation = required("requires_invitation", body.requires_invitation)?
        .unwrap_or(zone.requires_invitation);
    zone.login_flow = required("login_flow", body.login_flow)?.unwrap_or(zone.login_flow);
    zone.encryption_key = body
        .encryption_key
        .try_map(encryption_key)?
        .apply(zone.encryption_key);
    let r = reference(
        state,
        &zone,
        "default_resource_id",
        body.default_resource_id,
    )
    .await?;
    zone.default_resource_id = r.apply(zone.default_resource_id.take());
    let a = reference(
        state,
        &zone,
        "default_mcp_gateway_application_id",
        body.default_mcp_gateway_application_id,
    )
    .await?;
    zone.default_mcp_gateway_application_id =
        a.apply(zone.default_mcp_gateway_application_id.take());
    let p = reference(
        state,
        &zone,
        "user_identity_provider_id",
        body.user_identity_provider_id,
    )
    .await?;
    zone.user_identity_provider_id = p.apply(zone.user_identity_provider_id.take());
    match body.protocols {
        Patch::Absent => {}
        Patch::Null => {
            (zone.dcr_enabled, zone.pkce_required, zone.cimd) =
                (defaults.dcr_enabled, defaults.pkce_required, defaults.cimd);
        }
        Patch::Value(p) => match p.oauth2 {
            Patch::Absent => {}
            Patch::Null => {
                (zone.dcr_enabled, zone.pkce_required, zone.cimd) =
                    (defaults.dcr_enabled, defaults.pkce_required, defaults.cimd);
            }
            Patch::Value(o) => apply_oauth2(&mut zone, &defaults, o)?,
        },
    }
    let restage = match required("signing_alg", body.signing_alg)? {
        Some(alg) => {
            let alg = signing_alg(alg)?;
            let changed = alg != zone.signing_alg;
            zone.signing_alg = alg;
            changed
        }
        None => false,
    };
    zone.updated_at = Timestamp::now();
    state.store.update_zone(&zone).await?;
    if restage {
        state.keys.restage(&zone.id, &zone.signing_alg).await?;
    }
    state.zone_changed(&zone.id);
    Ok(zone)
}

fn signing_alg(alg: String) -> ApiResult<String> {
    match alg.as_str() {
        "RS256" | "ES256" | "EdDSA" => Ok(alg),
        _ => Err(crate::error::ApiError::invalid_field(
            "signing_alg",
            "must be `RS256`, `ES256` or `EdDSA`",
        )),
    }
}

/// Rotates the zone's signing keys now (next → current → previous).
pub async fn rotate_keys(state: &AppState, who: &Principal, zone_id: &str) -> ApiResult<Zone> {
    let zone = access::zone_for_change(state, who, zone_id).await?;
    state.keys.rotate(&zone.id, &zone.signing_alg).await?;
    super::policy_attest::resign_zone(state, &zone).await?;
    Ok(zone)
}

/// Applies an `oauth2` protocol patch; `null` restores a setting's default.
fn apply_oauth2(zone: &mut Zone, defaults: &Zone, o: OAuth2Patch) -> ApiResult<()> {
    zone.dcr_enabled = o
        .dcr_enabled
        .apply(Some(zone.dcr_enabled))
        .unwrap_or(defaults.dcr_enabled);
    zone.pkce_required = o
        .pkce_required
        .apply(Some(zone.pkce_required))
        .unwrap_or(defaults.pkce_required);
    zone.cimd = match o.cimd {
        Patch::Absent => zone.cimd.clone(),
        Patch::Null => Cimd::default(),
        Patch::Value(c) => cimd("protocols.oauth2.cimd", c)?,
    };
    Ok(())
}

pub async fn delete(state: &AppState, who: &Principal, zone_id: &str) -> ApiResult<()> {
    let zone = access::zone_for_change(state, who, zone_id).await?;
    state.store.delete_zone(&zone.id).await?;
    state.zone_changed(&zone.id);
    Ok(())
}

/// A reference to another object of the zone: it must exist there.
async fn reference(
    state: &AppState,
    zone: &Zone,
    field: &str,
    patch: Patch<String>,
) -> ApiResult<Patch<String>> {
    let Patch::Value(id) = &patch else {
        return Ok(patch);
    };
    let exists = match field {
        "default_resource_id" => state
            .store
            .get_resource(&zone.id, &ResourceId::new(id))
            .await?
            .is_some(),
        "user_identity_provider_id" => state
            .store
            .get_provider(&zone.id, &ProviderId::new(id))
            .await?
            .is_some(),
        _ => state
            .store
            .get_application(&zone.id, &ApplicationId::new(id))
            .await?
            .is_some(),
    };
    let kind = match field {
        "default_resource_id" => "resource",
        "user_identity_provider_id" => "provider",
        _ => "application",
    };
    super::found(exists.then_some(()), field, kind, id)?;
    Ok(patch)
}

fn encryption_key(body: EncryptionKeyBody) -> Result<EncryptionKey, ValidationError> {
    text::check_text("encryption_key.arn", &body.arn, 1, text::IDENTIFIER_MAX)?;
    Ok(EncryptionKey { arn: body.arn })
}

/// Checks CIMD entries (rule B40): `*`, or an absolute http(s) URL whose host may start with one
/// `*.` label wildcard.
fn cimd(field: &str, body: CimdBody) -> Result<Cimd, ValidationError> {
    let ids_field = format!("{field}.allowed_client_ids");
    if body.allowed_client_ids.len() > MAX_CIMD_ENTRIES {
        return Err(ValidationError::new(
            &ids_field,
            format!("at most {MAX_CIMD_ENTRIES} entries"),
        ));
    }
    for (i, entry) in body.allowed_client_ids.iter().enumerate() {
        let f = format!("{ids_field}[{i}]");
        text::check_text(&f, entry, 1, text::IDENTIFIER_MAX)?;
        if entry != "*" && !valid_cimd_pattern(entry) {
            return Err(ValidationError::new(
                f,
                format!(
                    "`{entry}` must be `*`, an https URL, or an origin with one leading `*.` label"
                ),
            ));
        }
    }
    Ok(Cimd {
        enabled: body.enabled,
        allowed_client_ids: body.allowed_client_ids,
    })
}

fn valid_cimd_pattern(entry: &str) -> bool {
    let Some(rest) = entry
        .strip_prefix("https://")
        .or_else(|| entry.strip_prefix("http://"))
    else {
        return false;
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let stars = entry.matches('*').count();
    let host_ok = !host.is_empty() && !host.contains(char::is_whitespace);
    match stars {
        0 => host_ok,
        1 => host.starts_with("*.") && host.len() > 2 && !host[2..].contains('*'),
        _ => false,
    }
}

/// The zone's published signing keys (public parts and lifecycle), oldest first.
pub async fn list_keys(
    state: &AppState,
    who: &Principal,
    zone_id: &str,
) -> ApiResult<Vec<latchkey_domain::model::keys::StoredKey>> {
    let zone = access::zone(state, who, zone_id).await?;
    state.keys.get(&zone.id, &zone.signing_alg).await?;
    Ok(state.store.list_keys(&zone.id, Timestamp::now()).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cimd_patterns() {
        assert!(valid_cimd_pattern("https://app.example.com/client.json"));
        assert!(valid_cimd_pattern("https://*.example.com"));
        assert!(!valid_cimd_pattern("https://a.*.example.com"));
        assert!(!valid_cimd_pattern("https://*.*.example.com"));
        assert!(!valid_cimd_pattern("ftp://x"));
        assert!(!valid_cimd_pattern("https://"));
    }
}
