//! The end-session endpoint's protocol side (OpenID Connect RP-Initiated Logout 1.0): the typed
//! request with its size bounds, the ID token hint (signed by this zone, any age), which client
//! asks (the hint's audience or `client_id`, never two different ones), and where the browser
//! may go afterwards (a `post_logout_redirect_uri` registered for that client, matched exactly,
//! with `state`). Whether the user must confirm is [`Logout::names`]: only a hint naming the
//! browser's own web session skips the question. Signing out of the upstream provider as well is
//! [`upstream`]. Cookies and pages are the HTTP layer's.

use latchkey_domain::model::identity::Session;

use crate::browser::{self, BrowserClient};
use crate::services::Services;
use crate::user_token::{IdTokenHint, MAX_HINT_BYTES, id_token_hint};
use crate::zones::ZoneEntry;

pub mod upstream;

/// Longest value accepted for any other parameter (bytes).
pub const MAX_PARAMETER_BYTES: usize = 2048;

/// The parameters a relying party may send (§2); `logout_hint` and `ui_locales` are read for
/// their bounds and otherwise unused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogoutQuery {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    pub logout_hint: Option<String>,
    pub ui_locales: Option<String>,
}

impl LogoutQuery {
    /// Reads `(name, value)` pairs: each known parameter at most once and within its bound,
    /// unknown ones ignored. The refusal is a sentence for the error page.
    pub fn parse<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, String> {
        let mut q = Self::default();
        for (name, value) in pairs {
            let (slot, bound) = match name {
                "id_token_hint" => (&mut q.id_token_hint, MAX_HINT_BYTES),
                "client_id" => (&mut q.client_id, MAX_PARAMETER_BYTES),
                "post_logout_redirect_uri" => {
                    (&mut q.post_logout_redirect_uri, MAX_PARAMETER_BYTES)
                }
                "state" => (&mut q.state, MAX_PARAMETER_BYTES),
                "logout_hint" => (&mut q.logout_hint, MAX_PARAMETER_BYTES),
                "ui_locales" => (&mut q.ui_locales, MAX_PARAMETER_BYTES),
                _ => continue,
            };
            if value.len() > bound {
                return Err(format!(
                    "The `{name}` parameter is too long (at most {bound} bytes)."
                ));
            }
            if slot.replace(value.to_owned()).is_some() {
                return Err(format!("The `{name}` parameter is repeated."));
            }
        }
        Ok(q)
    }

    /// The parameters as `(name, value)` pairs, to carry them through a confirmation form or a
    /// redirect.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("id_token_hint", &self.id_token_hint),
            ("client_id", &self.client_id),
            ("post_logout_redirect_uri", &self.post_logout_redirect_uri),
            ("state", &self.state),
            ("logout_hint", &self.logout_hint),
            ("ui_locales", &self.ui_locales),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
        .collect()
    }
}

/// A checked logout request.
#[derive(Debug, Clone, Default)]
pub struct Logout {
    /// The client that asks, when it says who it is.
    pub client: Option<BrowserClient>,
    /// Where the browser goes once signed out: the registered URI, with `state`.
    pub redirect: Option<String>,
    pub hint: Option<IdTokenHint>,
}

impl Logout {
    /// Whether the hint is an ID token of `session`: the request then needs no confirmation.
    pub fn names(&self, session: &Session) -> bool {
        self.hint
            .as_ref()
            .and_then(|h| h.sid.as_deref())
            .is_some_and(|sid| sid == session.id.as_str())
    }
}

/// Why a logout request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// The request is wrong: a sentence for the error page (400).
    Bad(&'static str),
    /// The store failed.
    Failed,
}

