//! The log subscriber: text or JSON lines on standard error, filtered by `LATCHKEY_LOG` (default
//! `info`). The access log (`access_log`) is its own target, switched on by `--access-log`
//! whatever `LATCHKEY_LOG` says. JSON lines carry the event's fields at the top level and the
//! fields of the current span (the request's method, path and request id) under `span`.

use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;
use crate::ops::access_log;

/// Installs the global subscriber.
pub fn init(format: LogFormat, access_log_on: bool) {
    let filter = EnvFilter::try_from_env("LATCHKEY_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let level = if access_log_on { "info" } else { "off" };
    let filter = match format!("{}={level}", access_log::TARGET).parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
