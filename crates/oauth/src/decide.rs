//! Cedar at every issuance point, after the structural rules of `policy`: the zone's active policy
//! set (compiled, from `policy_cache`) decides; deny wins; a zone without an active set fails
//! closed. Requested scopes the policies deny are removed; a deny that does not depend on scopes
//! denies the request with `access_denied` naming the policy. How each grant forms its request is
//! `latchkey_policy::issuance` (table in `docs/policies.md`). Standard OpenID scopes are never
//! put to Cedar and always kept.

use std::sync::Arc;

use latchkey_domain::model::directory::{AppCredential, Application, CredentialKind, Resource};
use latchkey_domain::model::identity::User;
use latchkey_domain::store::UserFilter;
use latchkey_domain::{ListFilter, PageRequest};
use latchkey_policy::authorize::{
    ScopedDecision, authorize_issuance, deny_message, no_active_set_message,
};
use latchkey_policy::compile::CompiledSet;
use latchkey_policy::issuance::Issuance;
use latchkey_policy::request::{
    AccessContext, Action, ApplicationEntity, CredentialType, Principal, RegistrationMethod,
    ResourceEntity, Subject, UserEntity,
};

use crate::decision_log::{Decided, Logged, ShadowOutcome};
use crate::error::{OAuthError, server};
use crate::scoped_cache::Lookup;
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Scopes every zone understands besides the resources' own; never evaluated.
const STANDARD_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// Who asks for a credential, as Cedar sees it.
pub enum Asker<'a> {
    /// An application as itself (client_credentials).
    Application(&'a Application, &'a AppCredential),
    /// An application for a user who presented a token (exchange, code, refresh); the
    /// application is absent for registered user agents.
    OnBehalf(Option<(&'a Application, &'a AppCredential)>, &'a User),
    /// An application as a user who presented nothing: the user's public id (empty when no
    /// user matches) and identifier.
    Impersonating(&'a Application, &'a AppCredential, &'a str, &'a str),
}

fn credential_type(kind: CredentialKind) -> CredentialType {
    match kind {
        CredentialKind::Token => CredentialType::Token,
        CredentialKind::Password => CredentialType::Password,
        CredentialKind::PublicKey => CredentialType::PublicKey,
        CredentialKind::Url => CredentialType::Url,
        CredentialKind::Public => CredentialType::Public,
    }
}

/// The resource ids `app` depends on, through the directory cache.
async fn dependencies(s: &Services, app: &Application) -> Result<Arc<Vec<String>>, OAuthError> {
    let key = (app.zone_id.clone(), app.id.clone());
    let ticket = match s.directory.app_deps.get(&key) {
        Lookup::Hit(hit) => return Ok(hit),
        Lookup::Miss(ticket) => ticket,
    };
    let page = s
        .store
        .list_dependencies(&app.zone_id, &app.id, None, &PageRequest::first(1000))
        .await
        .map_err(server)?;
    let ids = Arc::new(
        page.items
            .into_iter()
            .map(|d| d.resource.id.into_string())
            .collect::<Vec<_>>(),
    );
    s.directory.app_deps.insert(key, ids.clone(), ticket);
    Ok(ids)
}

async fn application(
    s: &Services,
    app: &Application,
    cred: &AppCredential,
) -> Result<ApplicationEntity, OAuthError> {
    Ok(ApplicationEntity {
        id: app.id.as_str().to_owned(),
        identifier: app.identifier.clone(),
        registration_method: RegistrationMethod::Managed,
        credential_type: credential_type(cred.kind),
        dependencies: dependencies(s, app).await?.as_ref().clone(),
        traits: app.traits.clone(),
    })
}

fn user_entity(u: &User) -> UserEntity {
    UserEntity {
        id: u.id.as_str().to_owned(),
        identifier: u.identifier.clone(),
        email: u.email.clone(),
        groups: Vec::new(),
    }
}

fn resource_entity(r: &Resource) -> ResourceEntity {
    ResourceEntity {
        id: r.id.as_str().to_owned(),
        identifier: r.identifier.clone(),
        name: r.name.clone(),
        scopes: r.scopes.clone().unwrap_or_default(),
    }
}

