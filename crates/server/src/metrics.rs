//! Prometheus metrics: the exporter (installed at start when `--metrics` is on), `GET /metrics`
//! on the main port, the per-request HTTP metrics, and the database pool gauges read at scrape
//! time. The zone services record their own (`latchkey_oauth::metrics`); without an installed
//! exporter every recording is a cheap no-op and `/metrics` answers 404. With
//! `--metrics-token-file`, a scrape must present that token as a bearer token.

use std::path::Path;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::config::ServeConfig;
use crate::state::AppState;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
/// The bearer token a scrape must present, when `--metrics-token-file` names one.
static TOKEN: OnceLock<String> = OnceLock::new();

/// Shortest scrape token accepted: a guessable one would be no protection.
const MIN_TOKEN_LEN: usize = 16;
/// Longest scrape token accepted (it is compared on every scrape).
const MAX_TOKEN_LEN: usize = 4096;

/// Latency buckets (seconds): 0.5 ms … 10 s.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// The scrape token `config` sets, if any: the content of `--metrics-token-file`. A token
/// without `--metrics` is an error (the operator expects metrics to be served), as is a file
/// [`read_token`] refuses.
pub fn configured_token(config: &ServeConfig) -> Result<Option<String>, String> {
    let Some(path) = &config.metrics_token_file else {
        return Ok(None);
    };
    if !config.metrics {
        return Err("--metrics-token-file needs --metrics (LATCHKEY_METRICS=true)".into());
    }
    read_token(path).map(Some)
}

/// The scrape token in the file at `path` (`--metrics-token-file`): its content without the
/// trailing line break, visible ASCII, 16 to 4,096 characters.
fn read_token(path: &Path) -> Result<String, String> {
    let flag = "--metrics-token-file";
    let raw = std::fs::read_to_string(path)
        .map_err(|e| format!("{flag}: cannot read {}: {e}", path.display()))?;
    let token = raw.trim_end_matches(['\r', '\n']);
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{flag}: the token in {} must be visible ASCII on one line (no spaces)",
            path.display()
        ));
    }
    if !(MIN_TOKEN_LEN..=MAX_TOKEN_LEN).contains(&token.len()) {
        return Err(format!(
            "{flag}: the token in {} must be {MIN_TOKEN_LEN} to {MAX_TOKEN_LEN} characters long",
            path.display()
        ));
    }
    Ok(token.to_owned())
}

/// Installs the exporter once per process, with the bearer token scrapes must present (if
/// any); false when it could not be installed.
pub fn install(token: Option<String>) -> bool {
    if let Some(token) = token {
        let _ = TOKEN.set(token);
    }
    if HANDLE.get().is_some() {
        return true;
    }
    let built = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
        .and_then(|b| b.install_recorder());
    match built {
        Ok(handle) => {
            let _ = HANDLE.set(handle);
            latchkey_oauth::metrics::enable();
            metrics::gauge!("latchkey_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            true
        }
        Err(e) => {
            tracing::error!(error = %e, "metrics exporter not installed");
            false
        }
    }
}

/// `GET /metrics`: the Prometheus text format (404 unless metrics are on; 401 without the
/// scrape token when one is set).
pub async fn scrape(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(handle) = HANDLE.get() else {
        return crate::routes::edge::error_for(
            "/metrics",
            StatusCode::NOT_FOUND,
            "metrics are off (start with --metrics)",
        );
    };
    if !scrape_allowed(&headers) {
        let mut res = crate::routes::edge::error_for(
            "/metrics",
            StatusCode::UNAUTHORIZED,
            "`Authorization` must carry the metrics scrape token as `Bearer <token>`",
        );
        res.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        );
        return res;
    }
    let pool = state.store.pool_stats();
    metrics::gauge!("latchkey_db_pool_connections", "state" => "in_use")
        .set(f64::from(pool.size.saturating_sub(pool.idle)));
    metrics::gauge!("latchkey_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    metrics::gauge!("latchkey_db_pool_max_connections").set(f64::from(pool.max));
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// Whether the request may read the metrics: no token is set, or `Authorization` carries it as
/// a bearer token (compared in constant time).
fn scrape_allowed(headers: &HeaderMap) -> bool {
    let Some(token) = TOKEN.get() else {
        return true;
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(crate::extract::auth::bearer_token);
    presented.is_some_and(|t| {
        latchkey_crypto::keyed_hash::constant_time_eq(t.as_bytes(), token.as_bytes())
    })
}

/// Counts every request by route template (never the raw path), method and status, with its
/// latency; names the request's trace span after the same template.
pub async fn record(req: Request, next: Next) -> Response {
    // (the exported request span takes the same route template)
    crate::ops::request_trace::name_route(&req);
    if HANDLE.get().is_none() {
        return next.run(req).await;
    }
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let res = next.run(req).await;
    let status = res.status().as_u16().to_string();
    metrics::histogram!("latchkey_http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("latchkey_http_requests_total", "route" => route, "method" => method, "status" => status)
        .increment(1);
    res
}
