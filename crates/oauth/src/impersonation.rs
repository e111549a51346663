//! Impersonation (Keycard's substitute-user token exchange, zone-oauth.md §2.5): the
//! authenticated application acts as a user who presented no token — only when a policy permits
//! it, decided before the user is looked up.

use latchkey_domain::{ListFilter, PageRequest};
use serde_json::Value;

use crate::client::Client;
use crate::decide::{Asker, decide};
use crate::error::OAuthError;
use crate::error::server;
use crate::issued::Issued;
use crate::policy::{self, Action, Principal};
use crate::requests::Targets;
use crate::services::Services;
use crate::targets::{resolve_target, single_target};
use crate::upstream;
use crate::zones::ZoneEntry;

/// The subject named by an unsigned substitute-user token (`{"typ":"vnd.kc.su+jwt","alg":"none"}`,
/// payload `{"sub": identifier | email | provider subject}`). Parsed without touching the store.
fn substitute_subject(token: &str) -> Result<String, OAuthError> {
    use base64::Engine;
    let bad = || OAuthError::bad("invalid_grant", "the substitute-user token is malformed");
    let mut parts = token.split('.');
    let (h, p) = (parts.next().ok_or_else(bad)?, parts.next().ok_or_else(bad)?);
    let decode = |x: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(x)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
    };
    let header = decode(h).ok_or_else(bad)?;
    let payload = decode(p).ok_or_else(bad)?;
    if header.get("typ").and_then(Value::as_str) != Some("vnd.kc.su+jwt") {
        return Err(bad());
    }
    payload
        .get("sub")
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty() && x.len() <= 1024)
        .map(str::to_owned)
        .ok_or_else(bad)
}

/// The user whose identifier, email or provider subject is `sub`.
async fn substitute_user(
    state: &Services,
    zone: &ZoneEntry,
    sub: &str,
) -> Result<latchkey_domain::model::identity::User, OAuthError> {
    for field in ["identifier", "email", "subject"] {
        let filter = latchkey_domain::store::UserFilter {
            list: ListFilter::default().exact(field, vec![sub.to_owned()]),
            external: None,
        };
        if let Some(u) = state
            .store
            .list_users(&zone.zone.id, &filter, &PageRequest::first(1))
            .await
            .map_err(server)?
            .items
            .pop()
        {
            return Ok(u);
        }
    }
    Err(OAuthError::bad(
        "invalid_grant",
        "no user matches the substitute-user token",
    ))
}

/// Impersonation: the authenticated application acts as a user, if policy permits (no default
/// policy does; a customer permit on `context.impersonate` must) and the user already granted
/// access to the target. A refused caller learns nothing about which users exist.
pub async fn impersonate(
    state: &Services,
    zone: &ZoneEntry,
    client: &Client,
    targets: &Targets,
    token: &str,
) -> Result<Issued, OAuthError> {
    let sub = substitute_subject(token)?;
    let target = single_target(targets, None)?;
    let t = resolve_target(state, zone, &target).await?;
    let principal = Principal {
        application: client.application(),
        subject: Some(&sub),
        accessing: None,
    };
    policy::authorize(state, &principal, Action::Impersonate, &t.resource).await?;
    let scope = crate::targets::scopes(targets, &t.resource)?;
    // Cedar decides before the answer can depend on whether the user exists: an unknown user
    // is evaluated under the presented subject alone.
    let user = substitute_user(state, zone, &sub).await;
    let (id, identifier) = match &user {
        Ok(u) => (u.id.as_str(), u.identifier.as_str()),
        Err(_) => ("", sub.as_str()),
    };
    let asker = Asker::Impersonating(client.application(), client.credential(), id, identifier);
    decide(state, zone, &asker, &t.resource, scope).await?;
    let user = user?;
    upstream::delegated(state, zone, &t.resource, &user.identifier).await
}
