//! The log subscriber: text or JSON lines on standard error, filtered by `LATCHKEY_LOG` (default
//! `info`). The access log (`access_log`) is its own target, switched on by `--access-log`
//! whatever `LATCHKEY_LOG` says. JSON lines carry the event's fields at the top level and the
//! fields of the current span (the request's method, path and request id) under `span`.
//!
//! With `--otlp-endpoint` a second layer turns Latchkey's own spans (and their events, but not
//! the access lines) into OpenTelemetry spans (`ops::traces`), with a filter of its own: traces
//! do not depend on `LATCHKEY_LOG`, and no dependency's span (say, the exporter's own HTTP
//! client) is ever exported. Without it the subscriber is the log layer alone.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

use crate::config::{LogConfig, LogFormat};
use crate::ops::access_log;
use crate::ops::traces::{self, TraceExport, TraceExportError};

/// Installs the global subscriber (logs only).
pub fn init(format: LogFormat, access_log_on: bool) {
    tracing_subscriber::registry()
        .with(filter(access_log_on))
        .with(log_layer(format))
        .init();
}

/// Installs the global subscriber of `serve`: logs, and trace export when `--otlp-endpoint` is
/// given (then the returned export must be shut down before exiting). Must run inside the tokio
/// runtime.
pub fn init_serve(config: &LogConfig) -> Result<Option<TraceExport>, TraceExportError> {
    let Some(url) = config.otlp.traces_url().map_err(TraceExportError)? else {
        init(config.log_format, config.access_log);
        return Ok(None);
    };
    let service_name = config.otlp.service_name();
    let (export, tracer) = traces::start(&url, service_name.clone())?;
    let exported = Targets::new()
        .with_target("latchkey", LevelFilter::INFO)
        .with_target(access_log::TARGET, LevelFilter::OFF);
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_filter(exported);
    tracing_subscriber::registry()
        .with(log_layer(config.log_format).with_filter(filter(config.access_log)))
        .with(otel)
        .init();
    tracing::info!(endpoint = %url, service_name, "trace export enabled (OTLP/HTTP)");
    Ok(Some(export))
}

/// `LATCHKEY_LOG` (default `info`), plus the access log's target when it is on.
fn filter(access_log_on: bool) -> EnvFilter {
    let filter = EnvFilter::try_from_env("LATCHKEY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let level = if access_log_on { "info" } else { "off" };
    match format!("{}={level}", access_log::TARGET).parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    }
}

/// Log lines on standard error, in `format`.
fn log_layer<S>(format: LogFormat) -> Box<dyn Layer<S> + Send + Sync>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // (colours only on a terminal: not as escape codes in log files, nor their cost per span)
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => layer.boxed(),
        LogFormat::Json => layer
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
}
