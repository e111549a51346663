//! The request span (method, path without query and with secret-looking segments masked,
//! request id) and, when traces are exported (`ops::traces`), what makes it a proper
//! OpenTelemetry server span: the caller's W3C `traceparent` as its parent, the name
//! `{method} {route template}`, and the `http.request.method`, `http.route` and
//! `http.response.status_code` attributes. Never a header value, query or body: nothing secret
//! reaches an exported span. Without trace export every hook here returns at once.

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, Method, StatusCode};
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Status, TraceContextExt};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;

use crate::ops::traces;

/// The span a request is answered in.
pub fn request_span(method: &Method, path: &str, request_id: &str, headers: &HeaderMap) -> Span {
    if !traces::enabled() {
        return tracing::info_span!("request", method = %method, path = %path, request_id = %request_id);
    }
    let span = tracing::info_span!("request", method = %method, path = %path, request_id = %request_id, otel.kind = "server");
    // (a missing or malformed `traceparent` gives an empty context: the span starts a trace)
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if span.set_parent(parent).is_ok() {
        span.set_attribute("http.request.method", method.as_str().to_owned());
        // (the route is not known yet: routing names it, see `name_route`)
        span.context()
            .span()
            .update_name(method.as_str().to_owned());
    }
    span
}

/// Inside routing: names the current request span after its route template
/// (`GET /zones/{zone_id}`), never the raw path. Unmatched requests keep the bare method.
pub fn name_route(req: &Request) {
    if !traces::enabled() {
        return;
    }
    let Some(route) = req.extensions().get::<MatchedPath>() else {
        return;
    };
    let span = Span::current();
    span.set_attribute("http.route", route.as_str().to_owned());
    span.context()
        .span()
        .update_name(format!("{} {}", req.method(), route.as_str()));
}

/// On the response: the status code, and an error status for a 5xx.
pub fn record_status(span: &Span, status: StatusCode) {
    if !traces::enabled() {
        return;
    }
    span.set_attribute("http.response.status_code", i64::from(status.as_u16()));
    if status.is_server_error() {
        span.set_status(Status::error(status.to_string()));
    }
}

/// The request headers, as the propagator reads them (it asks only for `traceparent` and
/// `tracestate`).
struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}
