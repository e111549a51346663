//! Values a zone supports that both its checks and its discovery document name, kept apart so
//! that the document (`zones.rs`) depends on no protocol module.

/// The `prompt` values of an authorization request (OpenID Connect Core §3.1.2.1): `none`,
/// `login`, `consent`, and `select_account` (which shows the sign-in page, as `login` does).
pub const PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];

/// Algorithms a DPoP proof may be signed with (RFC 9449; asymmetric only).
pub const DPOP_ALGS: &[&str] = &["ES256", "RS256", "EdDSA"];
