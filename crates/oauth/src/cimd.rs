//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; Keycard rule B40).
//! In a zone with `protocols.oauth2.cimd.enabled`, a `client_id` that is an https URL allowed by
//! `allowed_client_ids` names a public client described by the JSON document at that URL. When a
//! browser flow starts ([`resolve`]), the zone fetches the document (through the outbound fetcher:
//! its address policy, size and time limits, and a short cache), checks it as it checks a dynamic
//! registration, and keeps the client as a user agent whose identifier is the URL: made once (at
//! the registration rate of the source address), its registration replaced when the document
//! changes. Every endpoint then finds the client as it finds a registered one.

use std::net::IpAddr;

use latchkey_domain::model::identity::UserAgent;
use serde_json::Value;

use crate::registration::{Registration, user_agent};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// Why a metadata-document client cannot start a flow: a sentence for the error page.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    Bad(String),
    /// Too many new clients from this address.
    Busy,
    Failed,
}

/// Makes sure the client behind `client_id` is kept and current, when it is a metadata-document
/// client of `zone`; nothing otherwise (the caller goes on to find the client as usual).
pub async fn resolve(
    s: &Services,
    zone: &ZoneEntry,
    client_id: &str,
    source: IpAddr,
) -> Result<(), Refusal> {
    if !zone.cimd_client(client_id) {
        return Ok(());
    }
    if !allowed(&zone.zone.cimd.allowed_client_ids, client_id) {
        return Err(Refusal::Bad(
            "This client_id may not use a client metadata document in this zone.".into(),
        ));
    }
    check_url(client_id).map_err(|why| Refusal::Bad(format!("The client_id URL {why}.")))?;
    let doc = s.fetcher.json(client_id).await.map_err(|e| {
        Refusal::Bad(format!(
            "The client metadata document could not be read: {e}."
        ))
    })?;
    let (name, registration) = document(&doc, client_id)?;
    let kept = s
        .store
        .find_user_agent(&zone.zone.id, client_id)
        .await
        .map_err(|_| Refusal::Failed)?;
    match kept {
        Some(ua) if ua.registration.as_ref() == Some(&registration) && ua.name == name => Ok(()),
        Some(ua) => refresh(s, zone, &ua, &name, &registration).await,
        None => {
            if !s.registrations.allow(source) {
                return Err(Refusal::Busy);
            }
            let agent = user_agent(zone, client_id.to_owned(), name, registration)
                .map_err(|_| Refusal::Failed)?;
            match s.store.insert_user_agent(agent).await {
                // (another request made it meanwhile)
                Ok(_) | Err(latchkey_domain::StoreError::Conflict(_)) => Ok(()),
                Err(_) => Err(Refusal::Failed),
            }
        }
    }
}

async fn refresh(
    s: &Services,
    zone: &ZoneEntry,
    ua: &UserAgent,
    name: &str,
    registration: &Value,
) -> Result<(), Refusal> {
    s.store
        .update_user_agent_registration(
            &zone.zone.id,
            &ua.id,
            name,
            registration,
            latchkey_domain::Timestamp::now(),
        )
        .await
        .map(|_| ())
        .map_err(|_| Refusal::Failed)
}

/// The client's name (with its host, so a page cannot pass for another site) and registration,
/// from a document that names itself and describes a public client.
fn document(doc: &Value, client_id: &str) -> Result<(String, Value), Refusal> {
    let bad = |why: &str| Refusal::Bad(format!("The client metadata document {why}."));
    let obj = doc.as_object().ok_or_else(|| bad("is not a JSON object"))?;
    if obj.get("client_id").and_then(Value::as_str) != Some(client_id) {
        return Err(bad("does not name its own URL as `client_id`"));
    }
    if obj.contains_key("client_secret") || obj.contains_key("client_secret_expires_at") {
        return Err(bad("holds a client secret"));
    }
    let body = serde_json::to_vec(doc).map_err(|_| Refusal::Failed)?;
    let (name, mut registration) = Registration::parse(&body)
        .and_then(|r| r.document())
        .map_err(|e| bad(&format!("is not acceptable: {}", e.description)))?;
    let host = url::Url::parse(client_id)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let name = format!("{name} ({host})");
    registration["client_name"] = Value::String(name.clone());
    registration["client_id"] = Value::String(client_id.to_owned());
    Ok((name, registration))
}

/// A client id URL: https (http on a loopback host only), with a path, no fragment, user,
/// password, or dot segments; at most 2,048 bytes.
fn check_url(client_id: &str) -> Result<(), &'static str> {
    if client_id.len() > 2048 {
        return Err("is too long");
    }
    let u = url::Url::parse(client_id).map_err(|_| "is not a URL")?;
    let loopback = matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    match u.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err("must use https"),
    }
    if u.fragment().is_some() || !u.username().is_empty() || u.password().is_some() {
        return Err("must not have a fragment, a user or a password");
    }
    let path = client_id
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or_default();
    let path = path.split(['?', '#']).next().unwrap_or_default();
    if path.len() <= 1 || path.split('/').any(|seg| seg == "." || seg == "..") {
        return Err("must have a path without dot segments");
    }
    Ok(())
}

