//! The console's way to the management API: every read and write goes through the same router
//! the public API uses (in process, no network hop), with the signed-in person's token as the
//! Bearer. So the console enforces exactly the API's role table, validation and audit, and has no
//! data access of its own.

use axum::Router;
use axum::body::Body;
use axum::http::{Extensions, Method, Request, StatusCode, header};
use serde_json::Value;
use tower::ServiceExt;

/// Largest API response the console reads.
const MAX_RESPONSE: usize = 4 * 1024 * 1024;
/// Items per API page when `Api::get_all` follows a list's cursors.
const PAGE: usize = 100;
/// Most items `Api::get_all` gathers.
const MAX_ALL: usize = 1_000;

/// The management API and zone endpoints, as one in-process service.
#[derive(Clone)]
pub struct Api {
    router: Router,
}

/// An API refusal as the console shows it.
#[derive(Debug, Clone)]
pub struct ApiFailure {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiFailure {
    fn from_body(status: StatusCode, body: &Value) -> Self {
        let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            status,
            code: text("code")
                .or_else(|| text("error"))
                .unwrap_or_else(|| status.as_str().to_owned()),
            message: text("message")
                .or_else(|| text("error_description"))
                .unwrap_or_else(|| format!("the server answered {status}")),
        }
    }

    fn internal(message: &str) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal".to_owned(),
            message: message.to_owned(),
        }
    }

    /// Whether the person must sign in again (their token no longer works).
    pub fn is_unauthenticated(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
    }
}

pub type ApiResult<T = Value> = Result<T, ApiFailure>;

/// One call: who asks, and what of the console's own request to carry along (request id and
/// peer address, so the audit log shows the person's request).
pub struct Call<'a> {
    pub token: &'a str,
    pub context: &'a Extensions,
}

impl Api {
    pub fn new(router: Router) -> Self {
        Self { router }
    }

    pub async fn get(&self, call: &Call<'_>, path: &str) -> ApiResult {
        self.send(call, Method::GET, path, None).await
    }

    pub async fn post(&self, call: &Call<'_>, path: &str, body: &Value) -> ApiResult {
        self.send(call, Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, call: &Call<'_>, path: &str, body: &Value) -> ApiResult {
        self.send(call, Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, call: &Call<'_>, path: &str, body: &Value) -> ApiResult {
        self.send(call, Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, call: &Call<'_>, path: &str) -> ApiResult {
        self.send(call, Method::DELETE, path, None).await
    }

    /// Every item of the list at `path` (which may carry a query), following its cursors up
    /// to `MAX_ALL` items, as one `{"items": […], "truncated": bool}`; `Null` when the API
    /// refuses. For choices and the short lists inside an object's page.
    pub async fn get_all(&self, call: &Call<'_>, path: &str) -> Value {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let mut page_path = format!("{path}{sep}limit={PAGE}");
            if let Some(a) = &after {
                page_path = format!("{page_path}&after={}", seg(a));
            }
            let Ok(page) = self.get(call, &page_path).await else {
                return Value::Null;
            };
            let got = page.get("items").and_then(Value::as_array);
            items.extend(got.into_iter().flatten().cloned());
            after = cursor(&page, true);
            if after.is_none() || items.len() >= MAX_ALL {
                let truncated = after.is_some();
                return serde_json::json!({ "items": items, "truncated": truncated });
            }
        }
    }

    /// A JSON request with the person's Bearer token.
    pub async fn send(
        &self,
        call: &Call<'_>,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> ApiResult {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", call.token));
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(v.to_string())
            }
            None => Body::empty(),
        };
        let req = req
            .body(body)
            .map_err(|_| ApiFailure::internal("bad request path"))?;
        self.call(with_context(req, call.context)).await
    }

    /// A form-encoded POST without a Bearer (the zone's token and revocation endpoints).
    pub async fn post_form(
        &self,
        context: &Extensions,
        path: &str,
        form: &[(&str, &str)],
    ) -> ApiResult {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .map_err(|_| ApiFailure::internal("bad request path"))?;
        self.call(with_context(req, context)).await
    }

    async fn call(&self, req: Request<Body>) -> ApiResult {
        let res = self
            .router
            .clone()
            .oneshot(req)
            .await
            .map_err(|_| ApiFailure::internal("the API did not answer"))?;
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), MAX_RESPONSE)
            .await
            .map_err(|_| ApiFailure::internal("the API answer was too large"))?;
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        if status.is_success() {
            Ok(value)
        } else {
            Err(ApiFailure::from_body(status, &value))
        }
    }
}

/// Carries the console request's id and peer address into the API request.
fn with_context(mut req: Request<Body>, context: &Extensions) -> Request<Body> {
    if let Some(id) = context.get::<crate::audit::request_id::RequestId>() {
        req.extensions_mut().insert(id.clone());
    }
    if let Some(peer) = context.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>() {
        req.extensions_mut().insert(*peer);
    }
    req
}

/// `path?key=value&…` with the values percent-encoded (empty values left out).
pub fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().filter(|(_, v)| !v.is_empty()))
        .finish();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

/// The cursor of the next (or previous) page in either list family, when there is one.
pub fn cursor(list: &Value, next: bool) -> Option<String> {
    let (zone_key, has, org_key) = if next {
        (
            "pagination.after_cursor",
            "page_info.has_next_page",
            "page_info.end_cursor",
        )
    } else {
        (
            "pagination.before_cursor",
            "page_info.has_prev_page",
            "page_info.start_cursor",
        )
    };
    let at = |path: &str| path.split('.').try_fold(list, |v, k| v.get(k));
    if let Some(c) = at(zone_key) {
        return c.as_str().map(str::to_owned);
    }
    if at(has) != Some(&Value::Bool(true)) {
        return None;
    }
    at(org_key)?.as_str().map(str::to_owned)
}

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
