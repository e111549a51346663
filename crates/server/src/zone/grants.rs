//! The machine grants: `client_credentials` (the application as itself) and token exchange
//! (RFC 8693: the application acting for the subject of a zone-issued token), plus the shared
//! pieces — resource resolution by identifier (exact, then longest prefix) and verification of
//! zone-issued tokens.

use latchkey_crypto::jws::Compact;
use latchkey_domain::model::directory::{ProviderType, Resource};
use latchkey_domain::resource_match::best_match;
use latchkey_domain::store::ResourceFilter;
use latchkey_domain::{ListFilter, PageRequest};
use serde_json::Value;

use std::sync::Arc;

use super::cache::ZoneEntry;
use super::client_auth::{Client, server};
use super::directory_cache::Target;
use super::mint::{self, Claims};
use super::policy::{self, Action, Principal};
use super::upstream;
use crate::extract::QueryMap;
use crate::oauth_error::OAuthError;
use crate::state::AppState;

pub const TOKEN_TYPE_ACCESS: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Keycard's substitute-user token type (impersonation, zone-oauth.md §2.5).
pub const TOKEN_TYPE_SUBSTITUTE_USER: &str = "urn:keycard:params:oauth:token-type:substitute-user";

/// A successful token response body.
#[derive(Debug, serde::Serialize)]
pub struct Issued {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issued_token_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    /// Latchkey extension: the username of a vaulted password secret.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// The resource protecting `requested`, and the audience to put in tokens for it: the
/// registered identifier, or for a prefix resource the requested URL itself.
async fn lookup_resource(
    state: &AppState,
    zone: &ZoneEntry,
    requested: &str,
) -> Result<(Resource, String), OAuthError> {
    let zone_id = &zone.zone.id;
    let exact = ResourceFilter {
        list: ListFilter::default().exact("identifier", vec![requested.to_owned()]),
        ..Default::default()
    };
    if let Some(r) = state
        .store
        .list_resources(zone_id, &exact, &PageRequest::first(1))
        .await
        .map_err(server)?
        .items
        .pop()
    {
        let aud = r.identifier.clone();
        return Ok((r, aud));
    }
    let mut candidates = Vec::new();
    let mut page = PageRequest::first(100);
    loop {
        let filter = ResourceFilter {
            prefix: Some(true),
            ..Default::default()
        };
        let got = state
            .store
            .list_resources(zone_id, &filter, &page)
            .await
            .map_err(server)?;
        let (more, end) = (got.has_next, got.end.clone());
        candidates.extend(got.items);
        if !more || candidates.len() >= 10_000 {
            break;
        }
        page.after = end;
    }
    best_match(&candidates, requested)
        .cloned()
        .map(|r| (r, requested.to_owned()))
        .ok_or_else(|| {
            OAuthError::bad(
                "invalid_target",
                format!("no resource `{requested}` in this zone"),
            )
        })
}

/// `requested` resolved to its resource, audience and provider type, through the directory cache.
pub async fn resolve_target(
    state: &AppState,
    zone: &ZoneEntry,
    requested: &str,
) -> Result<Arc<Target>, OAuthError> {
    let key = (zone.zone.id.clone(), requested.to_owned());
    if let Some(hit) = state.directory.targets.get(&key) {
        return Ok(hit);
    }
    let (resource, aud) = lookup_resource(state, zone, requested).await?;
    let kind = kind_of(state, zone, &resource).await?;
    let target = Arc::new(Target {
        resource,
        aud,
        kind,
    });
    state.directory.targets.insert(key, target.clone());
    Ok(target)
}

/// The single target of a request: `resource` (RFC 8707) or `audience` (RFC 8693).
pub fn single_target(form: &QueryMap, default: Option<String>) -> Result<String, OAuthError> {
    let mut targets: Vec<&str> = form.all("resource");
    for a in form.all("audience") {
        if !targets.contains(&a) {
            targets.push(a);
        }
    }
    match targets.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => default.ok_or_else(|| OAuthError::invalid_request("`resource` is required")),
        _ => Err(OAuthError::bad(
            "invalid_target",
            "one `resource` per request",
        )),
    }
}

/// Requested scopes, each of which the resource must support.
pub fn scopes(form: &QueryMap, resource: &Resource) -> Result<Option<String>, OAuthError> {
    let Some(requested) = form.get("scope").filter(|s| !s.trim().is_empty()) else {
        return Ok(None);
    };
    let allowed = resource.scopes.as_deref().unwrap_or_default();
    let mut granted: Vec<&str> = Vec::new();
    for s in requested.split_ascii_whitespace() {
        if !allowed.iter().any(|a| a == s) {
            return Err(OAuthError::bad(
                "invalid_scope",
                format!("scope `{s}` is not offered by `{}`", resource.identifier),
            ));
        }
        if !granted.contains(&s) {
            granted.push(s);
        }
    }
    Ok(Some(granted.join(" ")))
}

/// The zone's default resource identifier, if one is set.
async fn default_target(state: &AppState, zone: &ZoneEntry) -> Result<Option<String>, OAuthError> {
    let Some(id) = &zone.zone.default_resource_id else {
        return Ok(None);
    };
    let r = state
        .store
        .get_resource(&zone.zone.id, &latchkey_domain::id::ResourceId::new(id))
        .await
        .map_err(server)?;
    Ok(r.map(|r| r.identifier))
}

fn provider_type(state_kind: Option<ProviderType>) -> ProviderType {
    state_kind.unwrap_or(ProviderType::KeycardSts)
}

async fn kind_of(
    state: &AppState,
    zone: &ZoneEntry,
    r: &Resource,
) -> Result<ProviderType, OAuthError> {
    let Some(pid) = &r.credential_provider_id else {
        return Ok(ProviderType::KeycardSts);
    };
    let p = state
        .store
        .get_provider(&zone.zone.id, pid)
        .await
        .map_err(server)?;
    Ok(provider_type(p.map(|p| p.kind)))
}