/// Whether `allowed_client_ids` admits `client_id`: `*`; the exact URL; or an origin whose host
/// starts with one wildcard label (`*.`, or `_.` as the SDK text prints it) standing for exactly
/// one label, with any path.
pub fn allowed(patterns: &[String], client_id: &str) -> bool {
    let Ok(u) = url::Url::parse(client_id) else {
        return false;
    };
    patterns.iter().any(|p| {
        p == "*"
            || p == client_id
            || wildcard_origin(p).is_some_and(|(scheme, suffix, port)| {
                u.scheme() == scheme
                    && u.port_or_known_default() == port
                    && u.host_str()
                        .and_then(|h| h.strip_suffix(suffix.as_str()))
                        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
            })
    })
}

/// `(scheme, ".rest.of.host", port)` of a wildcard origin pattern.
fn wildcard_origin(pattern: &str) -> Option<(String, String, Option<u16>)> {
    let (scheme, rest) = pattern.split_once("://")?;
    let rest = rest
        .strip_prefix("*.")
        .or_else(|| rest.strip_prefix("_."))?;
    let u = url::Url::parse(&format!("{scheme}://x.{rest}")).ok()?;
    let host = u.host_str()?.strip_prefix('x')?.to_owned();
    Some((scheme.to_owned(), host, u.port_or_known_default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(patterns: &[&str], id: &str) -> bool {
        let p: Vec<String> = patterns.iter().map(|s| (*s).to_owned()).collect();
        allowed(&p, id)
    }

    #[test]
    fn attack_only_the_listed_ids_and_one_label_under_a_wildcard_are_allowed() {
        assert!(allows(&["*"], "https://anything.example/c"));
        assert!(allows(
            &["https://app.example.org/c.json"],
            "https://app.example.org/c.json"
        ));
        assert!(!allows(
            &["https://app.example.org/c.json"],
            "https://app.example.org/c.json?x"
        ));
        assert!(!allows(
            &["https://app.example.org/c.json"],
            "https://app.example.org/other"
        ));
        for wild in ["https://*.example.com", "https://_.example.com"] {
            assert!(allows(&[wild], "https://app.example.com/client"), "{wild}");
            assert!(!allows(&[wild], "https://a.b.example.com/client"), "{wild}");
            assert!(!allows(&[wild], "https://example.com/client"), "{wild}");
            assert!(
                !allows(&[wild], "https://app.example.com.evil.net/client"),
                "{wild}"
            );
            assert!(!allows(&[wild], "https://appexample.com/client"), "{wild}");
            assert!(!allows(&[wild], "http://app.example.com/client"), "{wild}");
            assert!(
                !allows(&[wild], "https://app.example.com:8443/client"),
                "{wild}"
            );
        }
        assert!(!allows(&[], "https://app.example.com/client"));
    }

    #[test]
    fn attack_a_client_id_url_must_be_plain_https_with_a_path() {
        assert!(check_url("https://app.example.com/client.json").is_ok());
        assert!(check_url("http://127.0.0.1:8080/client").is_ok());
        for bad in [
            "http://app.example.com/client",
            "https://app.example.com",
            "https://app.example.com/",
            "https://app.example.com/a/../client",
            "https://app.example.com/./client",
            "https://user:pw@app.example.com/client",
            "https://app.example.com/client#x",
            "javascript://app.example.com/%0aalert(1)",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn attack_a_document_must_name_itself_and_hold_no_secret() {
        let id = "https://app.example.com/client";
        let good = serde_json::json!({"client_id": id, "client_name": "App",
            "redirect_uris": ["https://app.example.com/cb"]});
        let (name, reg) = document(&good, id).expect("a good document");
        assert_eq!(name, "App (app.example.com)");
        assert_eq!(reg["client_id"], id);
        assert_eq!(reg["token_endpoint_auth_method"], "none");
        let mut other = good.clone();
        other["client_id"] = "https://evil.example/client".into();
        let mut secret = good.clone();
        secret["client_secret"] = "s".into();
        let mut confidential = good.clone();
        confidential["token_endpoint_auth_method"] = "client_secret_basic".into();
        let mut open = good.clone();
        open["redirect_uris"] = serde_json::json!(["http://evil.example/cb"]);
        for doc in [other, secret, confidential, open, serde_json::json!([])] {
            assert!(document(&doc, id).is_err(), "{doc}");
        }
    }
}
