//! The structural rules checked before Cedar (`decide`) at the application grants: an
//! application may obtain tokens for resources it depends on or provides, where a dependency with
//! `when_accessing` conditions counts only for a token exchange whose subject token was issued
//! for one of those resources.

use std::sync::Arc;

use latchkey_domain::id::ResourceId;
use latchkey_domain::model::directory::{Application, Resource};

use crate::directory_cache::Conditions;
use crate::error::{OAuthError, server};
use crate::scoped_cache::Lookup;
use crate::services::Services;

/// What is being attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// client_credentials: the application acting as itself.
    IssueAppToken,
    /// token exchange: the application acting for the subject of a token.
    ExchangeToken,
    /// token exchange with a substitute-user token: the application acting as a user who did not
    /// present a token. Structurally like its own access; Cedar must then permit it explicitly.
    Impersonate,
}

/// Who asks: the authenticated application, the subject it acts for (if any), and the resource
/// the subject's token was issued for (token exchange only).
pub struct Principal<'a> {
    pub application: &'a Application,
    pub subject: Option<&'a str>,
    pub accessing: Option<&'a ResourceId>,
}

/// The `when_accessing` conditions of `app`'s dependency on `resource` (None: no dependency).
async fn conditions(
    state: &Services,
    app: &Application,
    resource: &Resource,
) -> Result<Conditions, OAuthError> {
    let key = (app.zone_id.clone(), (app.id.clone(), resource.id.clone()));
    let ticket = match state.directory.deps.get(&key) {
        Lookup::Hit(hit) => return Ok(hit),
        Lookup::Miss(ticket) => ticket,
    };
    let found = state
        .store
        .dependency_conditions(&app.zone_id, &app.id, &resource.id)
        .await
        .map_err(server)?
        .map(Arc::new);
    state.directory.deps.insert(key, found.clone(), ticket);
    Ok(found)
}

/// Allows or denies with `access_denied`.
pub async fn authorize(
    state: &Services,
    who: &Principal<'_>,
    action: Action,
    resource: &Resource,
) -> Result<(), OAuthError> {
    let app = who.application;
    let provides = resource.application_id.as_ref() == Some(&app.id);
    let depends = match conditions(state, app, resource).await? {
        None => false,
        Some(when) if when.is_empty() => true,
        // A conditional dependency is available only while the subject's token is for one of
        // the listed resources: never to the application acting as itself.
        Some(when) => {
            action == Action::ExchangeToken && who.accessing.is_some_and(|a| when.contains(a))
        }
    };
    let allowed = match action {
        Action::IssueAppToken | Action::Impersonate => depends || provides,
        Action::ExchangeToken => depends,
    };
    if allowed {
        Ok(())
    } else {
        Err(OAuthError::bad(
            "access_denied",
            format!(
                "application `{}` has no dependency on resource `{}`",
                app.identifier, resource.identifier
            ),
        ))
    }
}
