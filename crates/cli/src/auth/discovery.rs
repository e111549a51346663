//! Finding where to sign in from the server URL alone: the management API's protected-resource
//! metadata (RFC 9728) names the organization's platform zone as authorization server, whose
//! metadata (RFC 8414) gives the endpoints.

use serde_json::Value;

use crate::context::Context;
use crate::error::{CliError, CliResult};

/// The authorization server of the management API for one organization.
pub struct AuthServer {
    /// The management API's resource identifier (the server's public URL).
    pub resource: String,
    pub issuer: String,
    /// The issuer's RFC 8414 metadata.
    pub metadata: Value,
}

impl AuthServer {
    /// An endpoint URL from the metadata (`token_endpoint`, …).
    pub fn endpoint(&self, name: &str) -> Option<String> {
        self.metadata
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }

    pub fn require(&self, name: &str) -> CliResult<String> {
        self.endpoint(name)
            .ok_or_else(|| CliError::Other(format!("the authorization server has no `{name}`")))
    }

    /// `wanted` scopes the server lists in `scopes_supported` (all of them when it lists none).
    pub fn scopes(&self, wanted: &[&str]) -> String {
        let supported = self
            .metadata
            .get("scopes_supported")
            .and_then(Value::as_array);
        wanted
            .iter()
            .filter(|s| supported.is_none_or(|list| list.iter().any(|v| v.as_str() == Some(s))))
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// Discovers the platform zone of `org` (the default organization when None).
pub async fn discover(ctx: &Context, org: Option<&str>) -> CliResult<AuthServer> {
    let query: Vec<(String, String)> = org
        .map(|o| vec![("organization".to_owned(), o.to_owned())])
        .unwrap_or_default();
    let url = ctx.url("/.well-known/oauth-protected-resource", &query);
    let prm = ctx.http.document(&url).await?;
    let resource = text(&prm, "resource", &url)?;
    let issuer = prm
        .get("authorization_servers")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_str)
        .map(|s| s.trim_end_matches('/').to_owned())
        .ok_or_else(|| CliError::Other(format!("`{url}` names no authorization server")))?;
    let meta_url = format!("{issuer}/.well-known/oauth-authorization-server");
    let metadata = ctx.http.document(&meta_url).await?;
    if metadata.get("issuer").and_then(Value::as_str) != Some(issuer.as_str()) {
        return Err(CliError::Other(format!(
            "`{meta_url}` is not the metadata of `{issuer}` (issuer mismatch)"
        )));
    }
    Ok(AuthServer {
        resource,
        issuer,
        metadata,
    })
}

fn text(v: &Value, key: &str, url: &str) -> CliResult<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CliError::Other(format!("`{url}` has no `{key}`")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn scopes_are_limited_to_the_supported_ones() {
        let mut a = AuthServer {
            resource: "r".into(),
            issuer: "i".into(),
            metadata: json!({"scopes_supported": ["openid", "email"]}),
        };
        assert_eq!(a.scopes(&["openid", "offline_access"]), "openid");
        a.metadata = json!({});
        assert_eq!(
            a.scopes(&["openid", "offline_access"]),
            "openid offline_access"
        );
    }
}
