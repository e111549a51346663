//! An upstream provider's endpoints (configured or discovered) and quirks: the shape of its
//! authorization request (`scope_parameter`, `scope_separator`, `authorization_parameters`,
//! `authorization_resource_*`, PKCE when supported), the token pointer of its answers, and the
//! token endpoint call shared by sign-in, brokering and refresh.

use latchkey_domain::model::directory::{Provider, ProviderOAuth2, ProviderOpenId};
use serde_json::Value;

use crate::services::Services;

pub fn oauth2(p: &Provider) -> Option<&ProviderOAuth2> {
    p.protocols.as_ref().and_then(|x| x.oauth2.as_ref())
}

pub fn openid(p: &Provider) -> Option<&ProviderOpenId> {
    p.protocols.as_ref().and_then(|x| x.openid.as_ref())
}

/// An endpoint of the provider: configured, or from its discovery document.
pub async fn endpoint(s: &Services, p: &Provider, name: &str) -> Option<String> {
    let o = oauth2(p);
    let configured = match name {
        "authorization_endpoint" => o.and_then(|o| o.authorization_endpoint.clone()),
        "token_endpoint" => o.and_then(|o| o.token_endpoint.clone()),
        "jwks_uri" => o.and_then(|o| o.jwks_uri.clone()),
        "userinfo_endpoint" => openid(p).and_then(|x| x.userinfo_endpoint.clone()),
        _ => None,
    };
    if configured.is_some() {
        return configured;
    }
    let issuer = o
        .map(|o| o.issuer.clone())
        .unwrap_or_else(|| p.identifier.clone());
    s.fetcher.discovered(&issuer, name).await
}

pub fn issuer_of(p: &Provider) -> String {
    oauth2(p)
        .map(|o| o.issuer.clone())
        .unwrap_or_else(|| p.identifier.clone())
}

pub fn s256(verifier: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(latchkey_crypto::keyed_hash::sha256(verifier.as_bytes()))
}

/// What the zone asks an upstream provider for.
pub struct UpstreamAsk {
    pub client_id: String,
    pub redirect_uri: String,
    pub state: String,
    pub scopes: Vec<String>,
    pub verifier: Option<String>,
    pub nonce: Option<String>,
    pub resource: Option<String>,
    /// What the zone's own request asks of the sign-in (`prompt`, `max_age`, `login_hint`):
    /// before the provider's configured extra parameters, never replacing the protocol's own.
    pub sign_in: Vec<(String, String)>,
}

/// The query of an upstream authorization request, with the provider's quirks: its scope
/// parameter and separator, PKCE, the resource parameter when enabled, and extra parameters
/// (which cannot override any of those).
pub fn authorize_params(o: &ProviderOAuth2, ask: UpstreamAsk) -> Vec<(String, String)> {
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
    // Extra parameters never replace or repeat the protocol's own (state, nonce, PKCE, …).
    let configured = o.authorization_parameters.clone().unwrap_or_default();
    for (k, v) in ask.sign_in.into_iter().chain(configured) {
        if !params.iter().any(|(name, _)| *name == k) {
            params.push((k, v));
        }
    }
    params
}

/// Follows a dotted path (`authed_user.access_token`) into a JSON object.
pub fn pointer<'a>(v: &'a Value, path: &str) -> Option<&'a str> {
    path.split('.')
        .try_fold(v, |acc, key| acc.get(key))
        .and_then(Value::as_str)
}

/// Redeems an upstream code (or refresh token) at the provider's token endpoint.
pub async fn upstream_token(
    s: &Services,
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

/// Upstream tokens last this long when the provider does not say.
const DEFAULT_TOKEN_SECONDS: i64 = 3600;

/// The seconds until the provider's token expires, as its token response says.
pub fn expires_in(tokens: &Value) -> i64 {
    tokens
        .get("expires_in")
        .and_then(|v| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|t| t.parse().ok()))
        })
        .unwrap_or(DEFAULT_TOKEN_SECONDS)
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
            sign_in: vec![],
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
                sign_in: vec![
                    ("prompt".into(), "login".into()),
                    ("state".into(), "x".into()),
                ],
            },
        );
        let p: std::collections::HashMap<_, _> = plain.into_iter().collect();
        assert_eq!(
            (p["scope"].as_str(), p["nonce"].as_str()),
            ("openid email", "n")
        );
        assert_eq!(
            (p["prompt"].as_str(), p["state"].as_str()),
            ("login", "s"),
            "the sign-in's own asks go along, never replacing the protocol's"
        );
        assert!(
            !p.contains_key("resource") && !p.contains_key("code_challenge"),
            "resource only when enabled; PKCE only when asked"
        );
    }

    #[test]
    fn extra_parameters_never_override_the_protocol() {
        let o = ProviderOAuth2 {
            authorization_parameters: Some(
                [
                    ("state", "evil"),
                    ("nonce", "n2"),
                    ("code_challenge", "x"),
                    ("redirect_uri", "https://evil"),
                    ("hd", "example.com"),
                ]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .into(),
            ),
            ..ProviderOAuth2::default()
        };
        let ask = UpstreamAsk {
            client_id: "c".into(),
            redirect_uri: "https://z/cb".into(),
            state: "st".into(),
            scopes: vec!["openid".into()],
            verifier: Some("v".repeat(43)),
            nonce: Some("n".into()),
            resource: None,
            sign_in: vec![],
        };
        let params = authorize_params(&o, ask);
        let values = |k: &str| -> Vec<&str> {
            params
                .iter()
                .filter(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        assert_eq!(values("state"), ["st"]);
        assert_eq!(values("nonce"), ["n"]);
        assert_eq!(values("redirect_uri"), ["https://z/cb"]);
        assert_eq!(values("code_challenge"), [s256(&"v".repeat(43)).as_str()]);
        assert_eq!(values("hd"), ["example.com"]);
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