async fn issuance(
    s: &Services,
    asker: &Asker<'_>,
    resource: ResourceEntity,
    scopes: Vec<String>,
) -> Result<Issuance, OAuthError> {
    Ok(match asker {
        Asker::Application(app, cred) => {
            Issuance::direct(application(s, app, cred).await?, resource, scopes)
        }
        Asker::OnBehalf(Some((app, cred)), user) => Issuance::on_behalf(
            application(s, app, cred).await?,
            user_entity(user),
            resource,
            scopes,
        ),
        Asker::OnBehalf(None, user) => Issuance {
            principals: vec![Principal::User(user_entity(user))],
            action: Action::Access,
            resource,
            context: AccessContext {
                on_behalf: true,
                subject: Some(Subject {
                    id: user.id.as_str().to_owned(),
                    identifier: user.identifier.clone(),
                }),
                scopes,
                ..AccessContext::default()
            },
        },
        Asker::Impersonating(app, cred, id, identifier) => Issuance::impersonation(
            application(s, app, cred).await?,
            Subject {
                id: (*id).to_owned(),
                identifier: (*identifier).to_owned(),
            },
            resource,
            scopes,
        ),
    })
}

fn denied(description: String) -> OAuthError {
    OAuthError::bad("access_denied", description)
}

/// Tallies a decision (and a shadow set's differing one) for the decision log; answers its key.
fn log(
    s: &Services,
    zone: &ZoneEntry,
    ask: &Issuance,
    resource: &Resource,
    set: &CompiledSet,
    d: &ScopedDecision,
    shadow: Option<(&CompiledSet, &ScopedDecision)>,
) -> Arc<Logged> {
    let (principal_type, principal_id) = match ask.principals.first() {
        Some(Principal::Application(a)) => ("application", a.id.clone()),
        Some(Principal::User(u)) => ("user", u.id.clone()),
        None => ("none", String::new()),
    };
    let logged = Logged::new(Decided {
        zone_id: zone.zone.id.clone(),
        principal_type,
        principal_id,
        subject_id: ask.context.subject.as_ref().map(|x| x.id.clone()),
        action: ask.action.id(),
        resource_id: resource.id.as_str().to_owned(),
        allowed: d.allowed,
        determining: d.determining.clone(),
        policy_set_id: set.set_id().to_owned(),
        policy_set_version: set.version(),
        shadow: shadow.map(|(sh, sd)| ShadowOutcome {
            policy_set_id: sh.set_id().to_owned(),
            policy_set_version: sh.version(),
            allowed: sd.allowed,
            determining: sd.determining.clone(),
        }),
        scopes: ask.context.scopes.clone(),
    });
    s.decisions.tally(&logged);
    logged
}

/// What [`decide_recorded`] decided, with what a cached issuance plan needs to repeat it.
pub struct Decision {
    /// The scope to issue.
    pub scope: Option<String>,
    /// The decision log's key of this decision (absent in a build without Cedar).
    pub logged: Option<Arc<Logged>>,
}

/// Decides `asker`'s request for `resource` with `scope` (space-separated, as it would be
/// issued); answers the scope to issue (denied scopes removed).
pub async fn decide(
    s: &Services,
    zone: &ZoneEntry,
    asker: &Asker<'_>,
    resource: &Resource,
    scope: Option<String>,
) -> Result<Option<String>, OAuthError> {
    Ok(decide_recorded(s, zone, asker, resource, scope)
        .await?
        .scope)
}

