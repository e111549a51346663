//! `POST {issuer}/oauth/2/registration`: dynamic client registration (RFC 7591) for public
//! clients. JSON `null` members count as absent and unknown members are ignored; each
//! registration becomes a user agent (`ua:` + SHA-256) visible through the management API.
//! Registrations are rate-limited per source address. The HTTP layer calls [`admit`], parses the
//! body into a [`Registration`] and hands it to [`register`].

use std::net::IpAddr;

use http::StatusCode;
use latchkey_domain::Timestamp;
use latchkey_domain::id::UserAgentId;
use latchkey_domain::model::identity::UserAgent;
use latchkey_domain::text;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::OAuthError;
use crate::services::Services;
use crate::zones::ZoneEntry;

const GRANTS: &[&str] = &[
    "authorization_code",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    crate::requests::DEVICE_CODE,
];

/// A registration document (RFC 7591 §2), within its size bounds.
#[derive(Debug, Deserialize)]
pub struct Registration {
    redirect_uris: Option<Vec<String>>,
    post_logout_redirect_uris: Option<Vec<String>>,
    client_name: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    token_endpoint_auth_method: Option<String>,
    scope: Option<String>,
}

fn metadata_error(description: impl Into<String>) -> OAuthError {
    OAuthError::bad("invalid_client_metadata", description)
}

/// Redirect URIs: absolute, no fragment; `http` only on loopback hosts (RFC 8252), any port.
fn check_redirect(member: &str, uri: &str) -> Result<(), OAuthError> {
    let bad = |why: &str| {
        OAuthError::bad(
            "invalid_redirect_uri",
            format!(
                "`{member}`: `{}`: {why}",
                uri.chars().take(200).collect::<String>()
            ),
        )
    };
    if uri.len() > 2048 {
        return Err(bad("too long"));
    }
    let url = url::Url::parse(uri).map_err(|_| bad("not an absolute URI"))?;
    if url.fragment().is_some() {
        return Err(bad("must not contain a fragment"));
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")) => Ok(()),
        "http" => Err(bad("http is allowed only on loopback hosts")),
        _ => crate::browser::redirect_scheme(&url).map_err(bad),
    }
}

/// At most 20 URIs in `member`, each acceptable as a redirect.
fn check_redirects(member: &str, uris: &[String]) -> Result<(), OAuthError> {
    if uris.len() > 20 {
        return Err(OAuthError::bad(
            "invalid_redirect_uri",
            format!("at most 20 URIs in `{member}`"),
        ));
    }
    uris.iter().try_for_each(|u| check_redirect(member, u))
}

/// Largest registration document accepted (bytes).
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
/// Longest string accepted in any member of a registration, known or not (bytes).
pub const MAX_FIELD_BYTES: usize = 2048;

impl Registration {
    /// Parses a registration within its size bounds: the document, and every string in it.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(metadata_error(format!(
                "the registration is larger than {MAX_DOCUMENT_BYTES} bytes"
            )));
        }
        let doc: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| metadata_error(format!("malformed registration: {e}")))?;
        if let Some(obj) = doc.as_object() {
            for (name, value) in obj {
                if longest_string(value) > MAX_FIELD_BYTES {
                    return Err(metadata_error(format!(
                        "`{}` is longer than {MAX_FIELD_BYTES} bytes",
                        name.chars().take(40).collect::<String>()
                    )));
                }
            }
        }
        serde_json::from_value(doc)
            .map_err(|e| metadata_error(format!("malformed registration: {e}")))
    }
}