/// `grant_type=client_credentials`.
pub async fn client_credentials(
    state: &AppState,
    zone: &ZoneEntry,
    client: &Client,
    form: &QueryMap,
) -> Result<Issued, OAuthError> {
    let target = single_target(form, default_target(state, zone).await?)?;
    let t = resolve_target(state, zone, &target).await?;
    let (resource, aud) = (&t.resource, t.aud.as_str());
    let principal = Principal {
        application: &client.application,
        subject: None,
        accessing: None,
    };
    policy::authorize(state, &principal, Action::IssueAppToken, resource).await?;
    let scope = scopes(form, resource)?;
    match t.kind {
        ProviderType::KeycardSts => {}
        ProviderType::KeycardVault => return upstream::vaulted(state, zone, resource).await,
        ProviderType::External => {
            return Err(OAuthError::bad(
                "invalid_target",
                format!("`{}` needs a user's delegated grant", resource.identifier),
            ));
        }
    }
    let iat = mint::now_seconds();
    let app = &client.application;
    let claims = Claims {
        iss: &zone.issuer,
        sub: &app.identifier,
        aud,
        exp: iat + mint::lifetime(resource),
        iat,
        client_id: client.client_id(),
        jti: mint::jti()?,
        sub_profile: "app",
        keycard_app_id: app.id.as_str(),
        scope: scope.clone(),
        act: None,
        sid: None,
    };
    let minted = mint::sign(state, zone, &claims).await?;
    Ok(Issued {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        issued_token_type: None,
        scope,
        refresh_token: None,
        id_token: None,
        username: None,
    })
}

/// Verifies a token this zone issued (any published key, `iss` exact, not expired).
pub async fn verify_zone_token(state: &AppState, zone: &ZoneEntry, token: &str) -> Option<Value> {
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
    let fresh = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|e| e > mint::now_seconds());
    (fresh && claims.get("iss").and_then(Value::as_str) == Some(zone.issuer.as_str()))
        .then_some(claims)
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
    state: &AppState,
    zone: &ZoneEntry,
    client: &Client,
    form: &QueryMap,
) -> Result<Issued, OAuthError> {
    let subject_token = form
        .get("subject_token")
        .ok_or_else(|| OAuthError::invalid_request("`subject_token` is required"))?;
    if form
        .get("requested_token_type")
        .is_some_and(|t| t != TOKEN_TYPE_ACCESS)
    {
        return Err(OAuthError::invalid_request(
            "only access tokens can be requested",
        ));
    }
    let (subject, accessed) = match form.get("subject_token_type") {
        Some(TOKEN_TYPE_ACCESS) => {
            let subject = verify_zone_token(state, zone, subject_token)
                .await
                .ok_or_else(|| {
                    OAuthError::bad(
                        "invalid_grant",
                        "the subject token is invalid, expired or not from this zone",
                    )
                })?;
            let subject_aud = first_audience(&subject).ok_or_else(|| {
                OAuthError::bad("invalid_grant", "the subject token has no audience")
            })?;
            let owned = resolve_target(state, zone, subject_aud)
                .await
                .map_err(|_| {
                    OAuthError::bad(
                        "invalid_grant",
                        "the subject token's audience is not a resource of this zone",
                    )
                })?;
            if owned.resource.application_id.as_ref() != Some(&client.application.id) {
                return Err(OAuthError::bad(
                    "invalid_grant",
                    "the subject token was not issued to a resource of the calling application",
                ));
            }
            (subject, owned)
        }
        Some(TOKEN_TYPE_SUBSTITUTE_USER) => {
            return impersonate(state, zone, client, form, subject_token).await;
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
    let target = single_target(form, None)?;
    let t = resolve_target(state, zone, &target).await?;
    let (resource, aud) = (&t.resource, t.aud.as_str());
    let sub = subject
        .get("sub")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let principal = Principal {
        application: &client.application,
        subject: Some(sub),
        accessing: Some(&accessed.resource.id),
    };
    policy::authorize(state, &principal, Action::ExchangeToken, resource).await?;
    let scope = scopes(form, resource)?;
    match t.kind {
        ProviderType::KeycardSts => {}
        ProviderType::KeycardVault => return upstream::vaulted(state, zone, resource).await,
        ProviderType::External => return upstream::delegated(state, zone, resource, sub).await,
    }
    let iat = mint::now_seconds();
    let app = &client.application;
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
    };
    let minted = mint::sign(state, zone, &claims).await?;
    Ok(Issued {
        access_token: minted.token,
        token_type: "Bearer",
        expires_in: minted.expires_in,
        issued_token_type: Some(TOKEN_TYPE_ACCESS),
        scope,
        refresh_token: None,
        id_token: None,
        username: None,
    })
}

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
    state: &AppState,
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

/// Impersonation: the authenticated application acts as a user, if policy permits and the user
/// already granted access to the target. The policy decides before the user is looked up, so a
/// refused caller learns nothing about which users exist.
async fn impersonate(
    state: &AppState,
    zone: &ZoneEntry,
    client: &Client,
    form: &QueryMap,
    token: &str,
) -> Result<Issued, OAuthError> {
    let sub = substitute_subject(token)?;
    let target = single_target(form, None)?;
    let t = resolve_target(state, zone, &target).await?;
    let principal = Principal {
        application: &client.application,
        subject: Some(&sub),
        accessing: None,
    };
    policy::authorize(state, &principal, Action::Impersonate, &t.resource).await?;
    let user = substitute_user(state, zone, &sub).await?;
    upstream::delegated(state, zone, &t.resource, &user.identifier).await
}
