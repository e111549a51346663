//! The browser flows' protocol pieces: which clients may use them (registered user agents and
//! application credentials with redirect URIs), exact redirect-URI matching (any port for
//! loopback redirects, RFC 8252 §7.3), which redirect schemes are acceptable, and the pending
//! authorization request kept while the user signs in.

use latchkey_domain::Timestamp;
use latchkey_domain::model::directory::{Consent, CredentialKind};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{OAuthError, server};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Pending authorization requests live this long (the user has to sign in meanwhile).
pub const REQUEST_TTL_SECONDS: i64 = 15 * 60;
/// Browser sessions last this long.
pub const SESSION_TTL_SECONDS: i64 = 12 * 3600;

/// A client that may start a browser flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BrowserClient {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// Where the end-session endpoint may send the browser after signing out (exact match).
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// No secret: PKCE is mandatory and the code is redeemed with `client_id` alone.
    pub public: bool,
    pub consent_required: bool,
    pub application_id: Option<String>,
    pub user_agent_id: Option<String>,
}

/// Finds the client behind `client_id`: a registered user agent (dynamic registration, or a
/// client metadata document already resolved by `cimd.rs`) or an application credential.
pub async fn client(
    state: &Services,
    zone: &ZoneEntry,
    client_id: &str,
) -> Result<Option<BrowserClient>, OAuthError> {
    let zone_id = &zone.zone.id;
    let registered = client_id.starts_with("ua:");
    // A dynamically registered client (`ua:…`) or a client metadata document's (its URL).
    let agent = if registered || zone.cimd_client(client_id) {
        state
            .store
            .find_user_agent(zone_id, client_id)
            .await
            .map_err(server)?
    } else {
        None
    };
    if let Some(ua) = agent {
        let uris = |member: &str| -> Vec<String> {
            ua.registration
                .as_ref()
                .and_then(|r| r.get(member))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default()
        };
        let (redirect_uris, post_logout_redirect_uris) =
            (uris("redirect_uris"), uris("post_logout_redirect_uris"));
        return Ok(Some(BrowserClient {
            client_id: ua.identifier,
            name: ua.name,
            redirect_uris,
            post_logout_redirect_uris,
            public: true,
            consent_required: true,
            application_id: None,
            user_agent_id: Some(ua.id.into_string()),
        }));
    }
    if registered {
        return Ok(None);
    }
    let Some(cred) = state
        .store
        .find_app_credential_by_client_id(zone_id, client_id)
        .await
        .map_err(server)?
    else {
        return Ok(None);
    };
    let Some(app) = state
        .store
        .get_application(zone_id, &cred.application_id)
        .await
        .map_err(server)?
    else {
        return Ok(None);
    };
    Ok(Some(BrowserClient {
        client_id: cred.identifier,
        name: app.name,
        redirect_uris: app.redirect_uris.unwrap_or_default(),
        post_logout_redirect_uris: app.post_logout_redirect_uris.unwrap_or_default(),
        public: matches!(cred.kind, CredentialKind::Public | CredentialKind::Url),
        consent_required: app.consent == Consent::Required,
        application_id: Some(app.id.into_string()),
        user_agent_id: None,
    }))
}

fn is_loopback(u: &url::Url) -> bool {
    u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
}

/// Exact match, except that a registered loopback `http` redirect accepts any port (RFC 8252
/// §7.3). The rest is compared as text, so no normalization (dot segments, case, default ports)
/// widens the match.
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    let (Ok(r), Ok(q)) = (url::Url::parse(registered), url::Url::parse(requested)) else {
        return false;
    };
    if !is_loopback(&r) || !is_loopback(&q) {
        return false;
    }
    matches!(
        (without_port(registered), without_port(requested)),
        (Some(a), Some(b)) if a == b
    )
}

/// `url` with the `:port` of its authority removed, as text.
fn without_port(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rfind(':') {
        Some(i)
            if !authority[i..].contains(']')
                && authority[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            &authority[..i]
        }
        _ => authority,
    };
    Some(format!("{scheme}://{host}{tail}"))
}

