//! JWT client assertions (RFC 7523): `private_key_jwt` for `public-key` credentials (keys at the
//! stored `jwks_uri`) and `url` credentials (keys named by the client-id document, falling back
//! to `{origin}/.well-known/jwks.json`), and federated workload tokens for `token` credentials
//! (keys of the provider's issuer, via its `jwks_uri` or OIDC discovery). Checks: signature by
//! `kid`, `exp` with 60 s skew, `aud` = token endpoint or issuer, `jti` present (client
//! assertions) and not replayed.

use latchkey_crypto::jws::Compact;
use latchkey_domain::id::{AppCredentialId, ApplicationId, SessionId};
use latchkey_domain::model::directory::{AppCredential, CredentialKind, Provider};
use latchkey_domain::model::identity::{Session, SessionType, Status};
use latchkey_domain::{ListFilter, PageRequest, Timestamp};
use serde_json::Value;

use crate::client::Client;
use crate::error::OAuthError;
use crate::error::server;
use crate::services::Services;
use crate::zones::ZoneEntry;

const SKEW_SECONDS: i64 = 60;
const MAX_LIFETIME_SECONDS: i64 = 3600;

fn deny(why: &str) -> OAuthError {
    tracing::debug!(why, "client assertion refused");
    let mut e = OAuthError::invalid_client();
    e.description = format!("client assertion refused: {why}");
    e
}

fn claim<'a>(c: &'a Compact, name: &str) -> Option<&'a str> {
    c.claims.get(name).and_then(Value::as_str)
}

/// Checks `exp`, `nbf` and `aud`; returns the expiry.
fn check_times_and_audience(
    c: &Compact,
    zone: &ZoneEntry,
    now: Timestamp,
) -> Result<Timestamp, OAuthError> {
    let secs = now.millis() / 1000;
    let exp = c
        .claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or_else(|| deny("no `exp`"))?;
    if exp + SKEW_SECONDS < secs {
        return Err(deny("expired"));
    }
    if c.claims
        .get("nbf")
        .and_then(Value::as_i64)
        .is_some_and(|nbf| nbf - SKEW_SECONDS > secs)
    {
        return Err(deny("not yet valid"));
    }
    let audiences: Vec<&str> = match c.claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let trim = |s: &str| s.trim_end_matches('/').to_owned();
    let ok = audiences
        .iter()
        .any(|a| trim(a) == trim(&zone.token_endpoint) || trim(a) == trim(&zone.issuer));
    if !ok {
        return Err(deny("`aud` is neither the token endpoint nor the issuer"));
    }
    if exp > secs + MAX_LIFETIME_SECONDS + SKEW_SECONDS {
        return Err(deny("the assertion is valid for more than an hour"));
    }
    Ok(Timestamp::from_millis(exp * 1000))
}

/// Authenticates a client by its assertion; `client_id` narrows the lookup when given.
pub async fn authenticate(
    state: &Services,
    zone: &ZoneEntry,
    assertion: &str,
    client_id: Option<&str>,
) -> Result<Client, OAuthError> {
    let c = Compact::parse(assertion).ok_or_else(|| deny("not a JWS"))?;
    if c.alg().is_none() {
        return Err(deny("unsupported `alg`"));
    }
    let now = Timestamp::now();
    let expires = check_times_and_audience(&c, zone, now)?;
    let iss = claim(&c, "iss").ok_or_else(|| deny("no `iss`"))?.to_owned();
    let sub = claim(&c, "sub").ok_or_else(|| deny("no `sub`"))?.to_owned();
    let (cred, provider) = find_credential(state, zone, client_id, &iss, &sub).await?;
    // A client's own assertion (`private_key_jwt`) must carry a `jti` (RFC 7523 §3 item 7), so
    // that a captured assertion cannot be replayed. Federated platform tokens are exempt: some
    // (GCP identity tokens) carry none; they are minted by the platform, not the client.
    let jti = claim(&c, "jti").filter(|j| !j.is_empty());
    if jti.is_none() && cred.kind != CredentialKind::Token {
        return Err(deny("no `jti`"));
    }
    let jwks_url = match (&cred.kind, &provider) {
        (CredentialKind::PublicKey, _) => cred
            .jwks_uri
            .clone()
            .ok_or_else(|| deny("credential has no `jwks_uri`"))?,
        (CredentialKind::Url, _) => url_client_jwks(state, &cred.identifier).await?,
        (CredentialKind::Token, Some(p)) => provider_jwks(state, p).await?,
        _ => return Err(deny("credential cannot authenticate with an assertion")),
    };
    verify_signature(state, &c, &jwks_url).await?;
    if let Some(jti) = jti {
        let fresh = state
            .store
            .remember_jti(&zone.zone.id, &format!("{iss}\u{1f}{jti}"), expires, now)
            .await
            .map_err(server)?;
        if !fresh {
            return Err(deny("`jti` was already used"));
        }
    }
    if cred.kind == CredentialKind::Token
        && let Some(p) = &provider
    {
        record_session(state, &cred, p, &iss, &sub, &c, expires).await?;
    }
    client_of(state, cred).await
}

