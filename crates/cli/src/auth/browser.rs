//! Sign-in in a browser (RFC 8252): authorization code with PKCE (S256) and a loopback redirect
//! `http://127.0.0.1:{port}/callback` on a random port. A one-shot listener takes the redirect,
//! checks `state`, answers a short page, and the code is redeemed at the token endpoint.

use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::CLIENT_ID;
use super::discovery::AuthServer;
use super::pkce::{Pkce, random};
use crate::error::{CliError, CliResult};
use crate::http::Http;

/// How long the listener waits for the browser.
const WAIT: Duration = Duration::from_secs(300);

/// Runs the flow; the token response.
pub async fn run(http: &Http, auth: &AuthServer) -> CliResult<Value> {
    let listener = TcpListener::bind(("127.0.0.1", 0))
        .await
        .map_err(|e| CliError::Other(format!("cannot listen on 127.0.0.1: {e}")))?;
    let port = listener
        .local_addr()
        .map_err(|e| CliError::Other(format!("cannot listen on 127.0.0.1: {e}")))?
        .port();
    let redirect_uri = format!("http://127.0.0.1:{port}/callback");
    let pkce = Pkce::new()?;
    let state = random(16)?;
    let url = authorize_url(auth, &redirect_uri, &pkce.challenge, &state)?;
    eprintln!("To sign in, open this address in a browser:\n{url}");
    open_browser(&url);
    let params = tokio::time::timeout(WAIT, wait_for_redirect(&listener))
        .await
        .map_err(|_| CliError::Other("no sign-in within 5 minutes".into()))??;
    let code = check_redirect(&params, &state)?;
    let token_endpoint = auth.require("token_endpoint")?;
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect_uri.as_str()),
        ("client_id", CLIENT_ID),
        ("code_verifier", pkce.verifier.as_str()),
        ("resource", auth.resource.as_str()),
    ];
    http.form(&token_endpoint, &pairs, None)
        .await?
        .ok_or_else(|| CliError::Other("empty token response".into()))
}

fn authorize_url(
    auth: &AuthServer,
    redirect_uri: &str,
    challenge: &str,
    state: &str,
) -> CliResult<String> {
    let endpoint = auth.require("authorization_endpoint")?;
    let scope = auth.scopes(&["openid", "offline_access"]);
    let mut url = url::Url::parse(&endpoint)
        .map_err(|e| CliError::Other(format!("bad authorization_endpoint `{endpoint}`: {e}")))?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", CLIENT_ID)
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("scope", &scope)
        .append_pair("state", state)
        .append_pair("code_challenge", challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("resource", &auth.resource);
    Ok(url.into())
}

/// Opens `$BROWSER` on the URL when it is set (the URL is printed either way).
fn open_browser(url: &str) {
    if let Some(browser) = std::env::var_os("BROWSER").filter(|b| !b.is_empty()) {
        let _ = std::process::Command::new(browser)
            .arg(url)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
    }
}

/// Accepts connections until one is `GET /callback?…`; its query parameters.
async fn wait_for_redirect(listener: &TcpListener) -> CliResult<Vec<(String, String)>> {
    loop {
        let (stream, _) = listener
            .accept()
            .await
            .map_err(|e| CliError::Other(format!("loopback listener: {e}")))?;
        if let Some(params) = serve_one(stream).await {
            return Ok(params);
        }
    }
}

/// Reads one request; answers it; the callback's parameters when it was the callback.
async fn serve_one(mut stream: TcpStream) -> Option<Vec<(String, String)>> {
    let mut buf = vec![0u8; 8192];
    let mut len = 0;
    while len < buf.len() {
        let n = stream.read(&mut buf[len..]).await.ok()?;
        if n == 0 {
            break;
        }
        len += n;
        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let head = String::from_utf8_lossy(&buf[..len]);
    let target = head.lines().next().and_then(|l| {
        let mut parts = l.split(' ');
        (parts.next() == Some("GET"))
            .then(|| parts.next())
            .flatten()
    });
    let params = target
        .and_then(|t| t.strip_prefix("/callback"))
        .map(|rest| {
            let query = rest.strip_prefix('?').unwrap_or("");
            form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect::<Vec<_>>()
        });
    let (status, body) = match &params {
        Some(_) => (
            "200 OK",
            "Latchkey: you can close this window and return to the terminal.",
        ),
        None => ("404 Not Found", "not found"),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
    params
}

/// The code of a redirect whose `state` matches, or the error it carries.
pub fn check_redirect(params: &[(String, String)], state: &str) -> CliResult<String> {
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    if get("state").as_deref() != Some(state) {
        return Err(CliError::Other(
            "the sign-in redirect has the wrong `state`; try again".into(),
        ));
    }
    if let Some(error) = get("error") {
        return Err(CliError::OAuth {
            status: 400,
            description: get("error_description").unwrap_or_else(|| error.clone()),
            error,
        });
    }
    get("code").ok_or_else(|| CliError::Other("the sign-in redirect has no code".into()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect()
    }

    #[test]
    fn redirects_are_checked() {
        assert_eq!(
            check_redirect(&p(&[("code", "c"), ("state", "s")]), "s").unwrap(),
            "c"
        );
        assert!(check_redirect(&p(&[("code", "c"), ("state", "x")]), "s").is_err());
        assert!(check_redirect(&p(&[("code", "c")]), "s").is_err());
        let denied = check_redirect(&p(&[("error", "access_denied"), ("state", "s")]), "s");
        assert!(denied.unwrap_err().to_string().contains("access_denied"));
    }

    #[test]
    fn the_authorize_url_carries_pkce_state_and_resource() {
        let auth = AuthServer {
            resource: "http://api".into(),
            issuer: "http://i".into(),
            metadata: json!({"authorization_endpoint": "http://i/authorize"}),
        };
        let url = authorize_url(&auth, "http://127.0.0.1:9/callback", "ch", "st").unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let q: std::collections::HashMap<_, _> = parsed.query_pairs().into_owned().collect();
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], "ch");
        assert_eq!(q["state"], "st");
        assert_eq!(q["resource"], "http://api");
        assert_eq!(q["client_id"], "latchkey-cli");
        assert_eq!(q["redirect_uri"], "http://127.0.0.1:9/callback");
    }
}
