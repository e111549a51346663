//! Upstream providers as seen from the browser flows: signing users in through the zone's
//! `user_identity_provider_id` (OIDC authorization code + PKCE, as a client: `signin`) and
//! brokering delegated grants for `external` resources (`brokering`). Both leave through
//! [`prepare_hop`] — the upstream authorization URL, with the pending state sealed in the store
//! and bound to a browser secret — and come back through [`take_pending`] and [`redeem`]. Cookies
//! and pages are the HTTP layer's.

pub mod brokering;
pub mod signin;

use latchkey_domain::Timestamp;
use latchkey_domain::id::ProviderId;
use latchkey_domain::model::directory::{Provider, Resource};
use serde::{Deserialize, Serialize};

use crate::browser::{self, AuthRequest};
use crate::paths;
use crate::provider::{UpstreamAsk, authorize_params, endpoint, oauth2, upstream_token};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// How long a browser may stay at the provider.
pub const STATE_TTL_SECONDS: i64 = 15 * 60;

/// Why an upstream hop could not go on (logged; the browser sees a 502 page naming it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed(pub String);

/// A [`Failed`] for `why`.
pub fn failed(why: &str) -> Failed {
    Failed(why.to_owned())
}

/// What an upstream redirect is for; sealed while the browser is away.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pending {
    pub login: bool,
    pub request_id: String,
    pub provider_id: String,
    pub verifier: Option<String>,
    pub nonce: String,
    pub resource_id: Option<String>,
    pub user_id: Option<String>,
    /// Keyed hash of the binding secret set on the browser that left; the callback must present
    /// the same secret.
    pub browser: String,
}

impl Pending {
    /// Whether `binding` (the browser's binding cookie) is the one this hop was bound to.
    pub fn bound_to(&self, s: &Services, binding: Option<&str>) -> bool {
        binding.is_some_and(|value| browser::same_secret(&s.hasher.hash(value), &self.browser))
    }
}

/// A hop ready to leave: where the browser goes, and the secret its binding cookie carries.
#[derive(Debug)]
pub struct Hop {
    pub location: String,
    pub binding: String,
}

/// What a completed upstream hop brings back to finish with: the provider, the pending state,
/// the provider's token response, and the sign-in request (with its CSRF token) it belongs to.
pub struct Returned {
    pub provider: Provider,
    pub pending: Pending,
    pub tokens: serde_json::Value,
    pub req: AuthRequest,
    pub csrf: String,
}

fn random() -> Result<String, Failed> {
    latchkey_crypto::random::secret("").map_err(|_| failed("random"))
}

/// Prepares the browser's trip to `p`, remembering why (sealed, under a fresh `state`).
pub async fn prepare_hop(
    s: &Services,
    zone: &ZoneEntry,
    p: &Provider,
    mut pending: Pending,
    scopes: Vec<String>,
    resource: Option<&Resource>,
    sign_in: Vec<(String, String)>,
) -> Result<Hop, Failed> {
    let authorize = endpoint(s, p, "authorization_endpoint")
        .await
        .ok_or_else(|| failed("no authorization endpoint"))?;
    let client_id = p
        .client_id
        .clone()
        .ok_or_else(|| failed("the provider has no client_id"))?;
    let o = oauth2(p).cloned().unwrap_or_default();
    let state = random()?;
    let pkce = o
        .code_challenge_methods_supported
        .as_ref()
        .is_none_or(|m| m.iter().any(|x| x == "S256"));
    if pkce {
        pending.verifier = Some(random()?);
    }
    let binding = random()?;
    pending.browser = s.hasher.hash(&binding);
    let ask = UpstreamAsk {
        client_id,
        redirect_uri: zone.url(paths::REDIRECT),
        state: state.clone(),
        scopes,
        verifier: pending.verifier.clone(),
        nonce: pending.login.then(|| pending.nonce.clone()),
        resource: resource.map(|r| r.identifier.clone()),
        sign_in,
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
    Ok(Hop {
        location: browser::with_query(&authorize, &pairs),
        binding,
    })
}

/// Spends the pending hop behind `state` (single use); `None` when unknown or expired.
pub async fn take_pending(
    s: &Services,
    zone: &ZoneEntry,
    state: &str,
) -> Result<Option<Pending>, Failed> {
    let sealed = s
        .store
        .take_upstream_state(&zone.zone.id, &s.hasher.hash(state), Timestamp::now())
        .await
        .map_err(|_| failed("store"))?;
    let Some(sealed) = sealed else {
        return Ok(None);
    };
    s.sealer
        .open(&format!("{}/upstream_state", zone.zone.id), &sealed)
        .ok()
        .and_then(|b| serde_json::from_slice::<Pending>(&b).ok())
        .map(Some)
        .ok_or_else(|| failed("state"))
}

/// Redeems the provider's `code` for the hop: its provider and token response.
pub async fn redeem(
    s: &Services,
    zone: &ZoneEntry,
    pending: &Pending,
    code: &str,
) -> Result<(Provider, serde_json::Value), Failed> {
    let provider = match s
        .store
        .get_provider(&zone.zone.id, &ProviderId::new(&pending.provider_id))
        .await
    {
        Ok(Some(p)) => p,
        _ => return Err(failed("the provider no longer exists")),
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
    let tokens = upstream_token(s, &provider, &form).await.map_err(Failed)?;
    Ok((provider, tokens))
}
