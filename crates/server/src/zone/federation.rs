//! Upstream providers as seen from the browser flows: signing users in through the zone's
//! `user_identity_provider_id` (OIDC authorization code + PKCE, as a client), and brokering
//! delegated grants for `external` resources (the provider's quirks: `scope_parameter`,
//! `scope_separator`, `authorization_parameters`, `authorization_resource_*`, PKCE when
//! supported, `token_response_access_token_pointer`). Both return through
//! `{issuer}/oauth/2/redirect`.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use latchkey_crypto::jws::{Compact, VerifyingKey};
use latchkey_domain::Timestamp;
use latchkey_domain::id::{GrantId, ProviderId, ResourceId, UserId};
use latchkey_domain::model::directory::{Provider, ProviderOAuth2, ProviderType, Resource};
use latchkey_domain::model::identity::{Grant, Status, User};
use latchkey_domain::store::{GrantFilter, UserFilter};
use latchkey_domain::{ListFilter, PageRequest};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::authorize::client_error;
use super::browser::{self, AuthRequest};
use super::cache::ZoneEntry;
use super::grants::resolve_target;
use super::pages;
use crate::api::zone::paths;
use crate::extract::QueryMap;
use crate::state::AppState;

const STATE_TTL_SECONDS: i64 = 15 * 60;
const DEFAULT_GRANT_SECONDS: i64 = 3600;

fn failed(why: &str) -> Response {
    tracing::warn!(why, "upstream flow failed");
    pages::error(
        StatusCode::BAD_GATEWAY,
        &format!("The upstream provider could not be used: {why}."),
    )
}

/// What an upstream redirect is for; sealed while the browser is away.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    login: bool,
    request_id: String,
    provider_id: String,
    verifier: Option<String>,
    nonce: String,
    resource_id: Option<String>,
    user_id: Option<String>,
    /// Keyed hash of the binding cookie set on the browser that left; the callback must
    /// present the same cookie.
    browser: String,
}

/// The cookie that binds an upstream hop to the browser that started it.
fn binding_cookie(zone: &ZoneEntry) -> String {
    format!("lk_up_{}", zone.zone.id)
}

/// Whether the callback comes from the browser that started the hop.
fn same_browser(s: &AppState, zone: &ZoneEntry, headers: &HeaderMap, pending: &Pending) -> bool {
    browser::cookie(headers, &binding_cookie(zone))
        .is_some_and(|value| browser::same_secret(&s.hasher.hash(&value), &pending.browser))
}

fn oauth2(p: &Provider) -> Option<&ProviderOAuth2> {
    p.protocols.as_ref().and_then(|x| x.oauth2.as_ref())
}

/// The zone's user identity provider, when one is set.
pub async fn login_provider(s: &AppState, zone: &ZoneEntry) -> Result<Option<Provider>, Response> {
    let Some(id) = &zone.zone.user_identity_provider_id else {
        return Ok(None);
    };
    s.store
        .get_provider(&zone.zone.id, &ProviderId::new(id))
        .await
        .map_err(|_| failed("store"))
}

/// An endpoint of the provider: configured, or from its discovery document.
async fn endpoint(s: &AppState, p: &Provider, name: &str) -> Option<String> {
    let o = oauth2(p);
    let configured = match name {
        "authorization_endpoint" => o.and_then(|o| o.authorization_endpoint.clone()),
        "token_endpoint" => o.and_then(|o| o.token_endpoint.clone()),
        "jwks_uri" => o.and_then(|o| o.jwks_uri.clone()),
        _ => p
            .protocols
            .as_ref()
            .and_then(|x| x.openid.as_ref())
            .and_then(|x| x.userinfo_endpoint.clone()),
    };
    if configured.is_some() {
        return configured;
    }
    let issuer = o
        .map(|o| o.issuer.clone())
        .unwrap_or_else(|| p.identifier.clone());
    let base = issuer.trim_end_matches('/');
    for doc in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        if let Ok(meta) = s.fetcher.json(&format!("{base}{doc}"), false).await
            && let Some(v) = meta.get(name).and_then(Value::as_str)
        {
            return Some(v.to_owned());
        }
    }
    None
}

fn issuer_of(p: &Provider) -> String {
    oauth2(p)
        .map(|o| o.issuer.clone())
        .unwrap_or_else(|| p.identifier.clone())
}

fn s256(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(latchkey_crypto::keyed_hash::sha256(verifier.as_bytes()))
}

