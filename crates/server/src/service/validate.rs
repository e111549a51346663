//! Field validators shared by the zone-directory services: URLs, identifiers, metadata, redirect
//! URIs, scopes and string lists. Each error names the field it rejects.

use latchkey_domain::model::directory::Metadata;
use latchkey_domain::{Patch, ValidationError, text};

use crate::api::directory::MetadataPatch;
use url::Url;

pub const URL_MAX: usize = 2048;
const LIST_MAX: usize = 100;
const SCOPE_MAX: usize = 255;

/// An absolute `http`/`https` URL of at most 2048 characters.
pub fn http_url(field: &str, value: &str) -> Result<(), ValidationError> {
    text::check_text(field, value, 1, URL_MAX)?;
    let url = Url::parse(value).map_err(|_| {
        ValidationError::new(field, format!("`{}` is not an absolute URL", short(value)))
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(ValidationError::new(
            field,
            format!("`{}` must be an http or https URL", short(value)),
        ));
    }
    Ok(())
}

/// An `https` URL, or `http` on a loopback host (for local development).
pub fn https_or_loopback(field: &str, value: &str) -> Result<(), ValidationError> {
    http_url(field, value)?;
    let url = Url::parse(value).map_err(|_| ValidationError::new(field, "not a URL"))?;
    let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    if url.scheme() == "http" && !loopback {
        return Err(ValidationError::new(
            field,
            format!("`{}` must use https (http only on localhost)", short(value)),
        ));
    }
    Ok(())
}

/// A URL the server fetches, or sends browsers to, on a tenant's behalf: `https`, or `http` on a
/// loopback or private address when the operator allows private fetches (local development).
pub fn outbound_url(field: &str, value: &str, allow_private: bool) -> Result<(), ValidationError> {
    use latchkey_oauth::address::{AddressClass, classify};
    use std::net::IpAddr;
    http_url(field, value)?;
    let url = Url::parse(value).map_err(|_| ValidationError::new(field, "not a URL"))?;
    if url.scheme() == "https" {
        return Ok(());
    }
    let local = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => classify(IpAddr::V4(ip)) == AddressClass::Private,
        Some(url::Host::Ipv6(ip)) => classify(IpAddr::V6(ip)) == AddressClass::Private,
        None => false,
    };
    if allow_private && local {
        return Ok(());
    }
    Err(ValidationError::new(
        field,
        format!(
            "`{}` must use https (http only on a loopback or private address, when the server allows private fetches)",
            short(value)
        ),
    ))
}

/// Any absolute URI (any scheme), as used for identifiers such as `https://…` or `urn:…`.
pub fn absolute_uri(field: &str, value: &str) -> Result<(), ValidationError> {
    text::check_text(field, value, 1, text::IDENTIFIER_MAX)?;
    Url::parse(value).map(|_| ()).map_err(|_| {
        ValidationError::new(field, format!("`{}` is not an absolute URI", short(value)))
    })
}

/// A resource/application/provider identifier: 1–2048 characters, no HTML or control characters.
pub fn identifier(field: &str, value: String) -> Result<String, ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    text::check_text(field, &value, 1, text::IDENTIFIER_MAX)?;
    Ok(value)
}

/// Metadata links must be http(s) URLs; an empty object means no metadata.
pub fn metadata(field: &str, m: Metadata) -> Result<Option<Metadata>, ValidationError> {
    if let Some(u) = &m.docs_url {
        http_url(&format!("{field}.docs_url"), u)?;
    }
    if let Some(u) = &m.icon_url {
        http_url(&format!("{field}.icon_url"), u)?;
    }
    Ok((!m.is_empty()).then_some(m))
}

/// Redirect URIs: absolute, no fragment (RFC 6749 §3.1.2), no script/document/file schemes;
/// private-use schemes allowed for native apps. An empty list means none.
pub fn redirect_uris(
    field: &str,
    uris: Vec<String>,
) -> Result<Option<Vec<String>>, ValidationError> {
    list_len(field, uris.len())?;
    for (i, u) in uris.iter().enumerate() {
        let f = format!("{field}[{i}]");
        absolute_uri(&f, u)?;
        if u.contains('#') {
            return Err(ValidationError::new(f, "must not contain a fragment"));
        }
        if let Ok(url) = Url::parse(u)
            && let Err(why) = latchkey_oauth::browser::redirect_scheme(&url)
        {
            return Err(ValidationError::new(f, why));
        }
    }
    Ok((!uris.is_empty()).then_some(uris))
}

/// OAuth scope tokens (RFC 6749 §3.3): printable ASCII without spaces, quotes or backslashes.
pub fn scopes(field: &str, scopes: Vec<String>) -> Result<Vec<String>, ValidationError> {
    list_len(field, scopes.len())?;
    for (i, s) in scopes.iter().enumerate() {
        let ok = !s.is_empty()
            && s.len() <= SCOPE_MAX
            && s.bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\');
        if !ok {
            return Err(ValidationError::new(
                format!("{field}[{i}]"),
                format!("`{}` is not a valid scope", short(s)),
            ));
        }
    }
    Ok(scopes)
}

/// A list of short plain strings (at most 100 entries of at most 255 characters).
pub fn strings(field: &str, values: &[String]) -> Result<(), ValidationError> {
    list_len(field, values.len())?;
    for (i, v) in values.iter().enumerate() {
        text::check_text(&format!("{field}[{i}]"), v, 1, SCOPE_MAX)?;
    }
    Ok(())
}

fn list_len(field: &str, n: usize) -> Result<(), ValidationError> {
    if n > LIST_MAX {
        return Err(ValidationError::new(
            field,
            format!("at most {LIST_MAX} entries"),
        ));
    }
    Ok(())
}

fn short(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Applies a metadata patch: `null` or `{}` wipes it, sub-fields are tri-state.
pub fn patch_metadata(
    current: Option<Metadata>,
    patch: Patch<MetadataPatch>,
) -> Result<Option<Metadata>, ValidationError> {
    Ok(match patch {
        Patch::Absent => current,
        Patch::Null => None,
        Patch::Value(p) if p.docs_url.is_absent() && p.icon_url.is_absent() => None,
        Patch::Value(p) => {
            let mut m = current.unwrap_or_default();
            m.docs_url = p.docs_url.apply(m.docs_url);
            m.icon_url = p.icon_url.apply(m.icon_url);
            metadata("metadata", m)?
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_scopes() {
        assert!(http_url("u", "https://example.com/x").is_ok());
        assert!(http_url("u", "not a url").is_err());
        assert!(http_url("u", "ftp://x").is_err());
        assert!(https_or_loopback("u", "http://127.0.0.1:9/jwks").is_ok());
        assert!(https_or_loopback("u", "http://example.com/jwks").is_err());
        assert!(outbound_url("u", "https://idp.example.com", false).is_ok());
        assert!(outbound_url("u", "http://127.0.0.1:9", true).is_ok());
        assert!(outbound_url("u", "http://10.1.2.3/x", true).is_ok());
        assert!(outbound_url("u", "http://127.0.0.1:9", false).is_err());
        assert!(outbound_url("u", "http://idp.example.com", true).is_err());
        assert!(outbound_url("u", "ftp://idp.example.com", true).is_err());
        assert!(absolute_uri("u", "urn:example:api").is_ok());
        assert!(redirect_uris("r", vec!["https://a/cb#x".into()]).is_err());
        assert_eq!(redirect_uris("r", vec![]).unwrap(), None);
        assert!(scopes("s", vec!["read:all".into()]).is_ok());
        assert!(scopes("s", vec!["two words".into()]).is_err());
    }
}
