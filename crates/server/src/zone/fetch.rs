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

    /// Checks a URL against the address policy before any request is made.
    fn check(&self, url: &str) -> Result<url::Url, FetchError> {
        let parsed =
            url::Url::parse(url).map_err(|e| FetchError::Failed(url.to_owned(), e.to_string()))?;
        let ok_scheme =
            parsed.scheme() == "https" || (parsed.scheme() == "http" && self.allow_private);
        let ok_host = match parsed.host() {
            Some(url::Host::Ipv4(ip)) => allowed(IpAddr::V4(ip), self.allow_private),
            Some(url::Host::Ipv6(ip)) => allowed(IpAddr::V6(ip), self.allow_private),
            Some(url::Host::Domain(_)) => true,
            None => false,
        };
        if ok_scheme && ok_host {
            Ok(parsed)
        } else {
            Err(FetchError::Forbidden(url.to_owned()))
        }
    }

    /// Reads a bounded body.
    async fn body(url: &str, mut res: reqwest::Response) -> Result<Vec<u8>, FetchError> {
        let mut bytes = Vec::new();
        while let Some(chunk) = res
            .chunk()
            .await
            .map_err(|e| FetchError::Failed(url.to_owned(), e.to_string()))?
        {
            if bytes.len() + chunk.len() > MAX_BYTES {
                return Err(FetchError::Failed(
                    url.to_owned(),
                    "response too large".into(),
                ));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// POSTs a form (optionally with HTTP Basic credentials) and reads a JSON (or form-encoded)
    /// answer of any status.
    pub async fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> Result<(u16, Value), FetchError> {
        let parsed = self.check(url)?;
        let fail = |e: String| FetchError::Failed(url.to_owned(), e);
        let body: String = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let mut req = self
            .client
            .post(parsed)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body);
        if let Some((id, secret)) = basic {
            let enc = |v: &str| form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            req = req.basic_auth(enc(id), Some(enc(secret)));
        }
        let res = req.send().await.map_err(|e| fail(e.to_string()))?;
        let status = res.status().as_u16();
        let bytes = Self::body(url, res).await?;
        let value = serde_json::from_slice(&bytes).or_else(|_| {
            let pairs: serde_json::Map<String, Value> = form_urlencoded::parse(&bytes)
                .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
                .collect();
            if pairs.is_empty() {
                Err(fail("the answer is not JSON".into()))
            } else {
                Ok(Value::Object(pairs))
            }
        })?;
        Ok((status, value))
    }

    /// GETs `url` with a bearer token and reads JSON (e.g. OIDC userinfo); not cached.
    pub async fn get_bearer(&self, url: &str, token: &str) -> Result<Value, FetchError> {
        let parsed = self.check(url)?;
        let fail = |e: String| FetchError::Failed(url.to_owned(), e);
        let res = self
            .client
            .get(parsed)
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !res.status().is_success() {
            return Err(fail(format!("HTTP {}", res.status())));
        }
        let bytes = Self::body(url, res).await?;
        serde_json::from_slice(&bytes).map_err(|e| fail(e.to_string()))
    }

    /// GETs `url` as JSON (cached). `fresh` bypasses the cache (e.g. on an unknown `kid`).
    pub async fn json(&self, url: &str, fresh: bool) -> Result<Arc<Value>, FetchError> {
        if !fresh && let Some(v) = self.cache.get(url) {
            return Ok(v);
        }
        let fail = |e: String| FetchError::Failed(url.to_owned(), e);
        let parsed = self.check(url)?;
        let res = self
            .client
            .get(parsed)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| fail(e.to_string()))?;
        if !res.status().is_success() {
            return Err(fail(format!("HTTP {}", res.status())));
        }
        let body = Self::body(url, res).await?;
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
