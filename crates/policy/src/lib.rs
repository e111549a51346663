//! Latchkey's policy engine on Cedar (issue 10): versioned `Keycard` schemas, validation of policy
//! versions, compiled policy set versions, `authorize` with the scope rule, the platform default
//! set, attestation statements (RFC 8785) and the user policy bundle codec. Pure and synchronous:
//! the server owns storage, caching, signing and HTTP. Decisions are written up in
//! `docs/policies.md`.

pub mod schema;
pub mod validate;
pub mod request;
pub mod compile;
pub mod issuance;
pub mod authorize;
pub mod defaults;

#[cfg(test)]
mod testing;
pub mod jcs;
pub mod attestation;
pub mod bundle;
pub mod tarball;
