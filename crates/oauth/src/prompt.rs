//! The `prompt` values of an authorization request (OpenID Connect Core §3.1.2.1) that zones
//! understand, shared by the checks and the discovery document.

/// `none`, `login`, `consent`, and `select_account` (which shows the sign-in page, as `login`
/// does).
pub const PROMPTS: &[&str] = &["none", "login", "consent", "select_account"];
