//! Typed requests of the token, introspection and revocation endpoints, parsed once at the edge
//! from the form body: the grant code below receives these, never the raw parameter map. Parsing
//! refuses a body that is not UTF-8 and, at the token endpoint, any single-valued parameter that
//! appears more than once (RFC 6749 §3.2); which parameters a grant requires is checked by the grant, in the order that
//! decides which error a client sees.

use std::borrow::Cow;

use crate::error::OAuthError;

/// The RFC 8693 grant type.
pub const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// The RFC 8628 grant type.
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// The decoded `(name, value)` pairs of a form body, in order; a part with nothing to decode
/// borrows from the body.
struct Form<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl Form<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_ref())
            .collect()
    }

    fn count(&self, name: &str) -> usize {
        self.0.iter().filter(|(k, _)| k == name).count()
    }
}

/// How the client presented itself: the `Authorization` header (set by the HTTP layer with
/// [`ClientParams::authorization`]) and the body (RFC 6749 §2.3.1, RFC 7523 §2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientParams {
    /// The request's `Authorization` header value, if any.
    pub authorization: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub client_assertion: Option<String>,
    pub client_assertion_type: Option<String>,
}

/// What tokens are asked for: RFC 8707 `resource`s, RFC 8693 `audience`s and `scope`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Targets {
    pub resources: Vec<String>,
    pub audiences: Vec<String>,
    pub scope: Option<String>,
}

/// RFC 8693 token exchange parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExchangeParams {
    pub subject_token: Option<String>,
    pub subject_token_type: Option<String>,
    pub requested_token_type: Option<String>,
}

/// Authorization code redemption parameters (RFC 6749 §4.1.3, RFC 7636 §4.5).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodeParams {
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
}

/// The grant of a token request, with its own parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    ClientCredentials,
    TokenExchange(ExchangeParams),
    AuthorizationCode(CodeParams),
    RefreshToken {
        refresh_token: Option<String>,
    },
    /// RFC 8628 §3.4: the device polls with its `device_code`.
    DeviceCode {
        device_code: Option<String>,
    },
}

/// A token endpoint request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    pub client: ClientParams,
    pub targets: Targets,
    pub grant: Grant,
}

/// An introspection (RFC 7662) or revocation (RFC 7009) request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenQuery {
    pub client: ClientParams,
    pub token: Option<String>,
}

/// Parameters that may appear at most once (RFC 6749 §3.2); `resource` and `audience` repeat.
const SINGLE: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "subject_token",
    "subject_token_type",
    "actor_token",
    "actor_token_type",
    "requested_token_type",
    "device_code",
];

/// Parses an `application/x-www-form-urlencoded` body as the URL Standard does (and the
/// `form_urlencoded` crate): `&`-separated, empty sequences skipped, the name up to the first
/// `=`, `+` as a space, percent-escapes decoded and invalid UTF-8 replaced. A part without `+` or
/// `%` (a JWT, a client id) is borrowed as it is, not scanned byte by byte.
fn form(body: &[u8]) -> Result<Form<'_>, OAuthError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| OAuthError::invalid_request("the body is not UTF-8"))?;
    let pairs = text
        .split('&')
        .filter(|seq| !seq.is_empty())
        .map(|seq| {
            let (name, value) = seq.split_once('=').unwrap_or((seq, ""));
            (decoded(name), decoded(value))
        })
        .collect();
    Ok(Form(pairs))
}

fn decoded(part: &str) -> Cow<'_, str> {
    if !part.bytes().any(|b| b == b'+' || b == b'%') {
        return Cow::Borrowed(part);
    }
    let spaced = part.replace('+', " ");
    Cow::Owned(
        percent_encoding::percent_decode_str(&spaced)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

fn owned(form: &Form, name: &str) -> Option<String> {
    form.get(name).map(str::to_owned)
}

impl ClientParams {
    /// Records the request's `Authorization` header.
    pub fn authorization(&mut self, header: Option<&str>) {
        self.authorization = header.map(str::to_owned);
    }

    fn from_form(form: &Form) -> Self {
        Self {
            authorization: None,
            client_id: owned(form, "client_id"),
            client_secret: owned(form, "client_secret"),
            client_assertion: owned(form, "client_assertion"),
            client_assertion_type: owned(form, "client_assertion_type"),
        }
    }
}

impl TokenRequest {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let form = form(body)?;
        if let Some(p) = SINGLE.iter().find(|p| form.count(p) > 1) {
            return Err(OAuthError::invalid_request(format!(
                "`{p}` appears more than once"
            )));
        }
        let grant = match form.get("grant_type") {
            None | Some("") => return Err(OAuthError::invalid_request("`grant_type` is required")),
            Some("client_credentials") => Grant::ClientCredentials,
            Some(TOKEN_EXCHANGE) => Grant::TokenExchange(ExchangeParams {
                subject_token: owned(&form, "subject_token"),
                subject_token_type: owned(&form, "subject_token_type"),
                requested_token_type: owned(&form, "requested_token_type"),
            }),
            Some("authorization_code") => Grant::AuthorizationCode(CodeParams {
                code: owned(&form, "code"),
                redirect_uri: owned(&form, "redirect_uri"),
                code_verifier: owned(&form, "code_verifier"),
            }),
            Some("refresh_token") => Grant::RefreshToken {
                refresh_token: owned(&form, "refresh_token"),
            },
            Some(DEVICE_CODE) => Grant::DeviceCode {
                device_code: owned(&form, "device_code"),
            },
            Some(other) => return Err(OAuthError::unsupported_grant_type(other)),
        };
        let list = |name| form.all(name).into_iter().map(str::to_owned).collect();
        Ok(Self {
            client: ClientParams::from_form(&form),
            targets: Targets {
                resources: list("resource"),
                audiences: list("audience"),
                scope: owned(&form, "scope"),
            },
            grant,
        })
    }
}

