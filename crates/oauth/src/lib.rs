//! The services behind every zone's authorization server that are neither HTTP nor SQL: outbound
//! fetches with their address policy (`fetch`, `address`), the signing-key ring (`keys`), the
//! zone cache with pre-serialized discovery documents (`zones`, endpoint `paths`), the token
//! endpoint's directory cache (`directory_cache`), bounded password hashing (`passwords`)
//! and throttling (`throttle`).
//!
//! It depends on `latchkey-domain` (models, store traits) and `latchkey-crypto` only — never on
//! axum or sqlx (CI checks this). The protocol logic (client authentication, grants, the browser
//! flows) still lives in the server crate's `zone` module and moves here next.

pub mod address;
pub mod directory_cache;
pub mod error;
pub mod fetch;
pub mod keys;
pub mod mint;
pub mod passwords;
pub mod paths;
pub mod policy;
pub mod requests;
pub mod services;
pub mod targets;
pub mod throttle;
pub mod zones;
