//! Policy decisions as the management API shows them: the dry-run `evaluate` extension (a
//! token-request-shaped body turned into the issuance Cedar would see, `latchkey_oauth::decide`,
//! decided by one policy set version) and the zone's decision log.

use latchkey_oauth::decide::{self, Asker};
use latchkey_oauth::requests::TOKEN_EXCHANGE;
use latchkey_oauth::zones::ZoneEntry;
use latchkey_policy::authorize::deny_message;
use latchkey_policy::compile::CompiledSet;

use latchkey_domain::model::access::Principal;
use latchkey_domain::model::policy::DecisionRecord;
use latchkey_domain::store::DecisionFilter;
use latchkey_domain::{Page, PageRequest};

use super::access;
use crate::api::policy_set::{EvaluateRequest, EvaluateView};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

const SUBSTITUTE_USER: &str = "urn:keycard:params:oauth:token-type:substitute-user";
const GRANTS: &[&str] = &[
    "client_credentials",
    TOKEN_EXCHANGE,
    "authorization_code",
    "refresh_token",
];

fn bad(field: &str, message: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_field(field, message)
}

pub async fn evaluate(
    state: &AppState,
    zone: &ZoneEntry,
    set: &CompiledSet,
    body: EvaluateRequest,
) -> ApiResult<EvaluateView> {
    if !GRANTS.contains(&body.grant_type.as_str()) {
        return Err(bad("grant_type", format!("one of {}", GRANTS.join(", "))));
    }
    let oauth = |e: latchkey_oauth::error::OAuthError| bad("resource", e.description);
    let client = latchkey_oauth::client_auth::cached_client(state, zone, &body.client_id)
        .await
        .map_err(oauth)?
        .ok_or_else(|| bad("client_id", "no application credential has this client id"))?;
    let (cred, app) = (&client.0, &client.1);
    let target = latchkey_oauth::targets::resolve_target(state, zone, &body.resource)
        .await
        .map_err(oauth)?;
    let user = match &body.subject {
        Some(sub) => Some(
            decide::user_by_identifier(state, zone, sub)
                .await
                .map_err(oauth)?
                .ok_or_else(|| bad("subject", "no user of this zone has this identifier"))?,
        ),
        None => None,
    };
    let impersonate = body.subject_token_type.as_deref() == Some(SUBSTITUTE_USER);
    let asker = match (&user, impersonate, body.grant_type.as_str()) {
        (Some(u), true, _) => Asker::Impersonating(app, cred, u.id.as_str(), &u.identifier),
        (Some(u), false, _) => Asker::OnBehalf(Some((app, cred)), u),
        (None, _, "client_credentials") => Asker::Application(app, cred),
        (None, _, _) => return Err(bad("subject", "this grant acts for a user: give `subject`")),
    };
    let d = decide::evaluate(state, set, &asker, &target.resource, body.scope.as_deref())
        .await
        .map_err(oauth)?;
    let message = (!d.allowed).then(|| deny_message(set, &target.resource.name, &d.determining));
    Ok(EvaluateView {
        decision: if d.allowed { "allow" } else { "deny" },
        determining_policies: d
            .determining
            .iter()
            .filter_map(|p| serde_json::to_value(p).ok())
            .collect(),
        scopes: d.kept_scopes,
        denied_scopes: d.denied_scopes,
        message,
        errors: d.errors,
    })
}

/// The zone's decision log, filtered and paged.
pub async fn decisions(
    state: &AppState,
    who: &Principal,
    zone: &str,
    filter: &DecisionFilter,
    page: &PageRequest,
) -> ApiResult<Page<DecisionRecord>> {
    let zone = access::zone(state, who, zone).await?;
    Ok(state.store.list_decisions(&zone.id, filter, page).await?)
}
