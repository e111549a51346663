//! Signing users in through the zone's identity provider: the provider, the hop's pending state
//! and scopes, verifying the upstream ID token, and finding or creating the zone user.
//!
//! **Organization SSO.** A platform-owned sign-in provider is an organization's SSO connection
//! (kept by the management API's `service::sso` in the organization's platform zone). Through it,
//! a person the zone does not know yet (no user with the provider's issuer and that `sub`) gets
//! an account only when the authorize request carried a pending invitation of the organization
//! for the email the provider asserts (`invitation=<token>`); the invitation is spent exactly as
//! an email sign-up spends it (`accounts::admit`). Anyone else is refused with a page saying so.
//! People already known sign in whatever their invitations. Through a customer's own provider,
//! first sign-ins create the user as before.

use latchkey_crypto::jws::Compact;
use latchkey_domain::Timestamp;
use latchkey_domain::id::{ProviderId, UserId};
use latchkey_domain::model::directory::Provider;
use latchkey_domain::model::identity::User;
use latchkey_domain::store::UserFilter;
use latchkey_domain::{ListFilter, PageRequest};
use serde_json::Value;

use latchkey_domain::model::OwnerType;

use super::{Failed, Pending, Returned, failed};
use crate::accounts::{self, Refusal};
use crate::authorize::AuthorizeQuery;
use crate::browser::AuthRequest;
use crate::provider::{endpoint, issuer_of};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Why an upstream sign-in ended without a user.
#[derive(Debug)]
pub enum SignInError {
    Failed(Failed),
    /// The account exists but is not active.
    Disabled,
    /// No account may be made for this person (shown on the error page).
    Refused(&'static str),
}

/// Shown to a person the organization's SSO admits without an invitation.
pub const NOT_INVITED: &str = "Your account at the identity provider is not a member of this organization yet. Open the invitation link you received (for the email address the identity provider gives us).";

impl From<Failed> for SignInError {
    fn from(f: Failed) -> Self {
        Self::Failed(f)
    }
}

/// The zone's user identity provider, when one is set.
pub async fn login_provider(s: &Services, zone: &ZoneEntry) -> Result<Option<Provider>, Failed> {
    let Some(id) = &zone.zone.user_identity_provider_id else {
        return Ok(None);
    };
    s.store
        .get_provider(&zone.zone.id, &ProviderId::new(id))
        .await
        .map_err(|_| failed("store"))
}

/// The pending state and scopes of a sign-in hop for request `request_id`.
pub fn login_hop(request_id: &str, provider: &Provider) -> Result<(Pending, Vec<String>), Failed> {
    let nonce = latchkey_crypto::random::secret("").map_err(|_| failed("random"))?;
    let mut scopes = vec!["openid".to_owned(), "profile".into(), "email".into()];
    for extra in provider
        .protocols
        .as_ref()
        .and_then(|x| x.openid.as_ref())
        .and_then(|o| o.scopes.clone())
        .unwrap_or_default()
    {
        if !scopes.contains(&extra) {
            scopes.push(extra);
        }
    }
    let pending = Pending {
        login: true,
        request_id: request_id.to_owned(),
        provider_id: provider.id.as_str().to_owned(),
        verifier: None,
        nonce,
        resource_id: None,
        user_id: None,
        browser: String::new(),
    };
    Ok((pending, scopes))
}

/// What the zone's own request asks of the provider's sign-in: a fresh sign-in there when the
/// request wants one (`prompt=login`; `max_age`, which also goes along), and its `login_hint`.
/// Without them the provider's own session would answer a request that demanded a new sign-in.
pub fn sign_in_asks(req: &AuthRequest) -> Vec<(String, String)> {
    let mut asks = Vec::new();
    if AuthorizeQuery::prompts(req.prompt.as_deref(), "login") || req.max_age == Some(0) {
        asks.push(("prompt".to_owned(), "login".to_owned()));
    }
    if let Some(max_age) = req.max_age {
        asks.push(("max_age".to_owned(), max_age.to_string()));
    }
    if let Some(hint) = &req.login_hint {
        asks.push(("login_hint".to_owned(), hint.clone()));
    }
    asks
}

/// Verifies an upstream ID token against the provider's keys, issuer, audience and nonce.
pub async fn id_token_claims(
    s: &Services,
    p: &Provider,
    token: &str,
    nonce: &str,
) -> Result<Value, String> {
    let c = Compact::parse(token).ok_or("malformed id_token")?;
    let jwks_url = endpoint(s, p, "jwks_uri").await.ok_or("no jwks_uri")?;
    let key = s
        .fetcher
        .signing_key(&jwks_url, &c)
        .await
        .map_err(|e| e.to_string())?;
    let verified = key.is_some_and(|k| c.verify_with(&k));
    if !verified {
        return Err("id_token signature".into());
    }
    let claims = c.claims;
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => Some(a.as_str()) == p.client_id.as_deref(),
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == p.client_id.as_deref()),
        _ => false,
    };
    let iss_ok = claims
        .get("iss")
        .and_then(Value::as_str)
        .map(|i| i.trim_end_matches('/'))
        == Some(issuer_of(p).trim_end_matches('/'));
    let exp_ok = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|e| e + 60 > Timestamp::now().millis() / 1000);
    let nonce_ok = claims.get("nonce").and_then(Value::as_str) == Some(nonce);
    if aud_ok && iss_ok && exp_ok && nonce_ok {
        Ok(claims)
    } else {
        Err("id_token claims".into())
    }
}

