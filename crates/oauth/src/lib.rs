//! The zone authorization servers' protocol side that is neither HTTP nor SQL, as plain functions
//! and types over the domain store traits and `latchkey-crypto`:
//!
//! - `services` — what the zone endpoints need at run time, built once at start-up;
//! - `requests` — typed token, introspection and revocation requests (parsed once at the edge);
//! - `error` — RFC 6749 errors (the HTTP layer renders them);
//! - `policy` — the issuance hook (dependencies, `when_accessing`, ownership);
//! - `targets`, `mint` — resources by identifier, and signed access tokens;
//! - `provider` — upstream providers' endpoints, quirks and token endpoint calls;
//! - `keys`, `zones`, `paths`, `directory_cache` — the key ring, the zone cache with its
//!   discovery documents, endpoint paths, the token endpoint's directory cache;
//! - `fetch`, `address` — outbound fetches and their address policy;
//! - `passwords`, `throttle` — bounded argon2 and brute-force throttling.
//!
//! It must never depend on axum or sqlx (CI checks this with `cargo tree`). The rest of the
//! protocol logic (client authentication, grants, the browser flows) still lives in the server
//! crate's `zone` module and moves here next.

pub mod accounts;
pub mod address;
pub mod assertion;
pub mod browser;
pub mod client_auth;
pub mod code_grant;
pub mod directory_cache;
pub mod error;
pub mod fetch;
pub mod grants;
pub mod impersonation;
pub mod introspection;
pub mod keys;
pub mod mint;
pub mod passwords;
pub mod paths;
pub mod policy;
pub mod provider;
pub mod registration;
pub mod requests;
pub mod services;
pub mod targets;
pub mod throttle;
pub mod token;
pub mod upstream;
pub mod zones;
