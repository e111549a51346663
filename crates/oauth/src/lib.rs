//! The zone authorization servers' protocol logic, as plain functions and types over the domain
//! store traits and `latchkey-crypto`; the HTTP crate extracts a typed request, calls in here and
//! renders the answer.
//!
//! - `services` — what the zone endpoints need at run time, built once at start-up;
//! - `requests`, `authorize::AuthorizeQuery`, `registration::Registration` — typed requests,
//!   parsed once at the edge;
//! - `error` — RFC 6749 errors (the HTTP layer renders them);
//! - `client_auth`, `assertion` — client authentication (secrets, `private_key_jwt`, federated);
//! - `token`, `grants`, `impersonation`, `code_grant` — the token endpoint and its grants;
//! - `device`, `device_verification`, `device_codes` — the device authorization grant (RFC 8628):
//!   the device's requests, the verification page's decisions, the pure rules;
//! - `introspection` — RFC 7662 / RFC 7009;
//! - `policy`, `decide`, `policy_cache` — structural rules, Cedar at every issuance point, and
//!   the compiled policy sets per zone;
//! - `targets`, `mint` — resources by identifier, signed tokens;
//! - `upstream` — vaulted secrets and delegated upstream tokens handed out;
//! - `browser`, `authorize`, `login`, `accounts` — the browser flows' clients, checks, sessions,
//!   consent, codes and accounts;
//! - `federation`, `provider` — upstream sign-in and grant brokering, providers' quirks;
//! - `keys`, `zones`, `paths`, `directory_cache` — the key ring, the zone cache with its
//!   discovery documents, endpoint paths, the token endpoint's directory cache;
//! - `fetch`, `address` — outbound fetches and their address policy;
//! - `passwords`, `throttle` — bounded argon2 and brute-force throttling;
//! - `scoped_cache`, `sharded_map` — the zone caches (invalidated by epoch) and the bounded map
//!   under them and under compiled policy;
//! - `decision_log`, `audit_log` — the buffered writers of the policy decision log and the audit
//!   log (management writes, and sign-ins to the management API recorded by `code_grant`).
//!
//! It must never depend on axum or sqlx (CI checks this with `cargo tree`): no cookies, pages or
//! status pages here, and no SQL.

pub mod accounts;
pub mod address;
pub mod assertion;
pub mod audit_log;
pub mod authorize;
pub mod browser;
pub mod change_feed;
pub mod change_poll;
pub mod changes;
pub mod cimd;
pub mod client;
pub mod client_auth;
pub mod client_credentials;
pub mod code_grant;
pub mod decide;
pub mod decision_log;
pub mod device;
pub mod device_codes;
pub mod device_verification;
pub mod directory_cache;
pub mod dpop;
pub mod error;
pub mod federation;
pub mod fetch;
pub mod grants;
pub mod impersonation;
pub mod introspection;
pub mod issued;
mod key_pool;
pub mod keys;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod mint;
pub mod par;
pub mod passwords;
pub mod paths;
pub mod periodic;
pub mod plan_cache;
pub mod plans;
pub mod policy;
pub mod policy_cache;
pub mod provider;
pub mod registration;
pub mod requests;
pub mod scoped_cache;
pub mod services;
pub mod sharded_map;
pub mod supported;
pub mod targets;
pub mod throttle;
pub mod token;
pub mod upstream;
pub mod user_token;
pub mod zones;
