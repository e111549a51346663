//! Outbound fetches of foreign JSON documents (JWKS, client metadata, OIDC discovery) with a
//! timeout, a size limit, a short cache, and an address policy: never link-local or cloud
//! metadata addresses; private and loopback ranges only when the operator allows them
//! (`--allow-private-fetch`, on for local development, off in production).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;

const MAX_BYTES: usize = 256 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);
const CACHE_TTL: Duration = Duration::from_secs(300);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not an allowed fetch target")]
    Forbidden(String),
    #[error("fetching `{0}` failed: {1}")]
    Failed(String, String),
}

/// Whether an address may be fetched from.
pub fn allowed(ip: IpAddr, allow_private: bool) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let link_local = o[0] == 169 && o[1] == 254;
            let private = v4.is_private() || (o[0] == 100 && (64..128).contains(&o[1]));
            !(link_local
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || o[0] == 0)
                && (allow_private || !(private || v4.is_loopback()))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return allowed(IpAddr::V4(v4), allow_private);
            }
            let seg = v6.segments();
            let link_local = (seg[0] & 0xffc0) == 0xfe80;
            let unique_local = (seg[0] & 0xfe00) == 0xfc00;
            let metadata = seg[0] == 0xfd00 && seg[1] == 0x0ec2;
            !(link_local || metadata || v6.is_unspecified() || v6.is_multicast())
                && (allow_private || !(unique_local || v6.is_loopback()))
        }
    }
}

/// DNS resolution that drops disallowed addresses, so a name cannot point the server inward.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = format!("{}:0", name.as_str());
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host(host)
                .await?
                .filter(|a| allowed(a.ip(), allow_private))
                .collect();
            if addrs.is_empty() {
                return Err(format!("`{}` resolves to no allowed address", name.as_str()).into());
            }
            let it: Addrs = Box::new(addrs.into_iter());
            Ok(it)
        })
    }
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    allow_private: bool,
    cache: moka::sync::Cache<String, Arc<Value>>,
}

impl Fetcher {
    pub fn new(allow_private: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver { allow_private }))
            .user_agent("latchkey")
            .build()
            .unwrap_or_default();
        Self {
            client,
            allow_private,
            cache: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(CACHE_TTL)
                .build(),
        }
    }

    /// GETs `url` as JSON (cached). `fresh` bypasses the cache (e.g. on an unknown `kid`).
    pub async fn json(&self, url: &str, fresh: bool) -> Result<Arc<Value>, FetchError> {
        if !fresh && let Some(v) = self.cache.get(url) {
            return Ok(v);
        }
        let fail = |e: String| FetchError::Failed(url.to_owned(), e);
        let parsed = url::Url::parse(url).map_err(|e| fail(e.to_string()))?;
        if !matches!(parsed.scheme(), "https" | "http") {
            return Err(FetchError::Forbidden(url.to_owned()));
        }
        if parsed.scheme() == "http" && !self.allow_private {
            return Err(FetchError::Forbidden(url.to_owned()));
        }
        if let Some(url::Host::Ipv4(ip)) = parsed.host()
            && !allowed(IpAddr::V4(ip), self.allow_private)
        {
            return Err(FetchError::Forbidden(url.to_owned()));
        }
        if let Some(url::Host::Ipv6(ip)) = parsed.host()
            && !allowed(IpAddr::V6(ip), self.allow_private)
        {
            return Err(FetchError::Forbidden(url.to_owned()));
        }
        let mut res = self
            .client
            .get(parsed)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !res.status().is_success() {
            return Err(fail(format!("HTTP {}", res.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(|e| fail(e.to_string()))? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(fail("document too large".into()));
            }
            body.extend_from_slice(&chunk);
        }
        let value: Arc<Value> =
            Arc::new(serde_json::from_slice(&body).map_err(|e| fail(e.to_string()))?);
        self.cache.insert(url.to_owned(), value.clone());
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_policy() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(
            !allowed(ip("169.254.169.254"), true),
            "cloud metadata never"
        );
        assert!(!allowed(ip("fe80::1"), true));
        assert!(!allowed(ip("0.0.0.0"), true));
        assert!(!allowed(ip("::ffff:169.254.169.254"), true));
        assert!(allowed(ip("127.0.0.1"), true));
        assert!(!allowed(ip("127.0.0.1"), false));
        assert!(!allowed(ip("10.1.2.3"), false));
        assert!(!allowed(ip("fd12::1"), false));
        assert!(allowed(ip("93.184.216.34"), false));
    }
}
