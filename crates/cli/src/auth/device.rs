//! The OAuth 2.0 device authorization grant (RFC 8628): ask for a device code, show the user
//! where to approve it (stderr), then poll the token endpoint at the given interval until the
//! user approves, denies, or the code expires (§3.4–3.5).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::CLIENT_ID;
use super::discovery::AuthServer;
use crate::error::{CliError, CliResult};
use crate::http::Http;

/// RFC 8628 §3.4: the grant type of the polling requests.
const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// Seconds between polls when the server does not say (§3.2).
const DEFAULT_INTERVAL: u64 = 5;
/// Seconds added to the interval on `slow_down` (§3.5).
const SLOW_DOWN_STEP: u64 = 5;

/// What to do after a token-endpoint error while polling.
#[derive(Debug, PartialEq, Eq)]
pub enum Poll {
    /// Keep polling at this interval (seconds).
    Wait(u64),
    /// Stop with this message.
    Stop(String),
}

/// RFC 8628 §3.5: the reaction to `error` at the current `interval`.
pub fn on_error(error: &str, description: &str, interval: u64) -> Poll {
    match error {
        "authorization_pending" => Poll::Wait(interval),
        "slow_down" => Poll::Wait(interval + SLOW_DOWN_STEP),
        "expired_token" => {
            Poll::Stop("the sign-in code expired: run `latchkey login` again".into())
        }
        "access_denied" => Poll::Stop("the sign-in was denied".into()),
        _ => Poll::Stop(format!("{description} (error `{error}`)")),
    }
}

/// Runs the grant; the token response.
pub async fn run(http: &Http, auth: &AuthServer, endpoint: &str) -> CliResult<Value> {
    let scope = auth.scopes(&["openid", "offline_access"]);
    let pairs = [
        ("client_id", CLIENT_ID),
        ("scope", scope.as_str()),
        ("resource", auth.resource.as_str()),
    ];
    let start = http
        .form(endpoint, &pairs, None)
        .await?
        .ok_or_else(|| CliError::Other("empty device authorization response".into()))?;
    let field = |k: &str| start.get(k).and_then(Value::as_str).map(str::to_owned);
    let device_code = field("device_code").ok_or_else(|| {
        CliError::Other("the device authorization response has no device_code".into())
    })?;
    let user_code = field("user_code").unwrap_or_default();
    let uri = field("verification_uri_complete")
        .or_else(|| field("verification_uri"))
        .ok_or_else(|| {
            CliError::Other("the device authorization response has no verification_uri".into())
        })?;
    eprintln!("To sign in, open {uri}");
    eprintln!("and check that it shows the code: {user_code}");
    let expires_in = start
        .get("expires_in")
        .and_then(Value::as_u64)
        .unwrap_or(600);
    let interval = start
        .get("interval")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_INTERVAL);
    poll(
        http,
        auth,
        &device_code,
        interval,
        Duration::from_secs(expires_in),
    )
    .await
}

async fn poll(
    http: &Http,
    auth: &AuthServer,
    device_code: &str,
    mut interval: u64,
    lifetime: Duration,
) -> CliResult<Value> {
    let token_endpoint = auth.require("token_endpoint")?;
    let deadline = Instant::now() + lifetime;
    let pairs = [
        ("grant_type", DEVICE_GRANT),
        ("device_code", device_code),
        ("client_id", CLIENT_ID),
        ("resource", auth.resource.as_str()),
    ];
    loop {
        tokio::time::sleep(Duration::from_secs(interval)).await;
        if Instant::now() > deadline {
            return Err(CliError::OAuth {
                status: 400,
                error: "expired_token".into(),
                description: "the sign-in code expired before it was approved".into(),
            });
        }
        match http.form(&token_endpoint, &pairs, None).await {
            Ok(Some(tokens)) => return Ok(tokens),
            Ok(None) => return Err(CliError::Other("empty token response".into())),
            Err(CliError::OAuth {
                error,
                description,
                status,
            }) => match on_error(&error, &description, interval) {
                Poll::Wait(next) => interval = next,
                Poll::Stop(message) => {
                    return Err(CliError::OAuth {
                        status,
                        error,
                        description: message,
                    });
                }
            },
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polling_follows_rfc8628_section_3_5() {
        assert_eq!(on_error("authorization_pending", "", 5), Poll::Wait(5));
        assert_eq!(on_error("slow_down", "", 5), Poll::Wait(10));
        assert_eq!(on_error("slow_down", "", 10), Poll::Wait(15));
        assert!(matches!(on_error("expired_token", "", 5), Poll::Stop(_)));
        assert!(matches!(on_error("access_denied", "", 5), Poll::Stop(_)));
        assert_eq!(
            on_error("invalid_client", "unknown client", 5),
            Poll::Stop("unknown client (error `invalid_client`)".into())
        );
    }
}
