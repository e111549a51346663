//! Latchkey's domain: identifiers, validated values, resource models, domain errors and the store
//! traits. Nothing here does I/O or knows about HTTP or SQL; the store and server crates depend on it.
//! It must not depend on axum, sqlx, tokio or any other Latchkey crate (CI checks axum and sqlx).

pub mod error;
pub mod id;
pub mod model;
pub mod page;
pub mod patch;
pub mod resource_match;
pub mod store;
pub mod text;
pub mod time;

pub use error::{StoreError, ValidationError};
pub use page::{Cursor, ListFilter, Page, PageRequest, SortKey, SortValue};
pub use patch::Patch;
pub use time::Timestamp;
