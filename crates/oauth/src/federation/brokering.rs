//! Brokering delegated grants: which external resources a sign-in still needs the user's
//! upstream authorization for, and the grant stored when the provider answers.

use latchkey_domain::id::{ApplicationId, GrantId, ResourceId, UserId};
use latchkey_domain::model::directory::{ProviderType, Resource};
use latchkey_domain::model::identity::{Grant, Status};
use latchkey_domain::store::GrantFilter;
use latchkey_domain::{PageRequest, Timestamp};
use serde_json::Value;

use super::{Failed, Hop, Pending, Returned, failed, prepare_hop};
use crate::authorize::AuthorizeQuery;
use crate::browser::AuthRequest;
use crate::provider::{expires_in, oauth2, pointer};
use crate::services::Services;
use crate::targets::resolve_target;
use crate::upstream::seal_token;
use crate::zones::ZoneEntry;

/// What a signed-in request still needs before consent.
#[derive(Debug)]
pub enum Missing {
    /// Every upstream grant is in place.
    Nothing,
    /// The browser goes to a provider first.
    Hop(Hop),
    /// A grant is missing but the request asked for no interaction (`prompt=none`).
    InteractionRequired,
}

/// The requested resources, the dependencies of the applications that provide them (the
/// resource server will exchange for those), and the client application's own dependencies.
async fn wanted(
    s: &Services,
    zone: &ZoneEntry,
    req: &AuthRequest,
) -> Result<Vec<Resource>, Failed> {
    let mut wanted: Vec<Resource> = Vec::new();
    let mut apps: Vec<ApplicationId> = Vec::new();
    for r in &req.resources {
        if let Ok(t) = resolve_target(s, zone, r).await {
            if t.kind == ProviderType::External {
                wanted.push(t.resource.clone());
            }
            if let Some(owner) = &t.resource.application_id {
                apps.push(owner.clone());
            }
        }
    }
    if let Some(app) = &req.client.application_id {
        apps.push(ApplicationId::new(app));
    }
    apps.sort();
    apps.dedup();
    for app in &apps {
        let deps = s
            .store
            .list_dependencies(&zone.zone.id, app, None, &PageRequest::first(100))
            .await
            .map_err(|_| failed("store"))?;
        wanted.extend(deps.items.into_iter().map(|d| d.resource));
    }
    Ok(wanted)
}

/// The next external resource of the request that the user has no active grant for: the
/// browser goes there first.
pub async fn next_missing_grant(
    s: &Services,
    zone: &ZoneEntry,
    request_id: &str,
    req: &AuthRequest,
    user: &UserId,
) -> Result<Missing, Failed> {
    let silent = AuthorizeQuery::prompts(req.prompt.as_deref(), "none");
    for r in wanted(s, zone, req).await? {
        let Some(pid) = &r.credential_provider_id else {
            continue;
        };
        let Some(p) = s
            .store
            .get_provider(&zone.zone.id, pid)
            .await
            .map_err(|_| failed("store"))?
        else {
            continue;
        };
        if p.kind != ProviderType::External || active_grant(s, zone, user, &r.id).await?.is_some() {
            continue;
        }
        if silent {
            return Ok(Missing::InteractionRequired);
        }
        let scopes = r.scopes.clone().unwrap_or_default();
        let nonce = latchkey_crypto::random::secret("").map_err(|_| failed("random"))?;
        let pending = Pending {
            login: false,
            request_id: request_id.to_owned(),
            provider_id: p.id.as_str().to_owned(),
            verifier: None,
            nonce,
            resource_id: Some(r.id.as_str().to_owned()),
            user_id: Some(user.as_str().to_owned()),
            browser: String::new(),
        };
        return prepare_hop(s, zone, &p, pending, scopes, Some(&r), vec![])
            .await
            .map(Missing::Hop);
    }
    Ok(Missing::Nothing)
}

async fn active_grant(
    s: &Services,
    zone: &ZoneEntry,
    user: &UserId,
    resource: &ResourceId,
) -> Result<Option<Grant>, Failed> {
    let f = GrantFilter {
        status: Some(Status::Active),
        user_id: Some(user.clone()),
        resource_id: Some(resource.clone()),
    };
    let page = s
        .store
        .list_grants(&zone.zone.id, &f, Timestamp::now(), &PageRequest::first(1))
        .await
        .map_err(|_| failed("store"))?;
    Ok(page.items.into_iter().next())
}

/// The scopes the provider granted (space- or comma-separated).
fn granted_scopes(tokens: &Value) -> Vec<String> {
    tokens
        .get("scope")
        .and_then(Value::as_str)
        .map(|sc| {
            sc.split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Stores (or renews) the user's grant from a returned brokering hop.
pub async fn store_grant(s: &Services, zone: &ZoneEntry, back: &Returned) -> Result<(), Failed> {
    let (p, pending, tokens) = (&back.provider, &back.pending, &back.tokens);
    let pointer_path = oauth2(p)
        .and_then(|o| o.token_response_access_token_pointer.clone())
        .unwrap_or_else(|| "access_token".into());
    let access = pointer(tokens, &pointer_path)
        .map(str::to_owned)
        .ok_or_else(|| failed("no access token in the provider's answer"))?;
    let (Some(user_id), Some(resource_id)) = (&pending.user_id, &pending.resource_id) else {
        return Err(failed("state"));
    };
    let user = UserId::new(user_id);
    let resource = ResourceId::new(resource_id);
    let now = Timestamp::now();
    let refresh = tokens.get("refresh_token").and_then(Value::as_str);
    let existing = active_grant(s, zone, &user, &resource).await?;
    let id = match &existing {
        Some(g) => g.id.clone(),
        None => GrantId::new(latchkey_crypto::random::id().map_err(|_| failed("random"))?),
    };
    let grant = Grant {
        zone_id: zone.zone.id.clone(),
        id: id.clone(),
        organization_id: zone.zone.organization_id.clone(),
        user_id: user,
        resource_id: resource,
        provider_id: p.id.clone(),
        scopes: granted_scopes(tokens),
        status: Status::Active,
        expires_at: now.plus_seconds(expires_in(tokens)),
        refresh_token_set: refresh.is_some(),
        refreshed_at: None,
        access_token: seal_token(s, &id, &zone.zone.id, "access_token", &access),
        refresh_token: refresh.and_then(|r| seal_token(s, &id, &zone.zone.id, "refresh_token", r)),
        created_at: existing.as_ref().map(|g| g.created_at).unwrap_or(now),
        updated_at: now,
    };
    let saved = if existing.is_some() {
        s.store.update_grant_tokens(&grant).await
    } else {
        s.store.insert_grant(&grant).await
    };
    saved.map_err(|_| failed("store"))
}
