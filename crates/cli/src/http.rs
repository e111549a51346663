//! HTTP to a Latchkey server: JSON calls on the management API with a bearer, form posts and
//! document fetches for OAuth, and the mapping of error responses (`{message, code, status}` or
//! `{error, error_description}`) and transport failures to [`CliError`].

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{Method, Response};
use serde_json::Value;

use crate::error::{CliError, CliResult};

/// A client for one server.
#[derive(Clone)]
pub struct Http {
    client: reqwest::Client,
}

impl Http {
    pub fn new() -> CliResult<Self> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("latchkey-cli/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CliError::Other(format!("cannot start the HTTP client: {e}")))?;
        Ok(Self { client })
    }

    /// `method url` with an optional JSON body and bearer; the JSON answer (None for an empty
    /// body), or the error the server gave.
    pub async fn json(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<&Value>,
    ) -> CliResult<Option<Value>> {
        let mut req = self
            .client
            .request(method, url)
            .header(ACCEPT, "application/json");
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        if let Some(body) = body {
            req = req
                .header(CONTENT_TYPE, "application/json")
                .body(body.to_string());
        }
        let res = req.send().await.map_err(|e| transport(url, &e))?;
        read(url, res).await
    }

    /// A GET of a public JSON document (discovery metadata).
    pub async fn document(&self, url: &str) -> CliResult<Value> {
        self.json(Method::GET, url, None, None)
            .await?
            .ok_or_else(|| CliError::Other(format!("`{url}` answered with no document")))
    }

    /// A form POST (token, device authorization, revocation endpoints), with HTTP Basic client
    /// authentication when `basic` is given.
    pub async fn form(
        &self,
        url: &str,
        pairs: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> CliResult<Option<Value>> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        let mut req = self
            .client
            .post(url)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some((id, secret)) = basic {
            req = req.header(AUTHORIZATION, basic_auth(id, secret));
        }
        let res = req.send().await.map_err(|e| transport(url, &e))?;
        read(url, res).await
    }
}

/// RFC 6749 §2.3.1: both parts form-encoded, then Base64.
fn basic_auth(id: &str, secret: &str) -> String {
    use base64::Engine;
    let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// A request that got no answer: the innermost cause says most (`Connection refused`, …).
fn transport(url: &str, e: &reqwest::Error) -> CliError {
    let mut reason = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        reason = s.to_string();
        source = s.source();
    }
    if e.is_timeout() {
        reason = format!("timed out ({reason})");
    }
    CliError::Unreachable {
        url: url.to_owned(),
        reason,
    }
}

async fn read(url: &str, res: Response) -> CliResult<Option<Value>> {
    let status = res.status().as_u16();
    let bytes = res.bytes().await.map_err(|e| transport(url, &e))?;
    let parsed: Option<Value> = if bytes.is_empty() {
        None
    } else {
        serde_json::from_slice(&bytes).ok()
    };
    if (200..300).contains(&status) {
        if !bytes.is_empty() && parsed.is_none() {
            return Err(CliError::Other(format!(
                "`{url}` answered HTTP {status} with a body that is not JSON"
            )));
        }
        return Ok(parsed);
    }
    Err(error_from(status, parsed.as_ref(), &bytes))
}

/// The error of a non-2xx answer: a management API body, an OAuth body, or the bare status.
pub fn error_from(status: u16, body: Option<&Value>, raw: &[u8]) -> CliError {
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    if let Some(v) = body {
        if let (Some(message), code) = (text(v, "message"), text(v, "code")) {
            return CliError::Api {
                status,
                code: code.unwrap_or_else(|| status.to_string()),
                message,
            };
        }
        if let Some(error) = text(v, "error") {
            return CliError::OAuth {
                status,
                description: text(v, "error_description").unwrap_or_else(|| error.clone()),
                error,
            };
        }
    }
    let snippet: String = String::from_utf8_lossy(raw).chars().take(200).collect();
    CliError::Api {
        status,
        code: status.to_string(),
        message: if snippet.trim().is_empty() {
            format!("the server answered HTTP {status}")
        } else {
            snippet.trim().to_owned()
        },
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn error_bodies_of_both_families_are_read() {
        let api = error_from(
            409,
            Some(&json!({"message": "slug taken", "code": "conflict", "status": 409})),
            b"",
        );
        assert_eq!(api.to_string(), "slug taken (code `conflict`, HTTP 409)");
        let oauth = error_from(
            400,
            Some(&json!({"error": "invalid_grant", "error_description": "expired"})),
            b"",
        );
        assert_eq!(
            oauth.to_string(),
            "expired (error `invalid_grant`, HTTP 400)"
        );
        assert_eq!(oauth.exit_code(), 3);
        let bare = error_from(502, None, b"");
        assert_eq!(
            bare.to_string(),
            "the server answered HTTP 502 (code `502`, HTTP 502)"
        );
    }

    #[test]
    fn basic_auth_form_encodes_both_parts() {
        // "a:b" → "a%3Ab"; "x y" → "x+y"
        let h = basic_auth("a:b", "x y");
        use base64::Engine;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(h.trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(String::from_utf8(raw).unwrap(), "a%3Ab:x+y");
    }
}
