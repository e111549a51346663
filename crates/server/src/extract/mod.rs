//! Request extractors shared by every management route: the authenticated principal, JSON bodies
//! with field-naming errors, and query strings with repeated and bracketed keys.

pub mod auth;
pub mod json;
pub mod query;

pub use auth::Auth;
pub use json::JsonBody;
pub use query::QueryMap;