/// What the zone asks an upstream provider for.
struct UpstreamAsk {
    client_id: String,
    redirect_uri: String,
    state: String,
    scopes: Vec<String>,
    verifier: Option<String>,
    nonce: Option<String>,
    resource: Option<String>,
}

/// The query of an upstream authorization request, with the provider's quirks: its scope
/// parameter and separator, PKCE, the resource parameter when enabled, and extra parameters.
fn authorize_params(o: &ProviderOAuth2, ask: UpstreamAsk) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), ask.client_id),
        ("redirect_uri".into(), ask.redirect_uri),
        ("state".into(), ask.state),
    ];
    if !ask.scopes.is_empty() {
        let sep = o.scope_separator.clone().unwrap_or_else(|| " ".into());
        params.push((
            o.scope_parameter.clone().unwrap_or_else(|| "scope".into()),
            ask.scopes.join(&sep),
        ));
    }
    if let Some(v) = &ask.verifier {
        params.push(("code_challenge".into(), s256(v)));
        params.push(("code_challenge_method".into(), "S256".into()));
    }
    if let Some(n) = ask.nonce {
        params.push(("nonce".into(), n));
    }
    if let (Some(true), Some(r)) = (o.authorization_resource_enabled, ask.resource) {
        params.push((
            o.authorization_resource_parameter
                .clone()
                .unwrap_or_else(|| "resource".into()),
            r,
        ));
    }
    for (k, v) in o.authorization_parameters.clone().unwrap_or_default() {
        params.push((k, v));
    }
    params
}

/// Sends the browser to `provider`, remembering why.
async fn go_upstream(
    s: &AppState,
    zone: &ZoneEntry,
    p: &Provider,
    pending: Pending,
    scopes: Vec<String>,
    resource: Option<&Resource>,
) -> Result<Response, Response> {
    let authorize = endpoint(s, p, "authorization_endpoint")
        .await
        .ok_or_else(|| failed("no authorization endpoint"))?;
    let client_id = p
        .client_id
        .clone()
        .ok_or_else(|| failed("the provider has no client_id"))?;
    let o = oauth2(p).cloned().unwrap_or_default();
    let state = latchkey_crypto::random::secret("").map_err(|_| failed("random"))?;
    let pkce = o
        .code_challenge_methods_supported
        .as_ref()
        .is_none_or(|m| m.iter().any(|x| x == "S256"));
    let mut pending = pending;
    if pkce {
        pending.verifier = Some(latchkey_crypto::random::secret("").map_err(|_| failed("random"))?);
    }
    let binding = latchkey_crypto::random::secret("").map_err(|_| failed("random"))?;
    pending.browser = s.hasher.hash(&binding);
    let ask = UpstreamAsk {
        client_id,
        redirect_uri: zone.url(paths::REDIRECT),
        state: state.clone(),
        scopes,
        verifier: pending.verifier.clone(),
        nonce: pending.login.then(|| pending.nonce.clone()),
        resource: resource.map(|r| r.identifier.clone()),
    };
    let params = authorize_params(&o, ask);
    let sealed = s
        .sealer
        .seal(
            &format!("{}/upstream_state", zone.zone.id),
            &serde_json::to_vec(&pending).map_err(|_| failed("state"))?,
        )
        .map_err(|_| failed("seal"))?;
    let expires = Timestamp::now().plus_seconds(STATE_TTL_SECONDS);
    s.store
        .put_upstream_state(&zone.zone.id, &s.hasher.hash(&state), &sealed, expires)
        .await
        .map_err(|_| failed("store"))?;
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let mut res = browser::redirect(&browser::with_query(&authorize, &pairs));
    browser::set_cookie(
        &mut res,
        zone,
        &binding_cookie(zone),
        &binding,
        STATE_TTL_SECONDS,
    );
    Ok(res)
}

/// `GET {issuer}/login/upstream?request=…`: sign in through the zone's identity provider.
pub async fn login_upstream(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    q: QueryMap,
) -> Response {
    let zone = match s.zones.get(&s, &zone).await {
        Ok(z) => z,
        Err(e) => return pages::error(e.status, &e.message),
    };
    let Some(id) = q.get("request") else {
        return pages::error(StatusCode::BAD_REQUEST, "The sign-in request is missing.");
    };
    if !matches!(browser::load_request(&s, &zone, id).await, Ok(Some(_))) {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "This sign-in request has expired. Start again from the application.",
        );
    }
    let provider = match login_provider(&s, &zone).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This zone has no identity provider.",
            );
        }
        Err(r) => return r,
    };
    let Ok(nonce) = latchkey_crypto::random::secret("") else {
        return failed("random");
    };
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
        request_id: id.to_owned(),
        provider_id: provider.id.as_str().to_owned(),
        verifier: None,
        nonce,
        resource_id: None,
        user_id: None,
        browser: String::new(),
    };
    go_upstream(&s, &zone, &provider, pending, scopes, None)
        .await
        .unwrap_or_else(|r| r)
}

