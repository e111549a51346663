//! One invocation's connection settings — flags and environment over the profile over defaults —
//! and the management API calls every command makes through them (URL building, the bearer, the
//! caller's organization when `--org` is not given).

use reqwest::Method;
use serde_json::Value;

use crate::GlobalArgs;
use crate::config::{ConfigDir, Profile};
use crate::error::{CliError, CliResult};
use crate::http::Http;
use crate::output::Format;
use crate::session::Session;

/// The server used when neither a flag, the environment nor the profile names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

/// Settings and clients of one invocation.
pub struct Context {
    pub http: Http,
    pub dir: ConfigDir,
    pub profile_name: String,
    /// The profile as stored (before flags were applied).
    pub profile: Profile,
    /// Base URL of the server, without a trailing slash.
    pub server: String,
    pub org: Option<String>,
    pub zone: Option<String>,
    /// `--token`: a bearer that replaces the cached sign-in.
    pub token: Option<String>,
    pub format: Format,
}

impl Context {
    pub fn new(args: &GlobalArgs) -> CliResult<Self> {
        let dir = ConfigDir::locate()?;
        let profile = dir.profile(&args.profile)?;
        let server = args
            .server
            .clone()
            .or_else(|| profile.server.clone())
            .unwrap_or_else(|| DEFAULT_SERVER.to_owned());
        let format = match (args.json, args.output) {
            (true, _) => Format::Json,
            (false, Some(f)) => f,
            (false, None) => Format::Table,
        };
        Ok(Self {
            http: Http::new()?,
            org: args.org.clone().or_else(|| profile.org.clone()),
            zone: args.zone.clone().or_else(|| profile.zone.clone()),
            server: server.trim_end_matches('/').to_owned(),
            token: args.token.clone().filter(|t| !t.is_empty()),
            profile_name: args.profile.clone(),
            profile,
            dir,
            format,
        })
    }

    /// `{server}{path}` with `query` appended (form-encoded).
    pub fn url(&self, path: &str, query: &[(String, String)]) -> String {
        let mut url = format!("{}{path}", self.server);
        if !query.is_empty() {
            let q = form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish();
            url.push(if path.contains('?') { '&' } else { '?' });
            url.push_str(&q);
        }
        url
    }

    /// A management API call with the caller's bearer.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> CliResult<Option<Value>> {
        let bearer = self.bearer().await?;
        let url = self.url(path, query);
        self.http.json(method, &url, Some(&bearer), body).await
    }

    /// The bearer of management API calls (see [`crate::session`]).
    pub async fn bearer(&self) -> CliResult<String> {
        crate::session::bearer(&Session {
            http: &self.http,
            server: &self.server,
            dir: &self.dir,
            profile: &self.profile_name,
            token: self.token.as_deref(),
        })
        .await
    }

    /// Like [`Context::call`], for answers that must have a body.
    pub async fn call_json(
        &self,
        method: Method,
        path: &str,
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> CliResult<Value> {
        self.call(method, path, query, body)
            .await?
            .ok_or_else(|| CliError::Other(format!("`{path}` answered with no body")))
    }

    /// The zone of zone-scoped commands.
    pub fn zone_id(&self) -> CliResult<&str> {
        self.zone
            .as_deref()
            .ok_or_else(|| CliError::Usage("this command needs --zone (or LATCHKEY_ZONE)".into()))
    }

    /// The organization of org-scoped commands: `--org`, the profile's, or the caller's only one.
    pub async fn org_id(&self) -> CliResult<String> {
        if let Some(org) = &self.org {
            return Ok(org.clone());
        }
        let query = [("limit".to_owned(), "2".to_owned())];
        let list = self
            .call_json(Method::GET, "/organizations", &query, None)
            .await?;
        let items = list.get("items").and_then(Value::as_array);
        match items.map(Vec::as_slice) {
            Some([only]) => only
                .get("id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| CliError::Other("an organization without an id".into())),
            Some([]) => Err(CliError::Usage(
                "the caller belongs to no organization: pass --org".into(),
            )),
            _ => Err(CliError::Usage(
                "the caller sees several organizations: pass --org (or LATCHKEY_ORG)".into(),
            )),
        }
    }
}

/// Percent-encodes one path segment (an id given on the command line).
pub fn segment(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    // (`.` and `..` would be taken as dot segments and collapsed)
    if s == "." || s == ".." {
        return s.replace('.', "%2E");
    }
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_as_one_segment() {
        assert_eq!(segment("abc-1_2.3~"), "abc-1_2.3~");
        assert_eq!(segment("../x y"), "..%2Fx%20y");
        assert_eq!(segment(".."), "%2E%2E");
    }
}
