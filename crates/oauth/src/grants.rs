//! Token exchange (RFC 8693: the application acting for the subject of a zone-issued token, or —
//! through `impersonation` — as a user), plus verification of zone-issued tokens. Resources are
//! resolved by `targets`; `client_credentials` is its own module.

use std::sync::Arc;

use latchkey_crypto::jws::Compact;
use latchkey_domain::model::directory::ProviderType;
use serde_json::Value;

use crate::client_auth::Client;
use crate::decide::{Asker, decide, user_by_identifier};
use crate::directory_cache::Target;
use crate::error::OAuthError;
use crate::mint::{self, Claims};
use crate::policy::{self, Action, Principal};
use crate::requests::{ExchangeParams, Targets};
use crate::services::Services;
use crate::targets::{resolve_target, scopes, single_target};
use crate::upstream;
use crate::zones::ZoneEntry;

pub use crate::issued::{Issued, TOKEN_TYPE_ACCESS, TOKEN_TYPE_SUBSTITUTE_USER};

/// Verifies a token this zone issued (any published key, `iss` exact, not expired).
pub async fn verify_zone_token(state: &Services, zone: &ZoneEntry, token: &str) -> Option<Value> {
    let claims = verify_zone_signature(state, zone, token).await?;
    let fresh = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|e| e > mint::now_seconds());
    fresh.then_some(claims)
}

/// The claims of a token this zone signed with a key it still publishes, `iss` exact, whatever
/// its expiry (an ID token hint may have expired, OpenID Connect RP-Initiated Logout §2).
pub async fn verify_zone_signature(
    state: &Services,
    zone: &ZoneEntry,
    token: &str,
) -> Option<Value> {
    let c = Compact::parse(token)?;
    let keys = state
        .keys
        .get(&zone.zone.id, &zone.zone.signing_alg)
        .await
        .ok()?;
    let key = keys.verifier(c.kid())?;
    if !c.verify_with(key) {
        return None;
    }
    let claims = c.claims;
    (claims.get("iss").and_then(Value::as_str) == Some(zone.issuer.as_str())).then_some(claims)
}