/// The next external resource of the request (or the client application's dependencies) that
/// the user has no active grant for: the browser goes there first.
pub async fn next_missing_grant(
    s: &AppState,
    zone: &ZoneEntry,
    request_id: &str,
    req: &AuthRequest,
    user: &UserId,
) -> Result<Option<Response>, Response> {
    // The requested resources, the dependencies of the applications that provide them (the
    // resource server will exchange for those), and the client application's own dependencies.
    let mut wanted: Vec<Resource> = Vec::new();
    let mut apps: Vec<latchkey_domain::id::ApplicationId> = Vec::new();
    for r in &req.resources {
        if let Ok(t) = resolve_target(s, zone, r).await {
            if t.kind == ProviderType::External {
                wanted.push(t.resource.clone());
            }
            if let Some(owner) = &t.resource.application_id {
                apps.push(owner.clone());
            }
        }
    }
    if let Some(app) = &req.client.application_id {
        apps.push(latchkey_domain::id::ApplicationId::new(app));
    }
    apps.sort();
    apps.dedup();
    for app in &apps {
        let deps = s
            .store
            .list_dependencies(&zone.zone.id, app, None, &PageRequest::first(100))
            .await
            .map_err(|_| failed("store"))?;
        wanted.extend(deps.items.into_iter().map(|d| d.resource));
    }
    let silent = req
        .prompt
        .as_deref()
        .is_some_and(|p| p.split_ascii_whitespace().any(|x| x == "none"));
    for r in wanted {
        let Some(pid) = &r.credential_provider_id else {
            continue;
        };
        let Some(p) = s
            .store
            .get_provider(&zone.zone.id, pid)
            .await
            .map_err(|_| failed("store"))?
        else {
            continue;
        };
        if p.kind != ProviderType::External || active_grant(s, zone, user, &r.id).await?.is_some() {
            continue;
        }
        if silent {
            return Err(client_error(
                zone,
                &req.redirect_uri,
                req.state.as_deref(),
                "interaction_required",
                "an upstream authorization is needed",
            ));
        }
        let scopes = r.scopes.clone().unwrap_or_default();
        let Ok(nonce) = latchkey_crypto::random::secret("") else {
            return Err(failed("random"));
        };
        let pending = Pending {
            login: false,
            request_id: request_id.to_owned(),
            provider_id: p.id.as_str().to_owned(),
            verifier: None,
            nonce,
            resource_id: Some(r.id.as_str().to_owned()),
            user_id: Some(user.as_str().to_owned()),
            browser: String::new(),
        };
        return go_upstream(s, zone, &p, pending, scopes, Some(&r))
            .await
            .map(Some);
    }
    Ok(None)
}

async fn active_grant(
    s: &AppState,
    zone: &ZoneEntry,
    user: &UserId,
    resource: &ResourceId,
) -> Result<Option<Grant>, Response> {
    let f = GrantFilter {
        status: Some(Status::Active),
        user_id: Some(user.clone()),
        resource_id: Some(resource.clone()),
    };
    let page = s
        .store
        .list_grants(&zone.zone.id, &f, Timestamp::now(), &PageRequest::first(1))
        .await
        .map_err(|_| failed("store"))?;
    Ok(page.items.into_iter().next())
}

/// Follows a dotted path (`authed_user.access_token`) into a JSON object.
pub fn pointer<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.')
        .try_fold(v, |acc, key| acc.get(key))
        .and_then(Value::as_str)
}