/// The identity claims of a returned sign-in hop: the verified ID token, completed from the
/// userinfo endpoint when it lacks `sub` or `email`.
async fn claims_of(s: &Services, back: &Returned) -> Result<Value, Failed> {
    let (p, tokens) = (&back.provider, &back.tokens);
    let mut claims = match tokens.get("id_token").and_then(Value::as_str) {
        Some(t) => id_token_claims(s, p, t, &back.pending.nonce)
            .await
            .map_err(Failed)?,
        None => Value::Object(Default::default()),
    };
    if claims.get("sub").is_none() || claims.get("email").is_none() {
        let access = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(url) = endpoint(s, p, "userinfo_endpoint").await
            && let Ok(info) = s.fetcher.get_bearer(&url, access).await
            && let (Some(obj), Some(extra)) = (claims.as_object_mut(), info.as_object())
        {
            for (k, v) in extra {
                obj.entry(k.clone()).or_insert(v.clone());
            }
        }
    }
    Ok(claims)
}

/// The active zone user a returned sign-in hop identifies (created on first sign-in), with the
/// upstream claims for the session.
pub async fn signed_in_user(
    s: &Services,
    zone: &ZoneEntry,
    back: &Returned,
) -> Result<(User, Value), SignInError> {
    let claims = claims_of(s, back).await?;
    let Some(subject) = claims.get("sub").and_then(Value::as_str).map(str::to_owned) else {
        return Err(failed("no subject").into());
    };
    let user = match find_user(s, zone, &back.provider, &subject).await? {
        Some(u) => u,
        None => create_user(s, zone, back, &subject, &claims).await?,
    };
    if user.status != "active" {
        return Err(SignInError::Disabled);
    }
    Ok((user, claims))
}

async fn find_user(
    s: &Services,
    zone: &ZoneEntry,
    p: &Provider,
    subject: &str,
) -> Result<Option<User>, Failed> {
    let f = UserFilter {
        list: ListFilter::default()
            .exact("issuer", vec![issuer_of(p)])
            .exact("subject", vec![subject.to_owned()]),
        external: None,
    };
    Ok(s.store
        .list_users(&zone.zone.id, &f, &PageRequest::first(1))
        .await
        .map_err(|_| failed("store"))?
        .items
        .pop())
}

/// The user a first sign-in makes: its identifier is the `user_identifier_claim` of the ID
/// token when configured and present, else the new id.
fn new_user(zone: &ZoneEntry, p: &Provider, subject: &str, claims: &Value) -> Result<User, Failed> {
    let id = latchkey_crypto::random::id().map_err(|_| failed("random"))?;
    let claim = p
        .protocols
        .as_ref()
        .and_then(|x| x.openid.as_ref())
        .and_then(|o| o.user_identifier_claim.clone());
    let identifier = claim
        .and_then(|c| claims.get(&c).and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| id.clone());
    let now = Timestamp::now();
    Ok(User {
        zone_id: zone.zone.id.clone(),
        id: UserId::new(&id),
        organization_id: zone.zone.organization_id.clone(),
        email: claims
            .get("email")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase(),
        email_verified: claims
            .get("email_verified")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        external: false,
        identifier,
        status: "active".into(),
        authenticated_at: Some(now),
        issuer: Some(issuer_of(p)),
        provider_id: Some(p.id.clone()),
        subject: Some(subject.to_owned()),
        password_hash: None,
        created_at: now,
        updated_at: now,
    })
}

/// Makes the account of a first sign-in; through an organization's SSO only with the pending
/// invitation the sign-in request carries for the asserted email (which it spends).
async fn create_user(
    s: &Services,
    zone: &ZoneEntry,
    back: &Returned,
    subject: &str,
    claims: &Value,
) -> Result<User, SignInError> {
    let p = &back.provider;
    let mut user = new_user(zone, p, subject, claims)?;
    let invitation = if p.owner_type == OwnerType::Platform {
        let found = match user.email.as_str() {
            "" => None,
            email => accounts::invitation_for(s, zone, back.req.invitation.as_deref(), email)
                .await
                .map_err(|_| failed("store"))?,
        };
        Some(found.ok_or(SignInError::Refused(NOT_INVITED))?)
    } else {
        None
    };
    // As with an email sign-up, the invitation link vouches for the address it was sent to.
    user.email_verified |= invitation.is_some();
    accounts::admit(s, zone, user, invitation.as_ref())
        .await
        .map_err(|r| match r {
            Refusal::Message(m) => SignInError::Refused(m),
            _ => failed("the user could not be created").into(),
        })
}
