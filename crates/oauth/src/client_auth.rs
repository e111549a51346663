//! Client authentication at the token, introspection and revocation endpoints (zone-oauth.md §3):
//! `client_secret_basic` (raw, then form-decoded), `client_secret_post`, and — via
//! `assertion.rs` — `private_key_jwt` and federated jwt-bearer assertions. One method per request.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use latchkey_crypto::keyed_hash::Digest;
use latchkey_domain::model::directory::{AppCredential, Application, CredentialKind};

pub use crate::error::server;

use crate::assertion;
pub use crate::client::Client;
use crate::error::OAuthError;
use crate::requests::ClientParams;
use crate::scoped_cache::Lookup;
use crate::services::Services;
use crate::zones::ZoneEntry;

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the client presented itself.
enum Presented {
    Secret {
        id: String,
        secret: String,
    },
    Assertion {
        assertion: String,
        client_id: Option<String>,
    },
    Nothing,
}

fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

fn presented(form: &ClientParams) -> Result<Presented, OAuthError> {
    let basic = form.authorization.as_deref().and_then(|v| {
        let (scheme, rest) = v.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("basic")
            .then(|| rest.trim().to_owned())
    });
    let assertion = form.client_assertion.as_deref();
    if let Some(encoded) = basic {
        if assertion.is_some() || form.client_secret.is_some() {
            return Err(OAuthError::invalid_request(
                "use one client authentication method",
            ));
        }
        let text = STANDARD
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(OAuthError::invalid_client)?;
        let (id, secret) = text
            .split_once(':')
            .ok_or_else(OAuthError::invalid_client)?;
        if form
            .client_id
            .as_deref()
            .is_some_and(|c| c != id && c != form_decode(id))
        {
            return Err(OAuthError::invalid_request(
                "`client_id` differs from the authenticated client",
            ));
        }
        return Ok(Presented::Secret {
            id: id.to_owned(),
            secret: secret.to_owned(),
        });
    }
    if let Some(a) = assertion {
        if form.client_assertion_type.as_deref() != Some(JWT_BEARER) {
            return Err(OAuthError::invalid_request(format!(
                "`client_assertion_type` must be `{JWT_BEARER}`"
            )));
        }
        return Ok(Presented::Assertion {
            assertion: a.to_owned(),
            client_id: form.client_id.clone(),
        });
    }
    match (form.client_id.as_deref(), form.client_secret.as_deref()) {
        (Some(id), Some(secret)) => Ok(Presented::Secret {
            id: id.to_owned(),
            secret: secret.to_owned(),
        }),
        _ => Ok(Presented::Nothing),
    }
}

/// Authenticates the confidential client of a request; `invalid_client` (401) otherwise.
pub async fn authenticate(
    state: &Services,
    zone: &ZoneEntry,
    form: &ClientParams,
) -> Result<Client, OAuthError> {
    match presented(form)? {
        Presented::Secret { id, secret } => by_secret(state, zone, &id, &secret).await,
        Presented::Assertion {
            assertion,
            client_id,
        } => assertion::authenticate(state, zone, &assertion, client_id.as_deref()).await,
        Presented::Nothing => Err(OAuthError::invalid_client()),
    }
}

/// `client_secret_basic`/`_post` against password credentials. The raw values are tried first
/// (the Keycard SDK does not form-encode them), then their form-decoded forms.
async fn by_secret(
    state: &Services,
    zone: &ZoneEntry,
    id: &str,
    secret: &str,
) -> Result<Client, OAuthError> {
    let candidates = [
        (id.to_owned(), secret.to_owned()),
        (form_decode(id), form_decode(secret)),
    ];
    for (i, (id, secret)) in candidates.iter().enumerate() {
        if i == 1 && candidates[0] == candidates[1] {
            break;
        }
        let found = cached_client(state, zone, id).await?;
        let Some(pair) = found.filter(|p| p.0.kind == CredentialKind::Password) else {
            // Same cost whether or not the client exists.
            let _ = state.hasher.hash(secret);
            continue;
        };
        if password_matches(state, &pair.0, secret) {
            return Ok(Client::new(pair));
        }
    }
    Err(OAuthError::invalid_client())
}

/// Whether `secret` is the password of `credential` (keyed hash, compared in constant time).
fn password_matches(state: &Services, credential: &AppCredential, secret: &str) -> bool {
    digest(credential).is_some_and(|d| state.hasher.proves(secret, &d))
}

/// The stored keyed hash of a password credential, decoded (`None` for any other credential).
fn digest(credential: &AppCredential) -> Option<Digest> {
    if credential.kind != CredentialKind::Password {
        return None;
    }
    credential.secret_hash.as_deref().and_then(Digest::of)
}

/// The client id and secret of a request that authenticates with `client_secret_basic` or
/// `_post` (None for any other method); malformed credentials are the error
/// [`authenticate`] answers.
pub fn presented_secret(form: &ClientParams) -> Result<Option<(String, String)>, OAuthError> {
    Ok(match presented(form)? {
        Presented::Secret { id, secret } => Some((id, secret)),
        _ => None,
    })
}

/// Whether `id`, as a request presents it, names `client`'s credential exactly (a client id that
/// form-decoding leaves alone, so that [`authenticate`] could only have found this credential).
pub fn names(client: &Client, id: &str) -> bool {
    client.credential().identifier == id && form_decode(id) == id
}

/// What proves `client` when it is a password credential: its stored keyed hash, decoded
/// (`None` for any other credential).
pub fn proof(client: &Client) -> Option<Digest> {
    digest(client.credential())
}

/// Whether `secret`, as a request presents it, proves the password credential whose [`proof`]
/// is `digest`: what [`authenticate`] checks for a client id that [`names`] it (the raw secret,
/// then its form-decoded form).
pub fn proves(state: &Services, digest: &Digest, secret: &str) -> bool {
    if state.hasher.proves(secret, digest) {
        return true;
    }
    let decoded = form_decode(secret);
    decoded != secret && state.hasher.proves(&decoded, digest)
}

/// The credential with client id `id` (any credential type) and its application, through the
/// directory cache.
pub async fn cached_client(
    state: &Services,
    zone: &ZoneEntry,
    id: &str,
) -> Result<Option<std::sync::Arc<(AppCredential, Application)>>, OAuthError> {
    let key = (zone.zone.id.clone(), id.to_owned());
    let ticket = match state.directory.clients.get(&key) {
        Lookup::Hit(hit) => return Ok(hit),
        Lookup::Miss(ticket) => ticket,
    };
    let found = match state
        .store
        .find_app_credential_by_client_id(&zone.zone.id, id)
        .await
        .map_err(server)?
    {
        Some(cred) => {
            let app = state
                .store
                .get_application(&cred.zone_id, &cred.application_id)
                .await
                .map_err(server)?;
            app.map(|a| std::sync::Arc::new((cred, a)))
        }
        None => None,
    };
    state.directory.clients.insert(key, found.clone(), ticket);
    Ok(found)
}