/// The credentials of the application that `id` names, by id or by identifier.
async fn application_credentials(
    state: &Services,
    zone: &ZoneEntry,
    id: &str,
) -> Result<Vec<AppCredential>, OAuthError> {
    let zone_id = &zone.zone.id;
    let by_identifier = ListFilter::default().exact("identifier", vec![id.to_owned()]);
    let apps = state
        .store
        .list_applications(zone_id, &by_identifier, &PageRequest::first(1))
        .await
        .map_err(server)?;
    let app = apps
        .items
        .into_iter()
        .next()
        .map(|a| a.id)
        .unwrap_or_else(|| ApplicationId::new(id));
    let creds = state
        .store
        .list_app_credentials(
            zone_id,
            Some(&app),
            &ListFilter::default(),
            &PageRequest::first(100),
        )
        .await
        .map_err(server)?;
    Ok(creds.items)
}

/// Finds the credential an assertion speaks for.
async fn find_credential(
    state: &Services,
    zone: &ZoneEntry,
    client_id: Option<&str>,
    iss: &str,
    sub: &str,
) -> Result<(AppCredential, Option<Provider>), OAuthError> {
    let zone_id = &zone.zone.id;
    if let Some(id) = client_id {
        if let Some(c) = state
            .store
            .find_app_credential_by_client_id(zone_id, id)
            .await
            .map_err(server)?
        {
            if c.identifier != iss || c.identifier != sub {
                return Err(deny("`iss`/`sub` do not match `client_id`"));
            }
            return Ok((c, None));
        }
        if let Some(c) = state
            .store
            .get_app_credential(zone_id, &AppCredentialId::new(id))
            .await
            .map_err(server)?
            && c.kind == CredentialKind::Token
        {
            return federated(state, zone, vec![c], iss, sub).await;
        }
        // Else `client_id` names the application, by id or by identifier.
        let creds = application_credentials(state, zone, id).await?;
        return federated(state, zone, creds, iss, sub).await;
    }
    if iss == sub
        && let Some(c) = state
            .store
            .find_app_credential_by_client_id(zone_id, iss)
            .await
            .map_err(server)?
    {
        return Ok((c, None));
    }
    let filter = ListFilter::default().exact("type", vec!["token".to_owned()]);
    let creds = state
        .store
        .list_app_credentials(zone_id, None, &filter, &PageRequest::first(100))
        .await
        .map_err(server)?;
    federated(state, zone, creds.items, iss, sub).await
}

