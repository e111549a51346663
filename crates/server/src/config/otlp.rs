//! The trace export settings (`--otlp-endpoint`, `--otlp-service-name`): the flags, and the check
//! of the collector URL, made before anything else starts, so a wrong URL stops `serve` at once
//! with an error naming the flag.

use clap::Args;

/// Service name of exported spans when neither `--otlp-service-name` nor `OTEL_SERVICE_NAME`
/// gives one.
pub const DEFAULT_SERVICE_NAME: &str = "latchkey";

/// The path OTLP/HTTP receivers take traces at.
const TRACES_PATH: &str = "/v1/traces";

/// Trace export flags. Without `--otlp-endpoint` nothing is exported (and nothing is set up).
#[derive(Debug, Clone, Default, Args)]
pub struct OtlpConfig {
    /// Export traces over OTLP/HTTP (JSON) to this collector, e.g. `http://otel-collector:4318`:
    /// spans are POSTed to `{URL}/v1/traces` (a URL already ending in `/v1/traces` is used as
    /// is). Off by default.
    #[arg(
        long = "otlp-endpoint",
        env = "LATCHKEY_OTLP_ENDPOINT",
        value_name = "URL"
    )]
    pub endpoint: Option<String>,

    /// Service name (`service.name`) of exported spans. Default: `OTEL_SERVICE_NAME`, else
    /// `latchkey`.
    #[arg(
        long = "otlp-service-name",
        env = "LATCHKEY_OTLP_SERVICE_NAME",
        value_name = "NAME"
    )]
    pub service_name: Option<String>,
}

impl OtlpConfig {
    /// The checked `--otlp-endpoint`, if given. The error never repeats the URL (it might carry
    /// a credential).
    pub fn traces_url(&self) -> Result<Option<TracesUrl>, String> {
        self.endpoint.as_deref().map(traces_url).transpose()
    }

    /// The service name: the flag, else `OTEL_SERVICE_NAME`, else `latchkey`.
    pub fn service_name(&self) -> String {
        self.service_name
            .clone()
            .or_else(|| std::env::var("OTEL_SERVICE_NAME").ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_SERVICE_NAME.to_owned())
    }
}

/// The URL spans are POSTed to (checked: http or https, a host, no credentials, no query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracesUrl(String);

impl TracesUrl {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TracesUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks a collector URL and makes it the URL spans are POSTed to.
pub fn traces_url(s: &str) -> Result<TracesUrl, String> {
    let url = url::Url::parse(s.trim())
        .map_err(|e| format!("not a URL ({e}); expected e.g. `http://otel-collector:4318`"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "scheme `{}` is not supported: OTLP over HTTP needs `http://` or `https://`",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("the URL has no host".to_owned());
    }
    // (the URL is logged at start: credentials belong in OTEL_EXPORTER_OTLP_HEADERS)
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "the URL must not carry credentials: give them as headers in OTEL_EXPORTER_OTLP_HEADERS"
                .to_owned(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the URL must not carry a query or a fragment".to_owned());
    }
    let path = url.path().trim_end_matches('/');
    let path = if path.ends_with(TRACES_PATH) {
        path.to_owned()
    } else {
        format!("{path}{TRACES_PATH}")
    };
    let mut full = url;
    full.set_path(&path);
    Ok(TracesUrl(full.to_string()))
}

#[cfg(test)]
mod tests {
    use super::traces_url;

    fn ok(s: &str) -> String {
        traces_url(s).map(|u| u.to_string()).unwrap_or_else(|e| e)
    }

    #[test]
    fn the_traces_path_is_added_once() {
        assert_eq!(
            ok("http://collector:4318"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            ok("http://collector:4318/"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            ok("https://otel.example.com/otlp"),
            "https://otel.example.com/otlp/v1/traces"
        );
        assert_eq!(
            ok("http://127.0.0.1:4318/v1/traces"),
            "http://127.0.0.1:4318/v1/traces"
        );
    }

    #[test]
    fn bad_urls_are_refused_with_a_reason() {
        for (bad, why) in [
            ("collector:4318", "scheme"),
            ("not a url", "not a URL"),
            ("grpc://collector:4317", "scheme `grpc`"),
            ("http://user:pw@collector:4318", "credentials"),
            ("http://collector:4318/?token=x", "query"),
            ("file:///tmp/x", "scheme `file`"),
        ] {
            let e = traces_url(bad).err().unwrap_or_default();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }
}
