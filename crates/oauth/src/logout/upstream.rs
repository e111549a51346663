//! Single logout through the upstream provider a web session signed in with. When that provider
//! asks for it (`protocols.openid.single_logout_enabled`) and has an `end_session_endpoint`
//! (configured discovery), the browser goes there once the zone has signed it out, with the
//! zone's `client_id` at the provider, `{issuer}/logout/return` as `post_logout_redirect_uri` and
//! a fresh `state`; it comes back to where the relying party wanted it. That destination waits in
//! a cookie bound to the zone and the `state` by a keyed hash, so neither a forged return nor a
//! planted cookie can send the browser anywhere else.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use latchkey_domain::model::identity::Session;

use crate::browser::{same_secret, with_query};
use crate::paths;
use crate::provider::{self, openid};
use crate::services::Services;
use crate::zones::ZoneEntry;

/// The hop to the provider: where the browser goes, and the cookie to set meanwhile.
#[derive(Debug)]
pub struct Hop {
    pub url: String,
    pub cookie: String,
}

/// The hop out of `session`'s provider, when that provider wants single logout; `next` is where
/// the browser goes once back (none: the signed-out page).
pub async fn hop(
    s: &Services,
    zone: &ZoneEntry,
    session: &Session,
    next: Option<&str>,
) -> Option<Hop> {
    let id = session.provider_id.as_ref()?;
    let p = s.store.get_provider(&zone.zone.id, id).await.ok()??;
    if openid(&p).and_then(|o| o.single_logout_enabled) != Some(true) {
        return None;
    }
    let end = provider::endpoint(s, &p, "end_session_endpoint").await?;
    let scheme = url::Url::parse(&end).ok()?.scheme().to_owned();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let state = latchkey_crypto::random::secret("").ok()?;
    let back = format!("{}{}", zone.issuer, paths::LOGOUT_RETURN);
    let mut params = vec![
        ("post_logout_redirect_uri", back.as_str()),
        ("state", state.as_str()),
    ];
    if let Some(client_id) = p.client_id.as_deref() {
        params.push(("client_id", client_id));
    }
    let next = next.unwrap_or_default();
    let cookie = format!(
        "{state}.{}.{}",
        binding(s, zone, &state, next),
        URL_SAFE_NO_PAD.encode(next)
    );
    Some(Hop {
        url: with_query(&end, &params),
        cookie,
    })
}

/// Where a browser back from the provider goes: the destination its cookie holds, when the
/// cookie is intact and its `state` is the one the provider returned; otherwise nowhere (the
/// signed-out page).
pub fn back(s: &Services, zone: &ZoneEntry, cookie: &str, state: &str) -> Option<String> {
    let mut parts = cookie.splitn(3, '.');
    let (kept, mac, next) = (parts.next()?, parts.next()?, parts.next()?);
    let next = String::from_utf8(URL_SAFE_NO_PAD.decode(next).ok()?).ok()?;
    let intact = same_secret(kept, state) && same_secret(mac, &binding(s, zone, kept, &next));
    (intact && !next.is_empty()).then_some(next)
}

/// The keyed hash binding a destination to a zone and a `state`.
fn binding(s: &Services, zone: &ZoneEntry, state: &str, next: &str) -> String {
    s.hasher.hash(&format!(
        "latchkey logout return\n{}\n{state}\n{next}",
        zone.zone.id
    ))
}
