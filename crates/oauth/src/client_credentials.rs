//! `grant_type=client_credentials`: the application as itself. The first request presenting a
//! client id for a target and scope authenticates the client and is worked out in full
//! (resource, dependency, scopes, Cedar), then kept as a plan (`plans`); a repeated one is
//! answered from the plan once its secret proves the plan's credential: it tallies the decision
//! and signs. It touches a few cache lines of the zone instead of every record the decision was
//! made on, so a token costs about the same whether one zone or a thousand are busy.

use std::sync::Arc;

use latchkey_domain::model::directory::ProviderType;

use crate::client::Client;
use crate::client_auth;
use crate::decide::{Asker, decide_recorded};
use crate::error::OAuthError;
use crate::issued::Issued;
use crate::mint;
use crate::plans::{Basis, Cnf, Head, Plan, PlanKey};
use crate::policy::{self, Action, Principal};
use crate::requests::{ClientParams, Grant, Targets, TokenRequest};
use crate::scoped_cache::Ticket;
use crate::services::Services;
use crate::targets::{default_target, resolve_target, scopes, single_target};
use crate::upstream;
use crate::zones::ZoneEntry;

/// Now, on the plans' epoch clock: taken by the token endpoint before it reads the zone, so that
/// a plan made from what it reads is kept only if nothing of the zone moved since.
pub fn ticket(state: &Services) -> Ticket {
    state.directory.plans.ticket()
}

/// A repeated `client_credentials` request answered from its plan, before the zone is looked up:
/// the plan for the path's zone, this client id, target and scope, when it is still valid and the
/// secret proves its credential; its decision is then tallied. `None` (no plan, any other grant,
/// a secret that does not prove it, a request the full path would refuse) sends the request the
/// full way.
pub fn planned(
    state: &Services,
    zone_id: &str,
    request: &TokenRequest,
) -> Option<Result<Issued, OAuthError>> {
    if !matches!(request.grant, Grant::ClientCredentials) {
        return None;
    }
    let (id, secret) = client_auth::presented_secret(&request.client).ok()??;
    let key = PlanKey::of(zone_id, &id, &request.targets)?;
    // (the key holds `id` exactly, and a plan is kept only under the id it `names`)
    let kept = state.directory.plans.get(&key)?;
    let plan = kept.plan();
    if !plan
        .proof()
        .is_some_and(|digest| client_auth::proves(state, digest, &secret))
    {
        return None;
    }
    if let Some(logged) = plan.logged() {
        crate::metrics::policy_decision(zone_id, true);
        state.decisions.tally_kept(logged);
    }
    let issued = issue(plan);
    match &issued {
        Ok(_) => crate::metrics::token_issued(zone_id, "client_credentials"),
        Err(e) => crate::metrics::token_denied(zone_id, "client_credentials", e.error),
    }
    Some(issued)
}

/// `grant_type=client_credentials` for the client `form` authenticates, in full (the request
/// [`planned`] did not answer): client authentication and the full checks, which make a new plan,
/// kept when nothing of the zone moved since `ticket` (taken before the zone was read).
pub async fn grant(
    state: &Services,
    zone: &Arc<ZoneEntry>,
    form: &ClientParams,
    targets: &Targets,
    dpop: Option<&str>,
    ticket: Ticket,
) -> Result<Issued, OAuthError> {
    let presented = client_auth::presented_secret(form)?;
    let client = client_auth::authenticate(state, zone, form).await?;
    // (the client just authenticated with `id`: kept when a repeat can be proven the same way;
    // a token bound to a DPoP key is never planned ahead)
    let key = presented
        .filter(|(id, _)| client_auth::names(&client, id) && dpop.is_none())
        .and_then(|(id, _)| PlanKey::of(zone.zone.id.as_str(), &id, targets));
    let plan = match work_out(state, zone, &client, targets, key.as_ref(), dpop).await? {
        Planning::Planned(plan) => plan,
        Planning::Answered(issued) => return Ok(issued),
    };
    let issued = issue(&plan);
    if dpop.is_some() {
        return issued.map(|mut i| {
            i.token_type = crate::dpop::TOKEN_TYPE;
            i
        });
    }
    if issued.is_ok() {
        state.directory.plans.insert(plan, ticket);
    }
    issued
}

/// What the full `client_credentials` checks come to.
enum Planning {
    /// A token of the zone, to sign.
    Planned(Plan),
    /// Another answer (a vaulted credential), never planned.
    Answered(Issued),
}

async fn work_out(
    state: &Services,
    zone: &Arc<ZoneEntry>,
    client: &Client,
    targets: &Targets,
    key: Option<&PlanKey>,
    dpop: Option<&str>,
) -> Result<Planning, OAuthError> {
    let target = single_target(targets, default_target(state, zone).await?)?;
    let t = resolve_target(state, zone, &target).await?;
    let (resource, aud) = (&t.resource, t.aud.as_str());
    let principal = Principal {
        application: client.application(),
        subject: None,
        accessing: None,
    };
    policy::authorize(state, &principal, Action::IssueAppToken, resource).await?;
    let scope = scopes(targets, resource)?;
    let asker = Asker::Application(client.application(), client.credential());
    let decision = decide_recorded(state, zone, &asker, resource, scope).await?;
    match t.kind {
        ProviderType::KeycardSts => {}
        ProviderType::KeycardVault => {
            return Ok(Planning::Answered(
                upstream::vaulted(state, zone, resource).await?,
            ));
        }
        ProviderType::External => {
            return Err(OAuthError::bad(
                "invalid_target",
                format!("`{}` needs a user's delegated grant", resource.identifier),
            ));
        }
    }
    let app = client.application();
    let head = Head {
        iss: &zone.issuer,
        sub: &app.identifier,
        aud,
        client_id: client.client_id(),
        sub_profile: "app",
        keycard_app_id: app.id.as_str(),
        scope: decision.scope.as_deref(),
        cnf: dpop.map(|jkt| Cnf { jkt }),
    };
    let keys = state
        .keys
        .get(&zone.zone.id, &zone.zone.signing_alg)
        .await
        .map_err(|_| OAuthError::server_error())?;
    let basis = Basis {
        signer: keys.signer.clone(),
        proof: client_auth::proof(client),
        lifetime: mint::lifetime(resource),
        logged: decision.logged,
    };
    Ok(Planning::Planned(Plan::new(key, &head, basis)?))
}

/// Signs a new token of `plan`.
fn issue(plan: &Plan) -> Result<Issued, OAuthError> {
    let token = plan.sign(mint::now_seconds(), &mint::jti()?)?;
    Ok(plan.issued(token))
}