/// The first audience of a token.
pub fn first_audience(claims: &Value) -> Option<&str> {
    match claims.get("aud") {
        Some(Value::String(s)) => Some(s),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        _ => None,
    }
}

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange`.
pub async fn token_exchange(
    state: &Services,
    zone: &ZoneEntry,
    client: &Client,
    exchange: &ExchangeParams,
    targets: &Targets,
    dpop: Option<&str>,
) -> Result<Issued, OAuthError> {
    let subject_token = exchange
        .subject_token
        .as_deref()
        .ok_or_else(|| OAuthError::invalid_request("`subject_token` is required"))?;
    if exchange
        .requested_token_type
        .as_deref()
        .is_some_and(|t| t != TOKEN_TYPE_ACCESS)
    {
        return Err(OAuthError::invalid_request(
            "only access tokens can be requested",
        ));
    }
    let (subject, accessed) = match exchange.subject_token_type.as_deref() {
        Some(TOKEN_TYPE_ACCESS) => delegating_subject(state, zone, client, subject_token).await?,
        Some(TOKEN_TYPE_SUBSTITUTE_USER) => {
            return crate::impersonation::impersonate(state, zone, client, targets, subject_token)
                .await;
        }
        Some(other) => {
            return Err(OAuthError::invalid_request(format!(
                "unsupported `subject_token_type` `{other}`"
            )));
        }
        None => {
            return Err(OAuthError::invalid_request(
                "`subject_token_type` is required",
            ));
        }
    };
    let target = single_target(targets, None)?;
    let t = resolve_target(state, zone, &target).await?;
    let (resource, aud) = (&t.resource, t.aud.as_str());
    let sub = subject
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let principal = Principal {
        application: client.application(),
        subject: Some(sub),
        accessing: Some(&accessed.resource.id),
    };
    policy::authorize(state, &principal, Action::ExchangeToken, resource).await?;
    let scope = scopes(targets, resource)?;
    let user = user_by_identifier(state, zone, sub).await?;
    let asker = match &user {
        Some(u) => Asker::OnBehalf(Some((client.application(), client.credential())), u),
        None => Asker::Application(client.application(), client.credential()),
    };
    let scope = decide(state, zone, &asker, resource, scope).await?;
    match t.kind {
        ProviderType::KeycardSts => {}
        ProviderType::KeycardVault => return upstream::vaulted(state, zone, resource).await,
        ProviderType::External => return upstream::delegated(state, zone, resource, sub).await,
    }
    let minting = Minting {
        resource,
        aud,
        scope,
        dpop,
    };
    exchanged(state, zone, client, &subject, minting).await
}

/// What an exchanged token is minted for.
struct Minting<'a> {
    resource: &'a latchkey_domain::model::directory::Resource,
    aud: &'a str,
    scope: Option<String>,
    /// RFC 9449: the DPoP key it is bound to.
    dpop: Option<&'a str>,
}

/// The claims of a zone token presented as the subject of an exchange, and the resource it
/// was issued for, which must be one the calling application provides.
async fn delegating_subject(
    state: &Services,
    zone: &ZoneEntry,
    client: &Client,
    subject_token: &str,
) -> Result<(Value, Arc<Target>), OAuthError> {
    let subject = verify_zone_token(state, zone, subject_token)
        .await
        .ok_or_else(|| {
            OAuthError::bad(
                "invalid_grant",
                "the subject token is invalid, expired or not from this zone",
            )
        })?;
    let subject_aud = first_audience(&subject)
        .ok_or_else(|| OAuthError::bad("invalid_grant", "the subject token has no audience"))?;
    let owned = resolve_target(state, zone, subject_aud)
        .await
        .map_err(|_| {
            OAuthError::bad(
                "invalid_grant",
                "the subject token's audience is not a resource of this zone",
            )
        })?;
    if owned.resource.application_id.as_ref() != Some(&client.application().id) {
        return Err(OAuthError::bad(
            "invalid_grant",
            "the subject token was not issued to a resource of the calling application",
        ));
    }
    Ok((subject, owned))
}

/// Mints the exchanged token: the subject's identity, the application as actor (`act`, nesting
/// any earlier actor).
async fn exchanged(
    state: &Services,
    zone: &ZoneEntry,
    client: &Client,
    subject: &Value,
    minting: Minting<'_>,
) -> Result<Issued, OAuthError> {
    let Minting {
        resource,
        aud,
        scope,
        dpop,
    } = minting;
    let sub = subject
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let iat = mint::now_seconds();
    let app = client.application();
    let mut act = serde_json::json!({"sub": app.identifier, "client_id": client.client_id()});
    if let Some(prior) = subject.get("act") {
        act["act"] = prior.clone();
    }
    let claims = Claims {
        iss: &zone.issuer,
        sub,
        aud,
        exp: iat + mint::lifetime(resource),
        iat,
        client_id: client.client_id(),
        jti: mint::jti()?,
        sub_profile: subject
            .get("sub_profile")
            .and_then(Value::as_str)
            .unwrap_or("user"),
        keycard_app_id: app.id.as_str(),
        scope: scope.clone(),
        act: Some(act),
        sid: subject.get("sid").and_then(Value::as_str),
        cnf: dpop.map(crate::dpop::cnf),
    };
    let minted = mint::sign(state, zone, &claims).await?;
    Ok(Issued {
        access_token: minted.token,
        token_type: if dpop.is_some() {
            crate::dpop::TOKEN_TYPE
        } else {
            "Bearer"
        },
        expires_in: minted.expires_in,
        issued_token_type: Some(TOKEN_TYPE_ACCESS),
        scope,
        refresh_token: None,
        id_token: None,
        username: None,
    })
}
