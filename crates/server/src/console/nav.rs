//! Where the console sends the browser: `303 See Other` redirects (never cached), with a notice
//! for the next page, and to the sign-in page.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::api::with_query;

/// A 303 redirect.
pub fn redirect(location: &str) -> Response {
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// A redirect carrying a one-line notice (`?notice=`) for the next page.
pub fn redirect_notice(location: &str, notice: &str) -> Response {
    redirect(&with_query(location, &[("notice", notice)]))
}

/// The sign-in page, or straight to an organization's sign-in when it is known.
pub fn to_sign_in(organization: Option<&str>) -> Response {
    match organization {
        Some(org) => redirect(&with_query("/console/sign-in", &[("organization", org)])),
        None => redirect("/console/sign-in"),
    }
}
