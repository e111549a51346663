//! Outbound fetches of foreign JSON documents (JWKS, client metadata, OIDC discovery) with a
//! timeout, a size limit, a short cache, and the address policy of `zone::address`: never
//! link-local or cloud metadata addresses; private and loopback ranges only when the operator
//! allows them (`--allow-private-fetch`, on for local development, off in production).
//!
//! The policy is enforced on the addresses actually connected to: the client resolves names
//! through [`GuardedResolver`], which drops every disallowed address, and connects only to what
//! it returned (no second lookup, so no DNS rebinding between check and connect). The client
//! never uses a proxy (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` are ignored): a proxy would
//! resolve the name itself, out of the policy's reach.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use latchkey_crypto::jws::{Compact, VerifyingKey};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use serde_json::Value;

pub use super::address::allowed;
use super::address::is_metadata_name;

const MAX_BYTES: usize = 256 * 1024;
const TIMEOUT: Duration = Duration::from_secs(5);
const CACHE_TTL: Duration = Duration::from_secs(300);
/// How often one URL may be fetched again past the cache (e.g. on an unknown `kid`).
const REFETCH_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("`{0}` is not an allowed fetch target")]
    Forbidden(String),
    #[error("fetching `{0}` failed: {1}")]
    Failed(String, String),
}

/// DNS resolution that drops disallowed addresses, so a name cannot point the server inward.
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            if is_metadata_name(name.as_str()) {
                return Err(format!("`{}` is a metadata service", name.as_str()).into());
            }
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
    /// URLs fetched past the cache within the last [`REFETCH_INTERVAL`].
    refetched: moka::sync::Cache<String, ()>,
}

impl Fetcher {
    pub fn new(allow_private: bool) -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
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
            refetched: moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(REFETCH_INTERVAL)
                .build(),
        }
    }

    /// Whether the operator lets fetches reach private and loopback addresses
    /// (`--allow-private-fetch`).
    pub fn allows_private(&self) -> bool {
        self.allow_private
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
            Some(url::Host::Domain(name)) => !is_metadata_name(name),
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
        self.get_json(url, Some(token)).await
    }

    /// GETs `url` as JSON (cached).
    pub async fn json(&self, url: &str) -> Result<Arc<Value>, FetchError> {
        if let Some(v) = self.cache.get(url) {
            return Ok(v);
        }
        self.fetch_json(url).await
    }

    /// The key of the JWKS at `jwks_url` that `token` names by `kid` (or its only key when it
    /// names none). An unknown `kid` may be a key just rotated in, so the set is fetched again
    /// past the cache — at most once a minute per URL ([`Self::refetch`]).
    pub async fn signing_key(
        &self,
        jwks_url: &str,
        token: &Compact,
    ) -> Result<Option<VerifyingKey>, FetchError> {
        let (jwks, just_fetched) = self.json_cached(jwks_url).await?;
        let key = pick_key(&jwks, token);
        if key.is_some() || just_fetched {
            return Ok(key);
        }
        Ok(self
            .refetch(jwks_url)
            .await?
            .and_then(|jwks| pick_key(&jwks, token)))
    }

    /// The string member `name` of `issuer`'s discovery document (OpenID configuration, then
    /// RFC 8414 authorization-server metadata), if either has it.
    pub async fn discovered(&self, issuer: &str, name: &str) -> Option<String> {
        let base = issuer.trim_end_matches('/');
        for doc in [
            "/.well-known/openid-configuration",
            "/.well-known/oauth-authorization-server",
        ] {
            if let Ok(meta) = self.json(&format!("{base}{doc}")).await
                && let Some(v) = meta.get(name).and_then(Value::as_str)
            {
                return Some(v.to_owned());
            }
        }
        None
    }

    /// The cached document at `url` and whether it was fetched just now.
    async fn json_cached(&self, url: &str) -> Result<(Arc<Value>, bool), FetchError> {
        match self.cache.get(url) {
            Some(v) => Ok((v, false)),
            None => Ok((self.fetch_json(url).await?, true)),
        }
    }

    /// Fetches `url` past the cache, at most once per [`REFETCH_INTERVAL`] per URL: `None` when
    /// it was refetched recently (an attacker sending unknown `kid`s cannot make the server
    /// hammer a key-set URL).
    pub async fn refetch(&self, url: &str) -> Result<Option<Arc<Value>>, FetchError> {
        if !self.may_refetch(url) {
            return Ok(None);
        }
        self.fetch_json(url).await.map(Some)
    }

    /// Takes the refetch slot of `url` (false when taken within the interval).
    fn may_refetch(&self, url: &str) -> bool {
        self.refetched
            .entry(url.to_owned())
            .or_insert(())
            .is_fresh()
    }

    /// GETs `url` (after the address check) as JSON, with a bearer token when given.
    async fn get_json(&self, url: &str, bearer: Option<&str>) -> Result<Value, FetchError> {
        let fail = |e: String| FetchError::Failed(url.to_owned(), e);
        let mut req = self
            .client
            .get(self.check(url)?)
            .header("accept", "application/json");
        if let Some(token) = bearer {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.map_err(|e| fail(e.to_string()))?;
        if !res.status().is_success() {
            return Err(fail(format!("HTTP {}", res.status())));
        }
        let body = Self::body(url, res).await?;
        serde_json::from_slice(&body).map_err(|e| fail(e.to_string()))
    }

    async fn fetch_json(&self, url: &str) -> Result<Arc<Value>, FetchError> {
        let value = Arc::new(self.get_json(url, None).await?);
        self.cache.insert(url.to_owned(), value.clone());
        Ok(value)
    }
}

