//! The policy hook: one `authorize` call at every issuance point. Today it applies the default
//! rule — an application may obtain tokens for resources it depends on or provides; Cedar
//! enforcement plugs in here without touching the grant code.

use latchkey_domain::model::directory::{Application, Resource};

use super::client_auth::server;
use crate::oauth_error::OAuthError;
use crate::state::AppState;

/// What is being attempted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// client_credentials: the application acting as itself.
    IssueAppToken,
    /// token exchange: the application acting for the subject of a token.
    ExchangeToken,
    /// token exchange with a substitute-user token: the application acting as a user who did not
    /// present a token. Forbidden unless a policy permits it.
    Impersonate,
}

/// Who asks: the authenticated application, and the subject it acts for (if any).
pub struct Principal<'a> {
    pub application: &'a Application,
    pub subject: Option<&'a str>,
}

/// Allows or denies with `access_denied`.
pub async fn authorize(
    state: &AppState,
    who: &Principal<'_>,
    action: Action,
    resource: &Resource,
) -> Result<(), OAuthError> {
    let app = who.application;
    let provides = resource.application_id.as_ref() == Some(&app.id);
    let key = (app.zone_id.clone(), (app.id.clone(), resource.id.clone()));
    let depends = match state.directory.deps.get(&key) {
        Some(d) => d,
        None => {
            let d = state
                .store
                .has_dependency(&app.zone_id, &app.id, &resource.id)
                .await
                .map_err(server)?;
            state.directory.deps.insert(key, d);
            d
        }
    };
    let allowed = match action {
        Action::IssueAppToken => depends || provides,
        Action::ExchangeToken => depends,
        // No default rule permits impersonation; only an explicit policy can (Cedar, later).
        Action::Impersonate => {
            return Err(OAuthError::bad(
                "access_denied",
                format!(
                    "no policy permits application `{}` to impersonate users",
                    app.identifier
                ),
            ));
        }
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
