//! Request extractors shared by every management route: the authenticated principal, JSON bodies
//! with field-naming errors, and query strings with repeated and bracketed keys.

pub mod auth;
pub mod json;
pub mod query;

pub use auth::Auth;
pub use json::JsonBody;
pub use query::QueryMap;

/// The source address of a request (its TCP peer; forwarded headers are not trusted).
pub fn client_ip(ext: &axum::http::Extensions) -> std::net::IpAddr {
    ext.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(std::net::IpAddr::from([0, 0, 0, 0]))
}