/// Schemes that never name a client's redirection endpoint: script and document schemes a browser
/// would execute or render, local files, and non-HTTP protocols.
const FORBIDDEN_REDIRECT_SCHEMES: &[&str] = &[
    "javascript",
    "vbscript",
    "data",
    "blob",
    "file",
    "filesystem",
    "about",
    "view-source",
    "ftp",
    "mailto",
    "tel",
    "sms",
    "ws",
    "wss",
    "urn",
];

/// Whether `url`'s scheme may receive authorization responses: http(s), or a native app's
/// private-use scheme (RFC 8252 §7.1) — never a script, document or file scheme.
pub fn redirect_scheme(url: &url::Url) -> Result<(), &'static str> {
    if FORBIDDEN_REDIRECT_SCHEMES.contains(&url.scheme()) {
        return Err(
            "this scheme cannot receive authorization responses; use https, loopback http or an app's private-use scheme",
        );
    }
    Ok(())
}

/// What the client asked for at the authorization endpoint, kept while the user signs in.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthRequest {
    pub client: BrowserClient,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub resources: Vec<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub nonce: Option<String>,
    pub prompt: Option<String>,
    /// Keyed hash of the invitation token the sign-in link carried (`invitation=`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invitation: Option<String>,
    /// Where the browser goes once signed in, instead of on to consent and the client: the
    /// zone's own device verification page (a sign-in started there, RFC 8628). Set by the
    /// server, never from the query.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub return_to: Option<String>,
    /// `max_age` (seconds): a web session signed in longer ago signs in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<i64>,
    /// The `sub` of a verified `id_token_hint`: only that user's web session answers without a
    /// new sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint_sub: Option<String>,
    /// `login_hint`: the email the sign-in form starts with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// `dpop_jkt` (RFC 9449 §10): the DPoP key the code must be redeemed with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpop_jkt: Option<String>,
}

/// Loads a pending request and its CSRF token.
pub async fn load_request(
    state: &Services,
    zone: &ZoneEntry,
    id: &str,
) -> Result<Option<(AuthRequest, String)>, OAuthError> {
    let found = state
        .store
        .get_auth_request(&zone.zone.id, id, Timestamp::now())
        .await
        .map_err(server)?;
    Ok(found.and_then(|(params, csrf)| serde_json::from_str(&params).ok().map(|r| (r, csrf))))
}

/// Whether two secrets are equal, compared without revealing where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    latchkey_crypto::keyed_hash::sha256(a.as_bytes())
        == latchkey_crypto::keyed_hash::sha256(b.as_bytes())
}

/// `base` with extra query parameters appended.
pub fn with_query(base: &str, params: &[(&str, &str)]) -> String {
    if params.is_empty() {
        return base.to_owned();
    }
    match url::Url::parse(base) {
        Ok(mut u) => {
            {
                let mut q = u.query_pairs_mut();
                for (k, v) in params {
                    q.append_pair(k, v);
                }
            }
            u.to_string()
        }
        Err(_) => base.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_matching() {
        assert!(redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb/"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb?x=1"
        ));
        assert!(redirect_matches(
            "http://127.0.0.1/callback",
            "http://127.0.0.1:53122/callback"
        ));
        assert!(redirect_matches(
            "http://localhost:3000/cb",
            "http://localhost:4000/cb"
        ));
        assert!(!redirect_matches(
            "http://localhost:3000/cb",
            "http://localhost:4000/other"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example:8443/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1.evil.example/cb"
        ));
        assert!(redirect_matches("http://[::1]/cb", "http://[::1]:8123/cb"));
    }

    /// Found by the redirect property tests (`tests/parsers.rs`): the loopback rule compared
    /// normalized URLs, so dot segments, letter case and user info could differ.
    #[test]
    fn loopback_rule_relaxes_only_the_port() {
        assert!(!redirect_matches(
            "http://127.0.0.1/.",
            "http://127.0.0.1:1/./"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:1/x/../cb"
        ));
        assert!(!redirect_matches(
            "http://localhost/cb",
            "http://LOCALHOST:1/cb"
        ));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://u@127.0.0.1:1/cb"
        ));
    }
}
