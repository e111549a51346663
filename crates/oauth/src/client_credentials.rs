//! `grant_type=client_credentials`: the application as itself. The first request of a client
//! for a target and scope is worked out in full (resource, dependency, scopes, Cedar) and kept
//! as a plan (`plans`); a repeated one authenticates the client, checks the plan (the zone's
//! epoch, and the very zone entry, client entry and compiled policies it was made from),
//! tallies the decision and signs. It touches a few cache lines of the zone instead of every
//! record the decision was made on, so a token costs about the same whether one zone or a
//! thousand are busy.

use std::sync::Arc;

use latchkey_domain::model::directory::ProviderType;

use crate::client::Client;
use crate::decide::{Asker, decide_recorded};
use crate::error::{OAuthError, server};
use crate::issued::Issued;
use crate::mint;
use crate::plans::{Basis, Head, Plan, PlanKey};
use crate::policy::{self, Action, Principal};
use crate::requests::Targets;
use crate::scoped_cache::{Lookup, Ticket};
use crate::services::Services;
use crate::targets::{default_target, resolve_target, scopes, single_target};
use crate::upstream;
use crate::zones::ZoneEntry;

/// `grant_type=client_credentials`: the client's plan for this target and scope when one is
/// still valid (`plans`), otherwise the full checks, which make a new plan.
pub async fn grant(
    state: &Services,
    zone: &Arc<ZoneEntry>,
    client: &Client,
    targets: &Targets,
) -> Result<Issued, OAuthError> {
    let key = PlanKey::of(client, targets);
    let ticket = match &key {
        Some(key) => match lookup(state, zone, client, key).await? {
            Planned::Hit(plan) => return issue(state, zone, &plan).await,
            Planned::Miss(ticket) => Some(ticket),
        },
        None => None,
    };
    let plan = match work_out(state, zone, client, targets).await? {
        Planning::Planned(plan) => Arc::new(plan),
        Planning::Answered(issued) => return Ok(issued),
    };
    if let (Some(key), Some(ticket)) = (key, ticket) {
        keep(state, zone, key, plan.clone(), ticket);
    }
    issue(state, zone, &plan).await
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
    };
    let basis = Basis {
        zone: zone.clone(),
        client: client.clone(),
        lifetime: mint::lifetime(resource),
        policies: decision.policies,
        logged: decision.logged,
    };
    Ok(Planning::Planned(Plan::new(&head, basis)?))
}

/// Signs a new token of `plan`.
async fn issue(s: &Services, zone: &ZoneEntry, plan: &Plan) -> Result<Issued, OAuthError> {
    let payload = plan.payload(mint::now_seconds(), &mint::jti()?)?;
    Ok(plan.issued(mint::sign_payload(s, zone, payload.as_bytes()).await?))
}

/// A plan lookup: a plan still valid, or the ticket to keep a new one under.
enum Planned {
    Hit(Arc<Plan>),
    Miss(Ticket),
}

/// The plan for `key`, if one was made from the zone entry and client the request has and the
/// zone's current compiled policies; on a hit the decision is tallied.
async fn lookup(
    s: &Services,
    zone: &Arc<ZoneEntry>,
    client: &Client,
    key: &PlanKey,
) -> Result<Planned, OAuthError> {
    let entry = (zone.zone.id.clone(), key.clone());
    let ticket = s.directory.plans.ticket();
    let plan = match s.directory.plans.get(&entry) {
        Lookup::Hit(plan) if plan.made_from(zone, client) => plan,
        _ => return Ok(Planned::Miss(ticket)),
    };
    if let Some(made_with) = plan.policies() {
        let current = s
            .policies
            .zone(s.store.as_ref(), &zone.zone.id)
            .await
            .map_err(server)?;
        if !current.same_compilation(made_with) {
            return Ok(Planned::Miss(ticket));
        }
        crate::metrics::policy_decision(zone.zone.id.as_str(), true);
    }
    if let Some(logged) = plan.logged() {
        s.decisions.tally(logged);
    }
    Ok(Planned::Hit(plan))
}

/// Keeps `plan` for `key`, read at `ticket`.
fn keep(s: &Services, zone: &ZoneEntry, key: PlanKey, plan: Arc<Plan>, ticket: Ticket) {
    s.directory
        .plans
        .insert((zone.zone.id.clone(), key), plan, ticket);
}