/// A device authorization request (RFC 8628 §3.1): the client, `scope` and RFC 8707 `resource`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorizationRequest {
    pub client: ClientParams,
    pub scope: Option<String>,
    pub resources: Vec<String>,
}

impl DeviceAuthorizationRequest {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let form = form(body)?;
        if let Some(p) = SINGLE.iter().find(|p| form.count(p) > 1) {
            return Err(OAuthError::invalid_request(format!(
                "`{p}` appears more than once"
            )));
        }
        Ok(Self {
            client: ClientParams::from_form(&form),
            scope: owned(&form, "scope"),
            resources: form
                .all("resource")
                .into_iter()
                .map(str::to_owned)
                .collect(),
        })
    }
}

/// A pushed authorization request (RFC 9126 §2.1): the client's authentication and the
/// authorization request's parameters, each at most once (`resource` may repeat).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedRequest {
    pub client: ClientParams,
    pub params: Vec<(String, String)>,
}

impl PushedRequest {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let form = form(body)?;
        for (name, _) in &form.0 {
            if name != "resource" && form.count(name) > 1 {
                let name: String = name.chars().take(40).collect();
                return Err(OAuthError::invalid_request(format!(
                    "`{name}` appears more than once"
                )));
            }
        }
        Ok(Self {
            client: ClientParams::from_form(&form),
            params: form
                .0
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        })
    }
}

impl TokenQuery {
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let form = form(body)?;
        Ok(Self {
            client: ClientParams::from_form(&form),
            token: owned(&form, "token"),
        })
    }

    /// The `token` parameter, which both endpoints require.
    pub fn token(&self) -> Result<&str, OAuthError> {
        self.token
            .as_deref()
            .ok_or_else(|| OAuthError::invalid_request("`token` is required"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// The form parser reads every body as the `form_urlencoded` crate does.
        #[test]
        fn forms_parse_as_the_url_standard_says(body in "[a-c&=+%0-9A-Fé]{0,40}") {
            let ours: Vec<(String, String)> = form(body.as_bytes())
                .unwrap()
                .0
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let reference: Vec<(String, String)> =
                form_urlencoded::parse(body.as_bytes()).into_owned().collect();
            prop_assert_eq!(ours, reference);
        }
    }

    #[test]
    fn each_grant_gets_its_own_parameters() {
        let r = TokenRequest::parse(
            b"grant_type=authorization_code&code=c&redirect_uri=https%3A%2F%2Fa%2Fcb&code_verifier=v&client_id=x&resource=r1&resource=r2",
        )
        .unwrap();
        assert_eq!(
            r.grant,
            Grant::AuthorizationCode(CodeParams {
                code: Some("c".into()),
                redirect_uri: Some("https://a/cb".into()),
                code_verifier: Some("v".into()),
            })
        );
        assert_eq!(r.client.client_id.as_deref(), Some("x"));
        assert_eq!(r.targets.resources, ["r1", "r2"]);
    }

    #[test]
    fn repeated_single_parameters_and_unknown_grants_are_refused() {
        let e = TokenRequest::parse(b"grant_type=client_credentials&scope=a&scope=b").unwrap_err();
        assert_eq!(
            (e.error, e.description.as_str()),
            ("invalid_request", "`scope` appears more than once")
        );
        let r = TokenRequest::parse(
            b"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code&device_code=d",
        )
        .unwrap();
        assert_eq!(
            r.grant,
            Grant::DeviceCode {
                device_code: Some("d".into())
            }
        );
        let e = DeviceAuthorizationRequest::parse(b"client_id=a&client_id=b").unwrap_err();
        assert_eq!(e.description, "`client_id` appears more than once");
        let e = TokenRequest::parse(b"grant_type=password").unwrap_err();
        assert_eq!(e.error, "unsupported_grant_type");
        let e = TokenRequest::parse(b"scope=a").unwrap_err();
        assert_eq!(e.description, "`grant_type` is required");
        assert!(
            TokenRequest::parse(b"grant_type=\xff").is_err(),
            "not UTF-8"
        );
        assert_eq!(
            TokenQuery::parse(b"token=t&client_id=c").unwrap().token(),
            Ok("t")
        );
    }
}
