//! Pushed authorization requests (RFC 9126). A client posts its authorization request to
//! `{issuer}/oauth/2/par`, authenticated as at the token endpoint (a public client by its
//! `client_id`); the request is checked exactly as the authorization endpoint checks it, with
//! errors answered in JSON, and kept for [`LIFETIME_SECONDS`] under a keyed hash of a random
//! handle. The browser then brings only `client_id` and the `request_uri` to the authorization
//! endpoint, which takes the request once (atomically), for that client only ([`take`]).

use latchkey_domain::Timestamp;
use serde::Serialize;

use crate::authorize::{self, AuthorizeQuery};
use crate::browser::AuthRequest;
use crate::code_grant::grant_client;
use crate::error::{OAuthError, server};
use crate::requests::PushedRequest;
use crate::services::Services;
use crate::zones::ZoneEntry;

/// The prefix of every `request_uri` (RFC 9126 §2.2).
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the browser.
pub const LIFETIME_SECONDS: i64 = 60;

/// The pushed authorization response (RFC 9126 §2.2).
#[derive(Debug, Clone, Serialize)]
pub struct Pushed {
    pub request_uri: String,
    pub expires_in: i64,
}

/// `POST {issuer}/oauth/2/par`: authenticates the client, checks the request, keeps it.
pub async fn push(
    s: &Services,
    zone: &ZoneEntry,
    request: PushedRequest,
) -> Result<Pushed, OAuthError> {
    let client = grant_client(s, zone, &request.client).await?;
    let pairs = request.params.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    let q = AuthorizeQuery::parse(pairs).map_err(OAuthError::invalid_request)?;
    if q.request_uri.is_some() {
        return Err(OAuthError::invalid_request(
            "a pushed request cannot itself carry `request_uri`",
        ));
    }
    if q.client_id
        .as_deref()
        .is_some_and(|id| id != client.client_id)
    {
        return Err(OAuthError::invalid_request(
            "`client_id` is not the client that authenticated",
        ));
    }
    let redirect_uri = authorize::redirect_uri(&client, q.redirect_uri.as_deref())
        .map_err(OAuthError::invalid_request)?;
    let req = authorize::build_request(s, zone, q, client, redirect_uri)
        .await
        .map_err(|(error, description)| OAuthError::bad(error, description))?;
    let fail = |_| OAuthError::server_error();
    let handle = latchkey_crypto::random::secret("").map_err(fail)?;
    let csrf = latchkey_crypto::random::secret("").map_err(fail)?;
    let params = serde_json::to_string(&req).map_err(|_| OAuthError::server_error())?;
    let expires = Timestamp::now().plus_seconds(LIFETIME_SECONDS);
    s.store
        .put_auth_request(
            &zone.zone.id,
            &stored_id(s, &req.client.client_id, &handle),
            &params,
            &csrf,
            expires,
        )
        .await
        .map_err(server)?;
    Ok(Pushed {
        request_uri: format!("{REQUEST_URI_PREFIX}{handle}"),
        expires_in: LIFETIME_SECONDS,
    })
}

/// The request `client_id` pushed under `request_uri`, unexpired; spent by this call. A
/// `request_uri` unknown, expired, spent or of another client is `None` (and another client's
/// attempt spends nothing: the stored id binds the handle to the client that pushed it).
pub async fn take(
    s: &Services,
    zone: &ZoneEntry,
    client_id: &str,
    request_uri: &str,
) -> Result<Option<AuthRequest>, OAuthError> {
    let Some(handle) = request_uri.strip_prefix(REQUEST_URI_PREFIX) else {
        return Ok(None);
    };
    let Some((params, _)) = s
        .store
        .take_auth_request(
            &zone.zone.id,
            &stored_id(s, client_id, handle),
            Timestamp::now(),
        )
        .await
        .map_err(server)?
    else {
        return Ok(None);
    };
    Ok(serde_json::from_str::<AuthRequest>(&params)
        .ok()
        .filter(|req| req.client.client_id == client_id))
}

/// Where a pushed request is kept: a keyed hash of the client and the handle, apart from pending
/// sign-ins' ids.
fn stored_id(s: &Services, client_id: &str, handle: &str) -> String {
    format!(
        "par_{}",
        s.hasher
            .hash(&format!("pushed-request:{client_id}\n{handle}"))
    )
}