/// [`decide`], answering also the decision log's key.
pub async fn decide_recorded(
    s: &Services,
    zone: &ZoneEntry,
    asker: &Asker<'_>,
    resource: &Resource,
    scope: Option<String>,
) -> Result<Decision, OAuthError> {
    let requested: Vec<String> = scope
        .as_deref()
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(str::to_owned)
        .collect();
    let (standard, evaluated): (Vec<String>, Vec<String>) = requested
        .iter()
        .cloned()
        .partition(|x| STANDARD_SCOPES.contains(&x.as_str()));
    if cfg!(feature = "bench-without-cedar") {
        return Ok(Decision {
            scope,
            logged: None,
        });
    }
    let policies = s
        .policies
        .zone(s.store.as_ref(), &zone.zone.id)
        .await
        .map_err(server)?;
    let ask = issuance(s, asker, resource_entity(resource), evaluated).await?;
    let (Some(set), Some(outcome)) = (&policies.active, policies.decide(&ask)) else {
        return Err(denied(no_active_set_message(&resource.name)));
    };
    let decision = &outcome.active;
    crate::metrics::policy_decision(zone.zone.id.as_str(), decision.allowed);
    if !decision.errors.is_empty() {
        tracing::warn!(zone = %zone.zone.id, errors = ?decision.errors, "policy evaluation errors");
    }
    let shadow = outcome
        .shadow
        .as_ref()
        .and_then(|(i, d)| policies.shadow.get(*i).map(|sh| (sh, d)));
    let logged = log(s, zone, &ask, resource, set, decision, shadow);
    if !decision.allowed {
        return Err(denied(deny_message(
            set,
            &resource.name,
            &decision.determining,
        )));
    }
    let kept: Vec<String> = requested
        .into_iter()
        .filter(|x| standard.contains(x) || decision.kept_scopes.contains(x))
        .collect();
    Ok(Decision {
        scope: (!kept.is_empty()).then(|| kept.join(" ")),
        logged: Some(logged),
    })
}

/// What `set` would decide for `asker` on `resource` with `scope` (a dry run: nothing is issued
/// or recorded; standard OpenID scopes are left out as at issuance).
pub async fn evaluate(
    s: &Services,
    set: &CompiledSet,
    asker: &Asker<'_>,
    resource: &Resource,
    scope: Option<&str>,
) -> Result<ScopedDecision, OAuthError> {
    let evaluated: Vec<String> = scope
        .unwrap_or_default()
        .split_ascii_whitespace()
        .filter(|x| !STANDARD_SCOPES.contains(x))
        .map(str::to_owned)
        .collect();
    let ask = issuance(s, asker, resource_entity(resource), evaluated).await?;
    Ok(authorize_issuance(set, &ask))
}

/// The zone user whose identifier is `identifier` (the `sub` of a zone token), cached briefly.
pub async fn user_by_identifier(
    s: &Services,
    zone: &ZoneEntry,
    identifier: &str,
) -> Result<Option<Arc<User>>, OAuthError> {
    let key = (zone.zone.id.clone(), identifier.to_owned());
    let ticket = match s.directory.users.get(&key) {
        Lookup::Hit(hit) => return Ok(hit),
        Lookup::Miss(ticket) => ticket,
    };
    let filter = UserFilter {
        list: ListFilter::default().exact("identifier", vec![identifier.to_owned()]),
        external: None,
    };
    let found = s
        .store
        .list_users(&zone.zone.id, &filter, &PageRequest::first(1))
        .await
        .map_err(server)?
        .items
        .pop()
        .map(Arc::new);
    s.directory.users.insert(key, found.clone(), ticket);
    Ok(found)
}

/// The application and credential behind a browser client's id, if it is an application's.
pub async fn application_of(
    s: &Services,
    zone: &ZoneEntry,
    application_id: Option<&str>,
    client_id: &str,
) -> Result<Option<Arc<(AppCredential, Application)>>, OAuthError> {
    if application_id.is_none() {
        return Ok(None);
    }
    let found = crate::client_auth::cached_client(s, zone, client_id).await?;
    Ok(found.filter(|pair| Some(pair.1.id.as_str()) == application_id))
}

/// The scope of a user token for `audiences` (code and refresh grants): every audience that is a
/// resource of the zone is decided for the user (and the client's application, if any), each
/// narrowing the scope further.
pub async fn user_token_scope(
    s: &Services,
    zone: &ZoneEntry,
    client: &crate::browser::BrowserClient,
    user: &User,
    audiences: &[String],
    mut scope: Option<String>,
) -> Result<Option<String>, OAuthError> {
    let app = application_of(s, zone, client.application_id.as_deref(), &client.client_id).await?;
    let pair = app.as_deref().map(|(cred, app)| (app, cred));
    for aud in audiences {
        // An audience that is no resource (the userinfo endpoint) has nothing to decide.
        let target = match crate::targets::resolve_target(s, zone, aud).await {
            Ok(t) => t,
            Err(e) if e.error == "invalid_target" => continue,
            Err(e) => return Err(e),
        };
        let asker = Asker::OnBehalf(pair, user);
        scope = decide(s, zone, &asker, &target.resource, scope).await?;
    }
    Ok(scope)
}
