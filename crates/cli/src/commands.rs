//! The commands that are not resource CRUD: `api` (any management API call), `token` (client
//! credentials at a zone's token endpoint), `profile` (show, list, save settings) and
//! `completions`.

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{Value, json};

use crate::body;
use crate::config::Profile;
use crate::context::{Context, segment};
use crate::error::{CliError, CliResult};
use crate::output::{self, Format};

/// `latchkey api` options.
#[derive(Debug, Clone, Args)]
pub struct ApiArgs {
    /// HTTP method (GET, POST, PATCH, PUT, DELETE).
    pub method: String,
    /// Path below the server, e.g. `/zones` or `/zones/{id}/users?limit=5`.
    pub path: String,
    /// JSON body, `@FILE` or `@-` (stdin).
    #[arg(long)]
    pub data: Option<String>,
}

pub async fn api(ctx: &Context, args: &ApiArgs) -> CliResult<()> {
    let method = Method::from_bytes(args.method.to_ascii_uppercase().as_bytes())
        .map_err(|_| CliError::Usage(format!("`{}` is not an HTTP method", args.method)))?;
    if !args.path.starts_with('/') {
        return Err(CliError::Usage(format!(
            "`{}`: the path must start with `/`",
            args.path
        )));
    }
    let data = args.data.as_deref().map(body::read_data).transpose()?;
    let answer = ctx.call(method, &args.path, &[], data.as_ref()).await?;
    if let Some(value) = answer {
        let format = match ctx.format {
            Format::Table => Format::Json,
            f => f,
        };
        output::print(format, &value, &[]);
    }
    Ok(())
}

/// `latchkey token` options.
#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The client's id.
    #[arg(long)]
    pub client_id: String,
    /// The client's secret.
    #[arg(long, env = "LATCHKEY_CLIENT_SECRET", hide_env_values = true)]
    pub client_secret: String,
    /// The resource (audience) to ask for (repeatable).
    #[arg(long)]
    pub resource: Vec<String>,
    /// Scopes to ask for (space-separated).
    #[arg(long)]
    pub scope: Option<String>,
}

/// Client credentials at the zone's token endpoint; prints the access token (the full response
/// with `--json` / `--output yaml`).
pub async fn token(ctx: &Context, args: &TokenArgs) -> CliResult<()> {
    let endpoint = token_endpoint(ctx).await?;
    let mut pairs: Vec<(&str, &str)> = vec![("grant_type", "client_credentials")];
    for r in &args.resource {
        pairs.push(("resource", r));
    }
    if let Some(scope) = &args.scope {
        pairs.push(("scope", scope));
    }
    let answer = ctx
        .http
        .form(
            &endpoint,
            &pairs,
            Some((&args.client_id, &args.client_secret)),
        )
        .await?
        .ok_or_else(|| CliError::Other("empty token response".into()))?;
    match ctx.format {
        Format::Table => {
            let token = answer
                .get("access_token")
                .and_then(Value::as_str)
                .ok_or_else(|| CliError::Other("the token response has no access_token".into()))?;
            println!("{token}");
        }
        f => output::print(f, &answer, &[]),
    }
    Ok(())
}

/// The zone's token endpoint: from `GET /zones/{id}` when the CLI has a bearer that may read the
/// zone, else from the zone's authorization server metadata under the server URL.
async fn token_endpoint(ctx: &Context) -> CliResult<String> {
    let zone = segment(ctx.zone_id()?);
    if ctx.bearer().await.is_ok() {
        let path = format!("/zones/{zone}");
        if let Ok(z) = ctx.call_json(Method::GET, &path, &[], None).await
            && let Some(url) = z
                .pointer("/protocols/oauth2/token_endpoint")
                .and_then(Value::as_str)
        {
            return Ok(url.to_owned());
        }
    }
    let url = ctx.url(
        &format!("/z/{zone}/.well-known/oauth-authorization-server"),
        &[],
    );
    let meta = ctx.http.document(&url).await?;
    meta.get("token_endpoint")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| CliError::Other(format!("`{url}` has no token_endpoint")))
}

/// `latchkey profile …`
#[derive(Debug, Clone, Subcommand)]
pub enum ProfileCmd {
    /// Show the settings in effect and whether the profile is signed in.
    Show,
    /// Save the given --server, --org and --zone in the profile.
    Set,
    /// List the profiles.
    List,
}

pub fn profile(ctx: &Context, cmd: &ProfileCmd) -> CliResult<()> {
    match cmd {
        ProfileCmd::Show => {
            let tokens = ctx.dir.tokens(&ctx.profile_name)?;
            let value = json!({
                "profile": ctx.profile_name,
                "server": ctx.server,
                "org": ctx.org,
                "zone": ctx.zone,
                "signed_in": tokens.is_some(),
                "expires_at": tokens.as_ref().and_then(|t| t.expires_at),
                "issuer": tokens.as_ref().map(|t| t.issuer.clone()),
            });
            output::print(ctx.format, &value, &[]);
        }
        ProfileCmd::Set => {
            let profile = Profile {
                server: Some(ctx.server.clone()),
                org: ctx.org.clone(),
                zone: ctx.zone.clone(),
            };
            ctx.dir.save_profile(&ctx.profile_name, &profile)?;
            eprintln!("Saved profile `{}`.", ctx.profile_name);
        }
        ProfileCmd::List => {
            let items: Vec<Value> = ctx
                .dir
                .profiles()?
                .into_iter()
                .map(|(name, p)| json!({"name": name, "server": p.server, "org": p.org, "zone": p.zone}))
                .collect();
            output::print(
                ctx.format,
                &json!({ "items": items }),
                &["name", "server", "org", "zone"],
            );
        }
    }
    Ok(())
}

/// Writes the completion script of `cmd` for `shell` to stdout.
pub fn completions(shell: clap_complete::Shell, mut cmd: clap::Command) {
    let name = cmd.get_name().to_owned();
    clap_complete::generate(shell, &mut cmd, name, &mut std::io::stdout());
}
