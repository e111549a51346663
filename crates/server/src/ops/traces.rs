//! Trace export (`--otlp-endpoint`): the OpenTelemetry tracer provider, an OTLP/HTTP (JSON)
//! exporter behind a batch span processor on the tokio runtime, and its shutdown (the last
//! batch is sent before the process exits). Off unless asked for: nothing here runs, and
//! [`enabled`] stays false, without the flag. An export failure never reaches a request: it is
//! logged as a warning, at most once a minute, and the batch is dropped.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter, Tracer};
use opentelemetry_sdk::{Resource, runtime};

use crate::config::otlp::TracesUrl;

/// Whether spans are exported (set once, when the exporter is installed).
static ON: AtomicBool = AtomicBool::new(false);

/// How long shutdown waits for the last batch to reach the collector.
const SHUTDOWN_WAIT: Duration = Duration::from_secs(5);

/// Least time between two warnings about failed exports.
const WARN_EVERY: Duration = Duration::from_secs(60);

/// Whether trace export is on (cheap: one atomic load).
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed)
}

/// The running export; [`TraceExport::shutdown`] flushes what is buffered.
#[derive(Debug)]
pub struct TraceExport {
    provider: SdkTracerProvider,
}

/// The exporter could not be set up (a bad `--otlp-endpoint`, named in the message).
#[derive(Debug, thiserror::Error)]
#[error("--otlp-endpoint: {0}")]
pub struct TraceExportError(pub String);

/// Builds the provider exporting to `url` as `service_name`; the tracer goes to the
/// `tracing-opentelemetry` layer. Must run inside the tokio runtime.
pub fn start(
    url: &TracesUrl,
    service_name: String,
) -> Result<(TraceExport, Tracer), TraceExportError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpJson)
        .with_endpoint(url.as_str())
        .build()
        .map_err(|e| TraceExportError(e.to_string()))?;
    let exporter = WarnOnFailure {
        inner: exporter,
        url: url.to_string(),
        last_warning: Mutex::new(None),
    };
    let processor = BatchSpanProcessor::builder(exporter, runtime::Tokio).build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(Resource::builder().with_service_name(service_name).build())
        .build();
    let tracer = provider.tracer("latchkey");
    ON.store(true, Ordering::Relaxed);
    Ok((TraceExport { provider }, tracer))
}

impl TraceExport {
    /// Exports the spans still buffered and stops the exporter (waits at most a few seconds).
    pub async fn shutdown(self) {
        ON.store(false, Ordering::Relaxed);
        let provider = self.provider;
        // (the SDK's shutdown blocks until the processor's task has sent the last batch)
        let done = tokio::task::spawn_blocking(move || provider.shutdown());
        match tokio::time::timeout(SHUTDOWN_WAIT, done).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "trace export did not shut down cleanly"),
            Ok(Err(e)) => tracing::warn!(error = %e, "trace export did not shut down cleanly"),
            Err(_) => tracing::warn!("trace export: the last spans were not sent in time"),
        }
    }
}

/// The OTLP exporter, with its failures turned into (rate-limited) warnings: the batch
/// processor then never logs them itself, and requests never see them.
#[derive(Debug)]
struct WarnOnFailure<E> {
    inner: E,
    url: String,
    last_warning: Mutex<Option<Instant>>,
}

impl<E> WarnOnFailure<E> {
    /// Whether a warning is due now (the first failure, then at most once per `WARN_EVERY`).
    fn warning_due(&self) -> bool {
        let Ok(mut last) = self.last_warning.lock() else {
            return false;
        };
        let now = Instant::now();
        match *last {
            Some(at) if now.duration_since(at) < WARN_EVERY => false,
            _ => {
                *last = Some(now);
                true
            }
        }
    }
}

impl<E: SpanExporter> SpanExporter for WarnOnFailure<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        if let Err(e) = self.inner.export(batch).await
            && self.warning_due()
        {
            tracing::warn!(endpoint = %self.url, error = %e, spans, "trace export failed; spans dropped (next warning in a minute at the earliest)");
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