/// Redeems an upstream code (or refresh token) at the provider's token endpoint.
pub async fn upstream_token(
    s: &AppState,
    p: &Provider,
    form: &[(&str, &str)],
) -> Result<Value, String> {
    let token_endpoint = endpoint(s, p, "token_endpoint")
        .await
        .ok_or("no token endpoint")?;
    let client_id = p.client_id.clone().ok_or("no client_id")?;
    let secret = match &p.client_secret {
        Some(sealed) => Some(
            String::from_utf8(
                s.sealer
                    .open(
                        &format!("{}/provider/{}/client_secret", p.zone_id, p.id),
                        sealed,
                    )
                    .map_err(|_| "secret")?,
            )
            .map_err(|_| "secret")?,
        ),
        None => None,
    };
    let mut body: Vec<(&str, &str)> = form.to_vec();
    if secret.is_none() {
        body.push(("client_id", &client_id));
    }
    let basic = secret.as_deref().map(|sec| (client_id.as_str(), sec));
    let (status, value) = s
        .fetcher
        .post_form(&token_endpoint, &body, basic)
        .await
        .map_err(|e| e.to_string())?;
    if !(200..300).contains(&status) || value.get("error").is_some() {
        return Err(format!(
            "token endpoint answered {status}: {}",
            value
                .get("error")
                .and_then(Value::as_str)
                .unwrap_or("error")
        ));
    }
    Ok(value)
}

/// `GET {issuer}/oauth/2/redirect`: the return from an upstream provider.
pub async fn callback(
    State(s): State<AppState>,
    Path(zone): Path<String>,
    headers: HeaderMap,
    q: QueryMap,
) -> Response {
    let zone = match s.zones.get(&s, &zone).await {
        Ok(z) => z,
        Err(e) => return pages::error(e.status, &e.message),
    };
    let Some(state) = q.get("state") else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no state.",
        );
    };
    let sealed = match s
        .store
        .take_upstream_state(&zone.zone.id, &s.hasher.hash(state), Timestamp::now())
        .await
    {
        Ok(Some(x)) => x,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in attempt is unknown or has expired. Start again from the application.",
            );
        }
        Err(_) => return failed("store"),
    };
    let Ok(pending) = s
        .sealer
        .open(&format!("{}/upstream_state", zone.zone.id), &sealed)
        .map_err(|_| ())
        .and_then(|b| serde_json::from_slice::<Pending>(&b).map_err(|_| ()))
    else {
        return failed("state");
    };
    // Nothing is redeemed or written for a browser other than the one that left, nor for a
    // grant hop whose browser is no longer signed in as the user it was started for.
    if !same_browser(&s, &zone, &headers, &pending) {
        tracing::warn!(zone = %zone.zone.id, "upstream callback from another browser refused");
        return pages::error(
            StatusCode::FORBIDDEN,
            "This sign-in was started in another browser. Start again from the application.",
        );
    }
    let session = if pending.login {
        None
    } else {
        match super::login::current_session(&s, &zone, &headers).await {
            Some(x) if x.user_id.as_ref().map(UserId::as_str) == pending.user_id.as_deref() => {
                Some(x)
            }
            _ => {
                return pages::error(
                    StatusCode::FORBIDDEN,
                    "The sign-in session ended or belongs to another user. Start again from the application.",
                );
            }
        }
    };
    let (req, csrf) = match browser::load_request(&s, &zone, &pending.request_id).await {
        Ok(Some(x)) => x,
        _ => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This sign-in request has expired. Start again from the application.",
            );
        }
    };
    if let Some(err) = q.get("error") {
        return client_error(
            &zone,
            &req.redirect_uri,
            req.state.as_deref(),
            "access_denied",
            &format!("the upstream provider refused: {err}"),
        );
    }
    let Some(code) = q.get("code") else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "The provider's answer has no code.",
        );
    };
    let provider = match s
        .store
        .get_provider(&zone.zone.id, &ProviderId::new(&pending.provider_id))
        .await
    {
        Ok(Some(p)) => p,
        _ => return failed("the provider no longer exists"),
    };
    let redirect_uri = zone.url(paths::REDIRECT);
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri.as_str()),
    ];
    if let Some(v) = &pending.verifier {
        form.push(("code_verifier", v));
    }
    let tokens = match upstream_token(&s, &provider, &form).await {
        Ok(t) => t,
        Err(e) => return failed(&e),
    };
    // (The binding cookie is left to expire: the response may already set it for the next hop,
    // and the state it binds is spent.)
    match session {
        None => finish_login(&s, &zone, &provider, &pending, tokens, req, csrf).await,
        Some(session) => {
            finish_grant(&s, &zone, &provider, &pending, tokens, req, csrf, session).await
        }
    }
}

