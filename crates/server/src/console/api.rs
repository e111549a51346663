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

/// A path segment, percent-encoded.
pub fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
