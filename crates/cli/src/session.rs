//! The cached sign-in in use: `--token` as given, else the profile's cached access token,
//! refreshed (refresh-token grant, the rotated refresh token stored) when it has expired.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::config::{ConfigDir, TokenCache};
use crate::error::{CliError, CliResult};
use crate::http::Http;

/// An access token is refreshed this many seconds before it expires.
const EXPIRY_MARGIN: u64 = 30;

/// The client id of the CLI in every platform zone.
pub const CLIENT_ID: &str = "latchkey-cli";

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Where a bearer comes from: the `--token` flag, else the profile's cache.
pub struct Session<'a> {
    pub http: &'a Http,
    /// The server of this invocation.
    pub server: &'a str,
    pub dir: &'a ConfigDir,
    pub profile: &'a str,
    pub token: Option<&'a str>,
}

/// The bearer for a management API call.
pub async fn bearer(s: &Session<'_>) -> CliResult<String> {
    if let Some(token) = s.token {
        return Ok(token.to_owned());
    }
    let Some(cache) = s.dir.tokens(s.profile)? else {
        return Err(CliError::NotSignedIn(s.profile.to_owned()));
    };
    if cache.server != s.server {
        // Never hand a token to a server it was not obtained from.
        return Err(CliError::OtherServer {
            profile: s.profile.to_owned(),
            signed_in: cache.server,
            server: s.server.to_owned(),
        });
    }
    if !expired(&cache, now()) {
        return Ok(cache.access_token);
    }
    let refreshed = refresh(s, cache).await?;
    Ok(refreshed.access_token)
}

/// True when the access token is expired or about to be.
pub fn expired(cache: &TokenCache, now: u64) -> bool {
    cache
        .expires_at
        .is_some_and(|at| at <= now.saturating_add(EXPIRY_MARGIN))
}

/// Runs the refresh-token grant and stores the new tokens (the server rotates refresh tokens).
async fn refresh(s: &Session<'_>, cache: TokenCache) -> CliResult<TokenCache> {
    let _lock = s.dir.lock_tokens(s.profile)?;
    // Another process may have refreshed while this one waited for the lock.
    let mut cache = match s.dir.tokens(s.profile)? {
        Some(fresh) if fresh.server == cache.server && !expired(&fresh, now()) => return Ok(fresh),
        Some(fresh) => fresh,
        None => return Err(CliError::NotSignedIn(s.profile.to_owned())),
    };
    let Some(refresh_token) = cache.refresh_token.clone() else {
        return Err(CliError::NotSignedIn(s.profile.to_owned()));
    };
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token.as_str()),
        ("client_id", cache.client_id.as_str()),
        ("resource", cache.resource.as_str()),
    ];
    let answer = match s.http.form(&cache.token_endpoint, &pairs, None).await {
        Ok(answer) => answer,
        Err(CliError::OAuth { error, .. }) if error == "invalid_grant" => {
            // The refresh token is dead (expired, revoked or reused): the cache is useless.
            let _ = s.dir.delete_tokens(s.profile);
            return Err(CliError::NotSignedIn(s.profile.to_owned()));
        }
        Err(e) => return Err(e),
    };
    apply_token_response(&mut cache, answer.as_ref(), now())?;
    s.dir.save_tokens(s.profile, &cache)?;
    Ok(cache)
}

/// Copies a token response into `cache`: the access token, its expiry, and the refresh token
/// when a new one came (rotation) — the old one is kept otherwise.
pub fn apply_token_response(
    cache: &mut TokenCache,
    answer: Option<&Value>,
    now: u64,
) -> CliResult<()> {
    let answer = answer.ok_or_else(|| CliError::Other("empty token response".into()))?;
    let text = |k: &str| answer.get(k).and_then(Value::as_str).map(str::to_owned);
    cache.access_token = text("access_token")
        .ok_or_else(|| CliError::Other("the token response has no access_token".into()))?;
    if let Some(rt) = text("refresh_token") {
        cache.refresh_token = Some(rt);
    }
    cache.expires_at = answer
        .get("expires_in")
        .and_then(Value::as_u64)
        .map(|s| now.saturating_add(s));
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cache(expires_at: Option<u64>) -> TokenCache {
        TokenCache {
            server: "s".into(),
            resource: "r".into(),
            issuer: "i".into(),
            token_endpoint: "t".into(),
            revocation_endpoint: None,
            client_id: CLIENT_ID.into(),
            access_token: "old".into(),
            refresh_token: Some("rt1".into()),
            expires_at,
        }
    }

    #[tokio::test]
    async fn a_cached_token_goes_only_to_its_server() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ConfigDir::at(tmp.path().to_path_buf());
        dir.save_tokens("default", &cache(None)).unwrap();
        let http = Http::new().unwrap();
        let session = |server| Session {
            http: &http,
            server,
            dir: &dir,
            profile: "default",
            token: None,
        };
        assert_eq!(bearer(&session("s")).await.unwrap(), "old");
        let elsewhere = bearer(&session("http://evil")).await.unwrap_err();
        assert!(
            matches!(elsewhere, CliError::OtherServer { .. }),
            "{elsewhere}"
        );
        assert_eq!(elsewhere.exit_code(), 3);
        let flag = Session {
            token: Some("given"),
            ..session("http://evil")
        };
        assert_eq!(bearer(&flag).await.unwrap(), "given");
    }

    #[test]
    fn expiry_has_a_margin() {
        assert!(!expired(&cache(None), 1000));
        assert!(!expired(&cache(Some(2000)), 1000));
        assert!(expired(&cache(Some(1020)), 1000));
        assert!(expired(&cache(Some(900)), 1000));
    }

    #[test]
    fn rotation_keeps_the_newest_refresh_token() {
        let mut c = cache(Some(1));
        let answer = json!({"access_token": "new", "refresh_token": "rt2", "expires_in": 3600});
        apply_token_response(&mut c, Some(&answer), 100).unwrap();
        assert_eq!(
            (
                c.access_token.as_str(),
                c.refresh_token.as_deref(),
                c.expires_at
            ),
            ("new", Some("rt2"), Some(3700))
        );
        let no_rotation = json!({"access_token": "newer"});
        apply_token_response(&mut c, Some(&no_rotation), 100).unwrap();
        assert_eq!(c.refresh_token.as_deref(), Some("rt2"));
        assert_eq!(c.expires_at, None);
        assert!(apply_token_response(&mut c, Some(&json!({})), 0).is_err());
    }
}
