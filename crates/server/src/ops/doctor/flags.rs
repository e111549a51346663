//! The doctor's checks that read the settings alone (no file, no database): the public URL's
//! scheme, private fetches on a public listener, and how `/metrics` is guarded (with the token
//! file's mode).

use std::net::SocketAddr;

use super::{Finding, Level, finding};
use crate::config::ServeConfig;

fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
    }
}

pub(super) fn public_url(config: &ServeConfig) -> Finding {
    const CHECK: &str = "public URL";
    let public = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    let url = match url::Url::parse(&public) {
        Ok(u) => u,
        Err(e) => return finding(Level::Fail, CHECK, format!("`{public}` is not a URL: {e}")),
    };
    let loopback = url.host().is_some_and(|h| is_loopback_host(&h));
    match url.scheme() {
        "https" => finding(Level::Ok, CHECK, public),
        "http" if loopback => finding(Level::Ok, CHECK, format!("{public} (http on loopback)")),
        "http" => finding(
            Level::Fail,
            CHECK,
            format!(
                "{public} uses the http scheme on a non-loopback host: tokens, secrets and \
                 cookies would cross the network in clear; use https (TLS at a proxy in front)"
            ),
        ),
        other => finding(
            Level::Fail,
            CHECK,
            format!("{public}: the scheme must be https (found `{other}`)"),
        ),
    }
}

pub(super) fn private_fetch(config: &ServeConfig) -> Finding {
    const CHECK: &str = "private fetch";
    let listen: SocketAddr = config.listen;
    let loopback = listen.ip().is_loopback();
    let allowed = config.allow_private_fetch.unwrap_or(loopback);
    match (allowed, loopback) {
        (true, false) => finding(
            Level::Warn,
            CHECK,
            format!(
                "LATCHKEY_ALLOW_PRIVATE_FETCH is on while listening on {listen}: client JWKS \
                 and provider discovery URLs given over the API may reach private addresses of \
                 this network (server-side request forgery); turn it off unless needed"
            ),
        ),
        (true, true) => finding(
            Level::Ok,
            CHECK,
            "private addresses may be fetched (listening on loopback only)",
        ),
        (false, _) => finding(
            Level::Ok,
            CHECK,
            "private and loopback addresses are not fetched",
        ),
    }
}

pub(super) fn metrics(config: &ServeConfig) -> Finding {
    const CHECK: &str = "metrics";
    let listen = config.listen;
    match crate::metrics::configured_token(config) {
        Err(e) => finding(
            Level::Fail,
            CHECK,
            format!("{e}: the server will not start"),
        ),
        Ok(_) if !config.metrics => finding(Level::Ok, CHECK, "off"),
        Ok(Some(_)) => token_file_mode(config),
        Ok(None) if listen.ip().is_loopback() => finding(
            Level::Ok,
            CHECK,
            "on, without a token (listening on loopback only)",
        ),
        Ok(None) => finding(
            Level::Warn,
            CHECK,
            format!(
                "/metrics is on without a token while listening on {listen}: whoever reaches \
                 it reads zone ids and traffic; set --metrics-token-file or keep the path from \
                 the network"
            ),
        ),
    }
}

/// The scrape token's file: readable by its owner and group only (a Kubernetes Secret is
/// mounted 0644 unless told otherwise; the chart mounts it 0440).
fn token_file_mode(config: &ServeConfig) -> Finding {
    const CHECK: &str = "metrics";
    let path = config.metrics_token_file.as_deref();
    match path.and_then(super::mode) {
        Some(m) if m & 0o007 != 0 => finding(
            Level::Warn,
            CHECK,
            format!(
                "on; the token file {} is open to other users (mode {m:04o}): chmod 600 it \
                 (a Kubernetes Secret volume: defaultMode 0440)",
                path.map(|p| p.display().to_string()).unwrap_or_default()
            ),
        ),
        _ => finding(Level::Ok, CHECK, "on; a scrape must present the token"),
    }
}
