//! The endpoint paths of a zone's authorization server, relative to its issuer.

pub const AUTHORIZE: &str = "/oauth/2/authorize";
pub const TOKEN: &str = "/oauth/2/token";
pub const REGISTRATION: &str = "/oauth/2/registration";
pub const REDIRECT: &str = "/oauth/2/redirect";
pub const JWKS: &str = "/openidconnect/jwks";
pub const USERINFO: &str = "/openidconnect/userinfo";
pub const INTROSPECT: &str = "/oauth/2/introspect";
pub const REVOKE: &str = "/oauth/2/revoke";
/// The pushed authorization request endpoint (RFC 9126).
pub const PAR: &str = "/oauth/2/par";
pub const DEVICE_AUTHORIZATION: &str = "/oauth/2/device_authorization";
/// The device verification page (RFC 8628 §3.3).
pub const DEVICE: &str = "/device";
/// The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0) and its confirmation page.
pub const LOGOUT: &str = "/logout";
/// Where an upstream provider sends the browser back after single logout.
pub const LOGOUT_RETURN: &str = "/logout/return";
pub const AS_METADATA: &str = "/.well-known/oauth-authorization-server";
pub const OIDC_CONFIGURATION: &str = "/.well-known/openid-configuration";
