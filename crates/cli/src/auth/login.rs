//! `latchkey login` and `latchkey logout`. Login discovers the organization's platform zone,
//! signs in with the device grant (or the browser flow with `--browser`, or when the zone has no
//! device endpoint), caches the tokens of the profile and remembers the server, organization and
//! zone in it. Logout revokes the refresh token (RFC 7009) and deletes the cache.

use clap::Args;

use super::{CLIENT_ID, apply_token_response, browser, device, discovery, now};
use crate::config::TokenCache;
use crate::context::Context;
use crate::error::CliResult;

/// `latchkey login` options.
#[derive(Debug, Clone, Args)]
pub struct LoginArgs {
    /// Sign in with a browser on this machine (authorization code + PKCE, loopback redirect)
    /// instead of the device code flow.
    #[arg(long)]
    pub browser: bool,
}

pub async fn login(ctx: &Context, args: &LoginArgs) -> CliResult<()> {
    let auth = discovery::discover(ctx, ctx.org.as_deref()).await?;
    let device_endpoint = auth.endpoint("device_authorization_endpoint");
    let answer = match (&device_endpoint, args.browser) {
        (Some(endpoint), false) => device::run(&ctx.http, &auth, endpoint).await?,
        (None, false) => {
            eprintln!("The server offers no device sign-in; using the browser flow.");
            browser::run(&ctx.http, &auth).await?
        }
        (_, true) => browser::run(&ctx.http, &auth).await?,
    };
    let mut cache = TokenCache {
        server: ctx.server.clone(),
        resource: auth.resource.clone(),
        token_endpoint: auth.require("token_endpoint")?,
        revocation_endpoint: auth.endpoint("revocation_endpoint"),
        issuer: auth.issuer.clone(),
        client_id: CLIENT_ID.to_owned(),
        access_token: String::new(),
        refresh_token: None,
        expires_at: None,
    };
    apply_token_response(&mut cache, Some(&answer), now())?;
    ctx.dir.save_tokens(&ctx.profile_name, &cache)?;
    let mut profile = ctx.profile.clone();
    profile.server = Some(ctx.server.clone());
    profile.org = ctx.org.clone().or(profile.org);
    profile.zone = ctx.zone.clone().or(profile.zone);
    ctx.dir.save_profile(&ctx.profile_name, &profile)?;
    eprintln!(
        "Signed in to {} (profile `{}`).",
        ctx.server, ctx.profile_name
    );
    Ok(())
}

pub async fn logout(ctx: &Context) -> CliResult<()> {
    let Some(cache) = ctx.dir.tokens(&ctx.profile_name)? else {
        eprintln!("Not signed in (profile `{}`).", ctx.profile_name);
        return Ok(());
    };
    if let (Some(endpoint), Some(token)) = (&cache.revocation_endpoint, &cache.refresh_token) {
        let pairs = [
            ("token", token.as_str()),
            ("token_type_hint", "refresh_token"),
            ("client_id", cache.client_id.as_str()),
        ];
        if let Err(e) = ctx.http.form(endpoint, &pairs, None).await {
            // The local copy goes anyway: the user asked to be signed out here.
            eprintln!("latchkey: warning: could not revoke the refresh token: {e}");
        }
    }
    if ctx.dir.delete_tokens(&ctx.profile_name)? {
        eprintln!("Signed out (profile `{}`).", ctx.profile_name);
    }
    Ok(())
}