/// The longest string (or object key) anywhere in `v`.
fn longest_string(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::String(s) => s.len(),
        Value::Array(a) => a.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(o) => o
            .iter()
            .map(|(k, v)| k.len().max(longest_string(v)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

/// A registration's metadata with defaults applied, every member checked.
struct Checked {
    grant_types: Vec<String>,
    response_types: Vec<String>,
    redirect_uris: Vec<String>,
    post_logout_redirect_uris: Vec<String>,
    name: String,
}

impl Registration {
    /// Applies the defaults (RFC 7591 §2) and checks every member a public client may set.
    fn checked(&self) -> Result<Checked, OAuthError> {
        let req = self;
        let grant_types = req
            .grant_types
            .clone()
            .unwrap_or_else(|| vec!["authorization_code".to_owned()]);
        if let Some(g) = grant_types.iter().find(|g| !GRANTS.contains(&g.as_str())) {
            return Err(metadata_error(format!(
                "grant type `{g}` is not available to registered clients"
            )));
        }
        let response_types = req
            .response_types
            .clone()
            .unwrap_or_else(|| vec!["code".to_owned()]);
        if response_types.iter().any(|r| r != "code") {
            return Err(metadata_error("only the `code` response type is supported"));
        }
        if req
            .token_endpoint_auth_method
            .as_deref()
            .is_some_and(|m| m != "none")
        {
            return Err(metadata_error(
                "registered clients are public: `token_endpoint_auth_method` must be `none`",
            ));
        }
        let redirect_uris = req.redirect_uris.clone().unwrap_or_default();
        if redirect_uris.is_empty() && grant_types.iter().any(|g| g == "authorization_code") {
            return Err(OAuthError::bad(
                "invalid_redirect_uri",
                "`redirect_uris` is required",
            ));
        }
        check_redirects("redirect_uris", &redirect_uris)?;
        let post_logout_redirect_uris = req.post_logout_redirect_uris.clone().unwrap_or_default();
        check_redirects("post_logout_redirect_uris", &post_logout_redirect_uris)?;
        let name = req
            .client_name
            .clone()
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| "Unnamed client".to_owned());
        text::check_text("client_name", &name, 1, 255)
            .map_err(|e| metadata_error(e.to_string()))?;
        Ok(Checked {
            grant_types,
            response_types,
            redirect_uris,
            post_logout_redirect_uris,
            name,
        })
    }
}

/// Whether `zone` takes a registration from `source` now: DCR enabled, and the address under
/// its rate.
pub fn admit(s: &Services, zone: &ZoneEntry, source: IpAddr) -> Result<(), OAuthError> {
    if !zone.zone.dcr_enabled {
        let mut e = OAuthError::bad(
            "access_denied",
            "dynamic client registration is disabled in this zone",
        );
        e.status = StatusCode::FORBIDDEN;
        return Err(e);
    }
    if !s.registrations.allow(source) {
        let mut e = OAuthError::bad(
            "slow_down",
            "too many registrations from this address; try again in a minute",
        );
        e.status = StatusCode::TOO_MANY_REQUESTS;
        return Err(e);
    }
    Ok(())
}

/// Registers a public client as a user agent; answers the client information response body.
pub async fn register(
    s: &Services,
    zone: &ZoneEntry,
    req: Registration,
) -> Result<Value, OAuthError> {
    let mut seed = [0u8; 32];
    latchkey_crypto::random::fill(&mut seed).map_err(|_| OAuthError::server_error())?;
    let identifier = format!(
        "ua:{}",
        latchkey_crypto::keyed_hash::hex(&latchkey_crypto::keyed_hash::sha256(&seed))
    );
    let (name, registration) = req.document()?;
    let agent = user_agent(zone, identifier.clone(), name, registration.clone())?;
    let issued_at = agent.created_at.millis() / 1000;
    s.store
        .insert_user_agent(agent)
        .await
        .map_err(crate::error::server)?;
    let mut body = registration;
    body["client_id"] = json!(identifier);
    body["client_id_issued_at"] = json!(issued_at);
    Ok(body)
}

impl Registration {
    /// The client's name and the registration as kept (RFC 7591 metadata, defaults applied),
    /// once every member is checked.
    pub fn document(&self) -> Result<(String, Value), OAuthError> {
        let Checked {
            grant_types,
            response_types,
            redirect_uris,
            post_logout_redirect_uris,
            name,
        } = self.checked()?;
        let mut doc = json!({"redirect_uris": redirect_uris, "grant_types": grant_types,
            "response_types": response_types, "token_endpoint_auth_method": "none",
            "client_name": name});
        if let Some(scope) = &self.scope {
            doc["scope"] = json!(scope);
        }
        if !post_logout_redirect_uris.is_empty() {
            doc["post_logout_redirect_uris"] = json!(post_logout_redirect_uris);
        }
        Ok((name, doc))
    }
}

/// A new user agent (a self-registered public client) of `zone`.
pub fn user_agent(
    zone: &ZoneEntry,
    identifier: String,
    name: String,
    registration: Value,
) -> Result<UserAgent, OAuthError> {
    let now = Timestamp::now();
    Ok(UserAgent {
        zone_id: zone.zone.id.clone(),
        id: UserAgentId::new(
            latchkey_crypto::random::id().map_err(|_| OAuthError::server_error())?,
        ),
        organization_id: zone.zone.organization_id.clone(),
        slug: text::slugify(&name, "client"),
        identifier,
        name,
        registration: Some(registration),
        created_at: now,
        updated_at: now,
    })
}
