//! Latchkey's policy engine on Cedar (issue 10): versioned `Keycard` schemas, validation of policy
//! versions, compiled policy set versions, `authorize` with the scope rule, the platform default
//! set, attestation statements (RFC 8785) and the user policy bundle codec. Pure and synchronous:
//! the server owns storage, caching, signing and HTTP. Decisions are written up in
//! `docs/policies.md`. It must not depend on axum, sqlx, tokio or other Latchkey crates (CI checks
//! axum and sqlx).

pub mod attestation;
pub mod authorize;
pub mod bundle;
pub mod compile;
pub mod defaults;
pub mod issuance;
pub mod jcs;
pub mod request;
pub mod schema;
pub mod tarball;
pub mod validate;

#[cfg(test)]
mod testing;

pub use authorize::{Decision, ScopedDecision, authorize, authorize_issuance, deny_message};
pub use compile::{CompileError, CompiledSet, PolicyEntry, PolicyRef, SetVersionInput, compile};
pub use issuance::Issuance;
pub use request::{
    AccessContext, Action, ApplicationEntity, Claims, CredentialType, Principal,
    RegistrationMethod, Request, ResourceEntity, Subject, UserEntity,
};
pub use schema::{SchemaStatus, SchemaVersion};
pub use validate::{PolicyError, PolicySource, ValidatedPolicy, validate_policy};
