//! Each zone's OAuth 2.0 / OpenID Connect authorization server, under `{public_url}/z/{zone_id}`
//! (path mode) or `{zone_id}.{zone_domain}` (host mode, rewritten to the same routes).

pub use latchkey_oauth::zones as cache;
pub use latchkey_oauth::{
    accounts, address, assertion, client_auth, code_grant, directory_cache, fetch, grants,
    impersonation, keys, mint, passwords, policy, requests, targets, throttle, upstream,
};

pub mod authorize;
pub mod browser;
pub mod device;
pub mod device_pages;
pub mod discovery;
pub mod error;
pub mod federation;
pub mod hop;
pub mod introspection;
pub mod invitation;
pub mod login;
pub mod logout;
pub mod pages;
pub mod par;
pub mod registration;
pub mod token;
pub mod userinfo;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The zone routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/z/{zone_id}/.well-known/oauth-authorization-server",
            get(discovery::metadata),
        )
        .route(
            "/z/{zone_id}/.well-known/openid-configuration",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/oauth-authorization-server/z/{zone_id}",
            get(discovery::metadata),
        )
        .route(
            "/.well-known/openid-configuration/z/{zone_id}",
            get(discovery::metadata),
        )
        .route("/z/{zone_id}/openidconnect/jwks", get(discovery::jwks))
        .route("/z/{zone_id}/oauth/2/token", post(token::token))
        .route(
            "/z/{zone_id}/oauth/2/registration",
            post(registration::register),
        )
        .route(
            "/z/{zone_id}/oauth/2/introspect",
            post(introspection::introspect),
        )
        .route("/z/{zone_id}/oauth/2/revoke", post(introspection::revoke))
        .route(
            "/z/{zone_id}/oauth/2/device_authorization",
            post(device::authorization),
        )
        .route(
            "/z/{zone_id}/device",
            get(device::page).post(device::decide),
        )
        .route("/z/{zone_id}/oauth/2/authorize", get(authorize::authorize))
        .route("/z/{zone_id}/oauth/2/redirect", get(federation::callback))
        .route(
            "/z/{zone_id}/openidconnect/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(
            "/z/{zone_id}/login",
            get(login::login_page).post(login::login_submit),
        )
        .route(
            "/z/{zone_id}/login/upstream",
            get(federation::login_upstream),
        )
        .route("/z/{zone_id}/login/consent", post(login::consent_submit))
        .route(
            "/z/{zone_id}/invitation",
            get(invitation::show).post(invitation::submit),
        )
        .route(
            "/z/{zone_id}/logout",
            get(logout::start).post(logout::submit),
        )
        .route("/z/{zone_id}/logout/return", get(logout::returned))
        .route("/z/{zone_id}/oauth/2/par", post(par::push))
}

/// Rewrites a request path before routing: collapses repeated slashes (SDKs fetch
/// `{issuer}//.well-known/...`) and, in host mode, maps `{zone_id}.{zone_domain}` to `/z/{zone_id}`.
pub fn normalize_path(path: &str, host: Option<&str>, zone_domain: Option<&str>) -> Option<String> {
    let mut out = String::with_capacity(path.len() + 32);
    if let (Some(host), Some(domain)) = (host, zone_domain) {
        let host = host.split(':').next().unwrap_or(host);
        if let Some(zone) = host.strip_suffix(domain).and_then(|h| h.strip_suffix('.'))
            && !zone.is_empty()
            && !zone.contains('.')
            && !path.starts_with("/z/")
        {
            out.push_str("/z/");
            out.push_str(zone);
        }
    }
    let mut last_slash = false;
    for c in path.chars() {
        if c == '/' && last_slash {
            continue;
        }
        last_slash = c == '/';
        out.push(c);
    }
    (out != path).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::normalize_path;

    #[test]
    fn paths() {
        assert_eq!(
            normalize_path("//.well-known/x", None, None).as_deref(),
            Some("/.well-known/x")
        );
        assert_eq!(
            normalize_path("/z/a//.well-known/x", None, None).as_deref(),
            Some("/z/a/.well-known/x")
        );
        assert_eq!(normalize_path("/zones", None, None), None);
        assert_eq!(
            normalize_path(
                "/oauth/2/token",
                Some("abc.zones.test:8080"),
                Some("zones.test")
            )
            .as_deref(),
            Some("/z/abc/oauth/2/token")
        );
        assert_eq!(
            normalize_path("/zones", Some("zones.test"), Some("zones.test")),
            None
        );
        assert_eq!(
            normalize_path("/x", Some("a.b.zones.test"), Some("zones.test")),
            None
        );
    }
}
