//! Resource resolution at the token and authorization endpoints: a requested identifier to its
//! resource (exact, then longest prefix), audience and provider type, through the directory
//! cache; the single target of a request, its scopes, and the zone's default resource.

use latchkey_domain::model::directory::{ProviderType, Resource};
use latchkey_domain::resource_match::best_match;
use latchkey_domain::store::ResourceFilter;
use latchkey_domain::{ListFilter, PageRequest};

use std::sync::Arc;

use crate::directory_cache::Target;
use crate::error::OAuthError;
use crate::error::server;
use crate::requests::Targets;
use crate::scoped_cache::Lookup;
use crate::services::Services;
use crate::zones::ZoneEntry;

/// The resource protecting `requested`, and the audience to put in tokens for it: the
/// registered identifier, or for a prefix resource the requested URL itself.
async fn lookup_resource(
    state: &Services,
    zone: &ZoneEntry,
    requested: &str,
) -> Result<(Resource, String), OAuthError> {
    let zone_id = &zone.zone.id;
    let exact = ResourceFilter {
        list: ListFilter::default().exact("identifier", vec![requested.to_owned()]),
        ..Default::default()
    };
    if let Some(r) = state
        .store
        .list_resources(zone_id, &exact, &PageRequest::first(1))
        .await
        .map_err(server)?
        .items
        .pop()
    {
        let aud = r.identifier.clone();
        return Ok((r, aud));
    }
    let mut candidates = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let filter = ResourceFilter {
            prefix: Some(true),
            ..Default::default()
        };
        let got = state
            .store
            .list_resources(zone_id, &filter, &page)
            .await
            .map_err(server)?;
        let (more, end) = (got.has_next, got.end.clone());
        candidates.extend(got.items);
        if !more || candidates.len() >= 10_000 {
            break;
        }
        page.after = end;
    }
    best_match(&candidates, requested)
        .cloned()
        .map(|r| (r, requested.to_owned()))
        .ok_or_else(|| {
            OAuthError::bad(
                "invalid_target",
                format!("no resource `{requested}` in this zone"),
            )
        })
}

/// `requested` resolved to its resource, audience and provider type, through the directory cache.
pub async fn resolve_target(
    state: &Services,
    zone: &ZoneEntry,
    requested: &str,
) -> Result<Arc<Target>, OAuthError> {
    let key = (zone.zone.id.clone(), requested.to_owned());
    let ticket = match state.directory.targets.get(&key) {
        Lookup::Hit(hit) => return Ok(hit),
        Lookup::Miss(ticket) => ticket,
    };
    let (resource, aud) = lookup_resource(state, zone, requested).await?;
    let kind = kind_of(state, zone, &resource).await?;
    let target = Arc::new(Target {
        resource,
        aud,
        kind,
    });
    state.directory.targets.insert(key, target.clone(), ticket);
    Ok(target)
}

/// The single target of a request: `resource` (RFC 8707) or `audience` (RFC 8693).
pub fn single_target(t: &Targets, default: Option<String>) -> Result<String, OAuthError> {
    let mut targets: Vec<&str> = t.resources.iter().map(String::as_str).collect();
    for a in &t.audiences {
        if !targets.contains(&a.as_str()) {
            targets.push(a);
        }
    }
    match targets.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => default.ok_or_else(|| OAuthError::invalid_request("`resource` is required")),
        _ => Err(OAuthError::bad(
            "invalid_target",
            "one `resource` per request",
        )),
    }
}

/// Requested scopes, each of which the resource must support.
pub fn scopes(t: &Targets, resource: &Resource) -> Result<Option<String>, OAuthError> {
    let Some(requested) = t.scope.as_deref().filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let allowed = resource.scopes.as_deref().unwrap_or_default();
    let mut granted: Vec<&str> = Vec::new();
    for s in requested.split_ascii_whitespace() {
        if !allowed.iter().any(|a| a == s) {
            return Err(OAuthError::bad(
                "invalid_scope",
                format!("scope `{s}` is not offered by `{}`", resource.identifier),
            ));
        }
        if !granted.contains(&s) {
            granted.push(s);
        }
    }
    Ok(Some(granted.join(" ")))
}

/// The zone's default resource identifier, if one is set.
pub async fn default_target(
    state: &Services,
    zone: &ZoneEntry,
) -> Result<Option<String>, OAuthError> {
    let Some(id) = &zone.zone.default_resource_id else {
        return Ok(None);
    };
    let r = state
        .store
        .get_resource(&zone.zone.id, &latchkey_domain::id::ResourceId::new(id))
        .await
        .map_err(server)?;
    Ok(r.map(|r| r.identifier))
}

fn provider_type(state_kind: Option<ProviderType>) -> ProviderType {
    state_kind.unwrap_or(ProviderType::KeycardSts)
}

async fn kind_of(
    state: &Services,
    zone: &ZoneEntry,
    r: &Resource,
) -> Result<ProviderType, OAuthError> {
    let Some(pid) = &r.credential_provider_id else {
        return Ok(ProviderType::KeycardSts);
    };
    let p = state
        .store
        .get_provider(&zone.zone.id, pid)
        .await
        .map_err(server)?;
    Ok(provider_type(p.map(|p| p.kind)))
}