/// The token credential (and its provider) that accepts a federated token from `iss` for `sub`:
/// an exact subject match wins over `*`.
async fn federated(
    state: &Services,
    zone: &ZoneEntry,
    creds: Vec<AppCredential>,
    iss: &str,
    sub: &str,
) -> Result<(AppCredential, Option<Provider>), OAuthError> {
    let mut best: Option<(AppCredential, Provider)> = None;
    for c in creds
        .into_iter()
        .filter(|c| c.kind == CredentialKind::Token)
    {
        let Some(pid) = &c.provider_id else { continue };
        let Some(p) = state
            .store
            .get_provider(&zone.zone.id, pid)
            .await
            .map_err(server)?
        else {
            continue;
        };
        let issuer = p
            .protocols
            .as_ref()
            .and_then(|x| x.oauth2.as_ref())
            .map(|o| o.issuer.clone())
            .unwrap_or_else(|| p.identifier.clone());
        if issuer.trim_end_matches('/') != iss.trim_end_matches('/') {
            continue;
        }
        match c.subject.as_deref() {
            Some(s) if s == sub => return Ok((c, Some(p))),
            None if best.is_none() => best = Some((c, p)),
            _ => {}
        }
    }
    best.map(|(c, p)| (c, Some(p)))
        .ok_or_else(|| deny("no credential accepts this issuer and subject"))
}

async fn url_client_jwks(state: &Services, client_id: &str) -> Result<String, OAuthError> {
    if let Ok(doc) = state.fetcher.json(client_id).await
        && let Some(u) = doc.get("jwks_uri").and_then(Value::as_str)
    {
        return Ok(u.to_owned());
    }
    let origin = url::Url::parse(client_id)
        .map_err(|_| deny("client id is not a URL"))?
        .origin()
        .ascii_serialization();
    Ok(format!("{origin}/.well-known/jwks.json"))
}

async fn provider_jwks(state: &Services, p: &Provider) -> Result<String, OAuthError> {
    let oauth2 = p.protocols.as_ref().and_then(|x| x.oauth2.as_ref());
    if let Some(u) = oauth2.and_then(|o| o.jwks_uri.clone()) {
        return Ok(u);
    }
    let issuer = oauth2
        .map(|o| o.issuer.clone())
        .unwrap_or_else(|| p.identifier.clone());
    state
        .fetcher
        .discovered(&issuer, "jwks_uri")
        .await
        .ok_or_else(|| deny("the provider's keys could not be found"))
}

/// Verifies with the key named by `kid` (see `Fetcher::signing_key` for unknown `kid`s).
async fn verify_signature(state: &Services, c: &Compact, jwks_url: &str) -> Result<(), OAuthError> {
    let key = state
        .fetcher
        .signing_key(jwks_url, c)
        .await
        .map_err(|e| deny(&e.to_string()))?
        .ok_or_else(|| deny("no key matches the assertion's `kid`"))?;
    if c.verify_with(&key) {
        Ok(())
    } else {
        Err(deny("bad signature"))
    }
}

async fn record_session(
    state: &Services,
    cred: &AppCredential,
    provider: &Provider,
    iss: &str,
    sub: &str,
    c: &Compact,
    expires: Timestamp,
) -> Result<(), OAuthError> {
    let now = Timestamp::now();
    let session = Session {
        zone_id: cred.zone_id.clone(),
        id: SessionId::new(latchkey_crypto::random::id().map_err(|_| OAuthError::server_error())?),
        organization_id: cred.organization_id.clone(),
        session_type: SessionType::Application,
        user_id: None,
        application_id: Some(cred.application_id.clone()),
        user_agent_id: None,
        parent_id: None,
        provider_id: Some(provider.id.clone()),
        issuer: Some(iss.to_owned()),
        subject: Some(sub.to_owned()),
        metadata_name: None,
        session_data: Some(c.claims.clone()),
        status: Status::Active,
        authenticated_at: Some(now),
        expires_at: Some(expires),
        created_at: now,
        updated_at: now,
    };
    state.store.insert_session(&session).await.map_err(server)
}

/// The client owning `credential`.
async fn client_of(state: &Services, credential: AppCredential) -> Result<Client, OAuthError> {
    let application = state
        .store
        .get_application(&credential.zone_id, &credential.application_id)
        .await
        .map_err(server)?
        .ok_or_else(OAuthError::invalid_client)?;
    Ok(Client::new(std::sync::Arc::new((credential, application))))
}
