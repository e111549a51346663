//! The access log: one INFO line per completed request, target `latchkey::access`, emitted inside
//! the request span (which carries the method, the path without its query and the request id)
//! with the status and the latency. Off unless `--access-log` (`ops::logging`). The same hook
//! puts the status on the exported trace span (`ops::request_trace`).

use std::time::Duration;

use axum::http::Response;
use tracing::Span;

/// The log target of access lines.
pub const TARGET: &str = "latchkey::access";

/// `tower_http` response hook that writes the access line.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessLine;

impl<B> tower_http::trace::OnResponse<B> for AccessLine {
    fn on_response(self, res: &Response<B>, latency: Duration, span: &Span) {
        crate::ops::request_trace::record_status(span, res.status());
        let latency_ms = latency.as_micros() as f64 / 1000.0;
        tracing::info!(
            target: TARGET,
            status = res.status().as_u16(),
            latency_ms,
            "request completed"
        );
    }
}
