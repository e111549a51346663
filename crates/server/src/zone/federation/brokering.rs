//! Brokering delegated grants: which external resources a sign-in still needs the user's
//! upstream authorization for, and the grant stored when the provider answers.

use axum::response::Response;
use latchkey_domain::PageRequest;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{GrantId, ResourceId, UserId};
use latchkey_domain::model::directory::{ProviderType, Resource};
use latchkey_domain::model::identity::{Grant, Status};
use latchkey_domain::store::GrantFilter;
use serde_json::Value;

use super::*;
use crate::state::AppState;
use crate::zone::authorize::client_error;
use crate::zone::browser::AuthRequest;
use crate::zone::cache::ZoneEntry;
use crate::zone::targets::resolve_target;
use latchkey_oauth::provider::*;

/// The next external resource of the request (or the client application's dependencies) that
/// the user has no active grant for: the browser goes there first.
pub async fn next_missing_grant(
    s: &AppState,
    zone: &ZoneEntry,
    request_id: &str,
    req: &AuthRequest,
    user: &UserId,
) -> Result<Option<Response>, Response> {
    // The requested resources, the dependencies of the applications that provide them (the
    // resource server will exchange for those), and the client application's own dependencies.
    let mut wanted: Vec<Resource> = Vec::new();
    let mut apps: Vec<latchkey_domain::id::ApplicationId> = Vec::new();
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
        apps.push(latchkey_domain::id::ApplicationId::new(app));
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
    let silent = req
        .prompt
        .as_deref()
        .is_some_and(|p| p.split_ascii_whitespace().any(|x| x == "none"));
    for r in wanted {
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
            return Err(client_error(
                zone,
                &req.redirect_uri,
                req.state.as_deref(),
                "interaction_required",
                "an upstream authorization is needed",
            ));
        }
        let scopes = r.scopes.clone().unwrap_or_default();
        let Ok(nonce) = latchkey_crypto::random::secret("") else {
            return Err(failed("random"));
        };
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
        return go_upstream(s, zone, &p, pending, scopes, Some(&r))
            .await
            .map(Some);
    }
    Ok(None)
}

pub(super) async fn active_grant(
    s: &AppState,
    zone: &ZoneEntry,
    user: &UserId,
    resource: &ResourceId,
) -> Result<Option<Grant>, Response> {
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

pub(super) async fn finish_grant(
    s: &AppState,
    zone: &ZoneEntry,
    back: Returned,
    session: latchkey_domain::model::identity::Session,
) -> Response {
    let Returned {
        provider,
        pending,
        tokens,
        req,
        csrf,
    } = back;
    let (p, pending) = (&provider, &pending);
    let pointer_path = oauth2(p)
        .and_then(|o| o.token_response_access_token_pointer.clone())
        .unwrap_or_else(|| "access_token".into());
    let Some(access) = pointer(&tokens, &pointer_path).map(str::to_owned) else {
        return failed("no access token in the provider's answer");
    };
    let (Some(user_id), Some(resource_id)) = (&pending.user_id, &pending.resource_id) else {
        return failed("state");
    };
    let user = UserId::new(user_id);
    let resource = ResourceId::new(resource_id);
    let now = Timestamp::now();
    let expires_in = tokens
        .get("expires_in")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        })
        .unwrap_or(DEFAULT_GRANT_SECONDS);
    let refresh = tokens.get("refresh_token").and_then(Value::as_str);
    let scopes: Vec<String> = tokens
        .get("scope")
        .and_then(Value::as_str)
        .map(|sc| {
            sc.split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let existing = match active_grant(s, zone, &user, &resource).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let id = match &existing {
        Some(g) => g.id.clone(),
        None => match latchkey_crypto::random::id() {
            Ok(i) => GrantId::new(i),
            Err(_) => return failed("random"),
        },
    };
    let grant = Grant {
        zone_id: zone.zone.id.clone(),
        id: id.clone(),
        organization_id: zone.zone.organization_id.clone(),
        user_id: user,
        resource_id: resource,
        provider_id: p.id.clone(),
        scopes,
        status: Status::Active,
        expires_at: now.plus_seconds(expires_in),
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
    if saved.is_err() {
        return failed("store");
    }
    crate::zone::login::proceed(s, zone, &pending.request_id, &csrf, req, session).await
}