/// The key named by the token's `kid`, or the only key when it names none.
fn pick_key(jwks: &Value, c: &Compact) -> Option<VerifyingKey> {
    let mut keys = jwks
        .get("keys")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|k| VerifyingKey::from_jwk(k).ok());
    match c.kid() {
        Some(kid) => keys.find(|k| k.kid.as_deref() == Some(kid)),
        None => {
            let first = keys.next();
            keys.next().is_none().then_some(first).flatten()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_naming_forbidden_targets_are_refused_before_any_request() {
        let f = Fetcher::new(true);
        for url in [
            "http://169.254.169.254/latest/meta-data/",
            "http://[fd00:ec2::254]/latest/meta-data/",
            "http://100.100.100.200/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://[::ffff:169.254.169.254]/",
            "http://[64:ff9b::a9fe:a9fe]/",
            "http://[2002:a9fe:a9fe::]/",
            "http://[fe80::1]/",
        ] {
            assert!(
                matches!(f.check(url), Err(FetchError::Forbidden(_))),
                "{url}"
            );
        }
        let strict = Fetcher::new(false);
        for url in [
            "https://127.0.0.1/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::10.0.0.1]/",
            "https://[64:ff9b::7f00:1]/",
            "https://[2002:c0a8:0101::]/",
            "https://100.64.1.1/",
            "https://[fd00::1]/",
            "http://example.com/",
        ] {
            assert!(
                matches!(strict.check(url), Err(FetchError::Forbidden(_))),
                "{url}"
            );
        }
    }

    #[tokio::test]
    async fn the_resolver_drops_forbidden_addresses() {
        let strict = GuardedResolver {
            allow_private: false,
        };
        let name = |n: &str| n.parse::<Name>().unwrap();
        assert!(strict.resolve(name("localhost")).await.is_err());
        assert!(
            strict
                .resolve(name("metadata.google.internal"))
                .await
                .is_err()
        );
        let open = GuardedResolver {
            allow_private: true,
        };
        let addrs: Vec<SocketAddr> = open.resolve(name("localhost")).await.unwrap().collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()), "{addrs:?}");
        assert!(
            open.resolve(name("metadata.google.internal"))
                .await
                .is_err()
        );
    }

    #[test]
    fn a_url_is_refetched_at_most_once_a_minute() {
        let f = Fetcher::new(true);
        assert!(f.may_refetch("https://a.example/jwks"));
        assert!(!f.may_refetch("https://a.example/jwks"));
        assert!(!f.may_refetch("https://a.example/jwks"));
        assert!(f.may_refetch("https://b.example/jwks"));
    }
}