/// Checks a logout request: the hint, the client, and the redirect.
pub async fn check(s: &Services, zone: &ZoneEntry, q: &LogoutQuery) -> Result<Logout, Refusal> {
    let hint = match q.id_token_hint.as_deref() {
        None => None,
        Some(token) => Some(id_token_hint(s, zone, token).await.ok_or(Refusal::Bad(
            "The id_token_hint is not an ID token this zone issued.",
        ))?),
    };
    let client_id = match (q.client_id.as_deref(), hint.as_ref()) {
        (Some(a), Some(h)) if a != h.client_id => {
            return Err(Refusal::Bad(
                "The client_id is not the client the id_token_hint was issued to.",
            ));
        }
        (Some(a), _) => Some(a),
        (None, h) => h.map(|h| h.client_id.as_str()),
    };
    let client = match client_id {
        None => None,
        Some(id) => Some(
            browser::client(s, zone, id)
                .await
                .map_err(|_| Refusal::Failed)?
                .ok_or(Refusal::Bad("The client is not registered in this zone."))?,
        ),
    };
    let redirect = match q.post_logout_redirect_uri.as_deref() {
        None => None,
        Some(uri) => Some(redirect(client.as_ref(), uri, q.state.as_deref())?),
    };
    Ok(Logout {
        client,
        redirect,
        hint,
    })
}

/// The post-logout redirect: registered for the client that asks (which must say who it is).
fn redirect(
    client: Option<&BrowserClient>,
    uri: &str,
    state: Option<&str>,
) -> Result<String, Refusal> {
    let client = client.ok_or(Refusal::Bad(
        "A post_logout_redirect_uri needs the client_id or an id_token_hint naming the client.",
    ))?;
    if !client
        .post_logout_redirect_uris
        .iter()
        .any(|r| browser::redirect_matches(r, uri))
    {
        return Err(Refusal::Bad(
            "The post_logout_redirect_uri is not registered for this client.",
        ));
    }
    Ok(match state {
        Some(st) => browser::with_query(uri, &[("state", st)]),
        None => uri.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parameter_is_read_once_within_its_bound() {
        let q = LogoutQuery::parse([
            ("client_id", "c"),
            ("state", "s"),
            ("other", "x"),
            ("other", "y"),
        ])
        .expect("parses");
        assert_eq!(q.client_id.as_deref(), Some("c"));
        assert_eq!(q.pairs(), vec![("client_id", "c"), ("state", "s")]);

        let repeated = LogoutQuery::parse([
            ("post_logout_redirect_uri", "https://a/"),
            ("post_logout_redirect_uri", "https://b/"),
        ]);
        assert!(repeated.is_err_and(|e| e.contains("post_logout_redirect_uri")));

        let long = "x".repeat(MAX_PARAMETER_BYTES + 1);
        assert!(LogoutQuery::parse([("state", long.as_str())]).is_err());
        let hint = "x".repeat(MAX_PARAMETER_BYTES + 1);
        assert!(LogoutQuery::parse([("id_token_hint", hint.as_str())]).is_ok());
        let hint = "x".repeat(MAX_HINT_BYTES + 1);
        assert!(LogoutQuery::parse([("id_token_hint", hint.as_str())]).is_err());
    }

    fn client(uris: &[&str]) -> BrowserClient {
        BrowserClient {
            client_id: "c".into(),
            name: "C".into(),
            redirect_uris: vec![],
            post_logout_redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            public: true,
            consent_required: false,
            application_id: None,
            user_agent_id: None,
        }
    }

    #[test]
    fn attack_a_redirect_goes_only_to_a_registered_uri_of_a_named_client() {
        let c = client(&["https://rp.example/bye?x=1"]);
        let ok = redirect(Some(&c), "https://rp.example/bye?x=1", Some("s t"));
        assert_eq!(
            ok.ok().as_deref(),
            Some("https://rp.example/bye?x=1&state=s+t")
        );
        for uri in [
            "https://rp.example/bye",
            "https://rp.example/bye?x=1&y=2",
            "https://RP.example/bye?x=1",
            "https://rp.example.evil/bye?x=1",
            "https://rp.example/bye/../bye?x=1",
        ] {
            assert!(redirect(Some(&c), uri, None).is_err(), "{uri}");
        }
        assert!(redirect(None, "https://rp.example/bye?x=1", None).is_err());
    }
}