/// Verifies an upstream ID token against the provider's keys, issuer, audience and nonce.
async fn id_token_claims(
    s: &AppState,
    p: &Provider,
    token: &str,
    nonce: &str,
) -> Result<Value, String> {
    let c = Compact::parse(token).ok_or("malformed id_token")?;
    let jwks_url = endpoint(s, p, "jwks_uri").await.ok_or("no jwks_uri")?;
    let mut verified = false;
    for fresh in [false, true] {
        let jwks = s
            .fetcher
            .json(&jwks_url, fresh)
            .await
            .map_err(|e| e.to_string())?;
        let keys: Vec<VerifyingKey> = jwks
            .get("keys")
            .and_then(Value::as_array)
            .map(|k| {
                k.iter()
                    .filter_map(|j| VerifyingKey::from_jwk(j).ok())
                    .collect()
            })
            .unwrap_or_default();
        if let Some(k) = keys
            .iter()
            .find(|k| k.kid.as_deref() == c.kid() || (c.kid().is_none() && keys.len() == 1))
        {
            verified = c.verify_with(k);
            break;
        }
    }
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

async fn finish_login(
    s: &AppState,
    zone: &ZoneEntry,
    p: &Provider,
    pending: &Pending,
    tokens: Value,
    req: AuthRequest,
    csrf: String,
) -> Response {
    let mut claims = match tokens.get("id_token").and_then(Value::as_str) {
        Some(t) => match id_token_claims(s, p, t, &pending.nonce).await {
            Ok(c) => c,
            Err(e) => return failed(&e),
        },
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
    let Some(subject) = claims.get("sub").and_then(Value::as_str).map(str::to_owned) else {
        return failed("no subject");
    };
    let user = match find_or_create_user(s, zone, p, &subject, &claims).await {
        Ok(u) => u,
        Err(e) => return failed(e),
    };
    if user.status != "active" {
        return pages::error(StatusCode::FORBIDDEN, "This account is disabled.");
    }
    match super::login::start_session(s, zone, &user, Some(p), Some(claims)).await {
        Ok((session, cookie)) => {
            let mut res =
                super::login::proceed(s, zone, &pending.request_id, &csrf, req, session).await;
            browser::set_cookie(
                &mut res,
                zone,
                &browser::session_cookie(zone),
                &cookie,
                browser::SESSION_TTL_SECONDS,
            );
            res
        }
        Err(r) => r,
    }
}

async fn find_or_create_user(
    s: &AppState,
    zone: &ZoneEntry,
    p: &Provider,
    subject: &str,
    claims: &Value,
) -> Result<User, &'static str> {
    let issuer = issuer_of(p);
    let f = UserFilter {
        list: ListFilter::default()
            .exact("issuer", vec![issuer.clone()])
            .exact("subject", vec![subject.to_owned()]),
        external: None,
    };
    if let Some(u) = s
        .store
        .list_users(&zone.zone.id, &f, &PageRequest::first(1))
        .await
        .map_err(|_| "store")?
        .items
        .pop()
    {
        return Ok(u);
    }
    let id = latchkey_crypto::random::id().map_err(|_| "random")?;
    let claim = p
        .protocols
        .as_ref()
        .and_then(|x| x.openid.as_ref())
        .and_then(|o| o.user_identifier_claim.clone());
    let identifier = claim
        .and_then(|c| claims.get(&c).and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| id.clone());
    let now = Timestamp::now();
    let user = User {
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
        issuer: Some(issuer),
        provider_id: Some(p.id.clone()),
        subject: Some(subject.to_owned()),
        password_hash: None,
        created_at: now,
        updated_at: now,
    };
    s.store
        .insert_user(&user)
        .await
        .map_err(|_| "the user could not be created")?;
    Ok(user)
}

/// Seals an upstream token for storage on a grant.
pub fn seal_token(
    s: &AppState,
    grant: &GrantId,
    zone: &latchkey_domain::id::ZoneId,
    kind: &str,
    token: &str,
) -> Option<Vec<u8>> {
    s.sealer
        .seal(
            &format!("{zone}/grant/{grant}/{kind}"),
            serde_json::to_vec(token).ok()?.as_slice(),
        )
        .ok()
}

#[allow(clippy::too_many_arguments)]
async fn finish_grant(
    s: &AppState,
    zone: &ZoneEntry,
    p: &Provider,
    pending: &Pending,
    tokens: Value,
    req: AuthRequest,
    csrf: String,
    session: latchkey_domain::model::identity::Session,
) -> Response {
    let pointer_path = oauth2(p)
        .and_then(|o| o.token_response_access_token_pointer.clone())
        .unwrap_or_else(|| "access_token".into());
    let Some(access) = pointer(&tokens, &pointer_path).map(str::to_owned) else {
        return failed("no access token in the provider's answer");
    };
    let (Some(user_id), Some(resource_id)) = (&pending.user_id, &pending.resource_id) else {
        return failed("state");
    };
    let user = UserId::new(user_id);
    let resource = ResourceId::new(resource_id);
    let now = Timestamp::now();
    let expires_in = tokens
        .get("expires_in")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        })
        .unwrap_or(DEFAULT_GRANT_SECONDS);
    let refresh = tokens.get("refresh_token").and_then(Value::as_str);
    let scopes: Vec<String> = tokens
        .get("scope")
        .and_then(Value::as_str)
        .map(|sc| {
            sc.split([' ', ','])
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    let existing = match active_grant(s, zone, &user, &resource).await {
        Ok(g) => g,
        Err(r) => return r,
    };
    let id = match &existing {
        Some(g) => g.id.clone(),
        None => match latchkey_crypto::random::id() {
            Ok(i) => GrantId::new(i),
            Err(_) => return failed("random"),
        },
    };
    let grant = Grant {
        zone_id: zone.zone.id.clone(),
        id: id.clone(),
        organization_id: zone.zone.organization_id.clone(),
        user_id: user,
        resource_id: resource,
        provider_id: p.id.clone(),
        scopes,
        status: Status::Active,
        expires_at: now.plus_seconds(expires_in),
        refresh_token_set: refresh.is_some(),
        refreshed_at: None,
        access_token: seal_token(s, &id, &zone.zone.id, "access_token", &access),
        refresh_token: refresh.and_then(|r| seal_token(s, &id, &zone.zone.id, "refresh_token", r)),
        created_at: existing.as_ref().map(|g| g.created_at).unwrap_or(now),
        updated_at: now,
    };
    let saved = if existing.is_some() {
        s.store.update_grant_tokens(&grant).await
    } else {
        s.store.insert_grant(&grant).await
    };
    if saved.is_err() {
        return failed("store");
    }
    super::login::proceed(s, zone, &pending.request_id, &csrf, req, session).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_quirks_shape_the_authorize_request() {
        let slack = ProviderOAuth2 {
            issuer: "https://slack.com".into(),
            scope_parameter: Some("user_scope".into()),
            scope_separator: Some(",".into()),
            authorization_resource_enabled: Some(true),
            authorization_resource_parameter: Some("audience".into()),
            authorization_parameters: Some([("prompt".to_owned(), "consent".to_owned())].into()),
            ..ProviderOAuth2::default()
        };
        let ask = UpstreamAsk {
            client_id: "c".into(),
            redirect_uri: "https://z/cb".into(),
            state: "st".into(),
            scopes: vec!["channels:read".into(), "chat:write".into()],
            verifier: Some("v".repeat(43)),
            nonce: None,
            resource: Some("https://api.slack.com".into()),
        };
        let p: std::collections::HashMap<_, _> =
            authorize_params(&slack, ask).into_iter().collect();
        assert_eq!(p["user_scope"], "channels:read,chat:write");
        assert!(!p.contains_key("scope"));
        assert_eq!(p["audience"], "https://api.slack.com");
        assert_eq!(p["prompt"], "consent");
        assert_eq!(p["code_challenge_method"], "S256");
        assert_eq!(p["code_challenge"], s256(&"v".repeat(43)));
        assert!(!p.contains_key("nonce"));
        let plain = authorize_params(
            &ProviderOAuth2::default(),
            UpstreamAsk {
                client_id: "c".into(),
                redirect_uri: "r".into(),
                state: "s".into(),
                scopes: vec!["openid".into(), "email".into()],
                verifier: None,
                nonce: Some("n".into()),
                resource: Some("https://x".into()),
            },
        );
        let p: std::collections::HashMap<_, _> = plain.into_iter().collect();
        assert_eq!(
            (p["scope"].as_str(), p["nonce"].as_str()),
            ("openid email", "n")
        );
        assert!(
            !p.contains_key("resource") && !p.contains_key("code_challenge"),
            "resource only when enabled; PKCE only when asked"
        );
    }

    #[test]
    fn token_pointer_follows_dotted_paths() {
        let slack = serde_json::json!({"ok": true, "access_token": "bot", "authed_user": {"access_token": "user-token"}});
        assert_eq!(
            pointer(&slack, "authed_user.access_token"),
            Some("user-token")
        );
        assert_eq!(pointer(&slack, "access_token"), Some("bot"));
        assert_eq!(pointer(&slack, "authed_user.missing"), None);
        assert_eq!(pointer(&slack, "ok"), None, "only strings are tokens");
    }
}
