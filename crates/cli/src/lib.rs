//! The Latchkey command-line client: `latchkey` subcommands that talk to a Latchkey server over
//! HTTP only (sign-in, the management API's resources, raw calls, client-credentials tokens).
//! The server binary flattens [`Command`] and [`GlobalArgs`] into its own command line and calls
//! [`run`]. See `docs/cli.md`.
//!
//! Modules: `context` (settings of one invocation), `config` (profiles and token cache on disk),
//! `http` (requests and error mapping), `auth` (sign-in), `session` (the bearer and its refresh), `resources` (CRUD per kind),
//! `commands` (api, token, profile, completions), `body` (request bodies from flags), `output`
//! (table, JSON, YAML), `error` (the error type and exit codes).

pub mod auth;
pub mod body;
pub mod commands;
pub mod config;
pub mod context;
pub mod error;
pub mod http;
pub mod output;
pub mod resources;
pub mod session;

use clap::{Args, Subcommand};

use crate::auth::login::{self, LoginArgs};
use crate::commands::{ApiArgs, ProfileCmd, TokenArgs};
use crate::context::Context;
use crate::error::CliResult;
use crate::output::Format;
use crate::resources::crud::{self, Crud};
use crate::resources::kinds;
use crate::resources::policies::{self, PolicyCmd, PolicySetCmd};

/// Connection and output settings shared by every client command.
#[derive(Clone, Args)]
pub struct GlobalArgs {
    /// Base URL of the Latchkey server [default: the profile's, else http://127.0.0.1:8080].
    #[arg(long, env = "LATCHKEY_SERVER", global = true)]
    pub server: Option<String>,
    /// Organization id or label of org-scoped commands [default: the profile's, else the
    /// caller's only organization].
    #[arg(long, env = "LATCHKEY_ORG", global = true)]
    pub org: Option<String>,
    /// Zone id of zone-scoped commands [default: the profile's].
    #[arg(long, env = "LATCHKEY_ZONE", global = true)]
    pub zone: Option<String>,
    /// Profile: remembered server, organization, zone and sign-in.
    #[arg(
        long,
        env = "LATCHKEY_PROFILE",
        global = true,
        default_value = "default"
    )]
    pub profile: String,
    /// Bearer to use instead of the cached sign-in (an API key, a service-account token or a
    /// person's token).
    #[arg(long, env = "LATCHKEY_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Print the raw API JSON (same as `--output json`).
    #[arg(long, global = true)]
    pub json: bool,
    /// Output format [default: table].
    #[arg(long, short = 'o', global = true, value_enum)]
    pub output: Option<Format>,
}

/// (by hand: the token is never shown, not even in debug output)
impl std::fmt::Debug for GlobalArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalArgs")
            .field("server", &self.server)
            .field("org", &self.org)
            .field("zone", &self.zone)
            .field("profile", &self.profile)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("json", &self.json)
            .field("output", &self.output)
            .finish()
    }
}

/// The client commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Sign in to the management API (device code; `--browser` for a local browser).
    Login(LoginArgs),
    /// Sign out: revoke the refresh token and delete the cached tokens.
    Logout,
    /// Show, save or list profiles.
    #[command(subcommand)]
    Profile(ProfileCmd),
    /// Zones.
    #[command(subcommand)]
    Zones(Crud),
    /// Applications of a zone.
    #[command(subcommand, visible_alias = "apps")]
    Applications(Crud),
    /// Application credentials of a zone.
    #[command(subcommand)]
    Credentials(Crud),
    /// Resources of a zone.
    #[command(subcommand)]
    Resources(Crud),
    /// Providers of a zone.
    #[command(subcommand)]
    Providers(Crud),
    /// Secrets of a zone's vault.
    #[command(subcommand)]
    Secrets(Crud),
    /// Cedar policies of a zone and their versions.
    #[command(subcommand)]
    Policies(PolicyCmd),
    /// Policy sets of a zone, their versions and activation.
    #[command(subcommand)]
    PolicySets(PolicySetCmd),
    /// Members of a zone (organization people with a zone role).
    #[command(subcommand)]
    Members(Crud),
    /// Invitations to an organization.
    #[command(subcommand)]
    Invitations(Crud),
    /// Service accounts of an organization.
    #[command(subcommand)]
    ServiceAccounts(Crud),
    /// Call any management API endpoint and print the JSON answer.
    Api(ApiArgs),
    /// Get an access token with client credentials at the zone's token endpoint.
    Token(TokenArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs a client command; the process exit code (errors are printed to stderr).
/// `cli` builds the whole command line (for `completions`).
pub async fn run(
    global: &GlobalArgs,
    command: &Command,
    cli: impl FnOnce() -> clap::Command,
) -> std::process::ExitCode {
    if let Command::Completions { shell } = command {
        commands::completions(*shell, cli());
        return std::process::ExitCode::SUCCESS;
    }
    match dispatch(global, command).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey: error: {e}");
            std::process::ExitCode::from(e.exit_code())
        }
    }
}

async fn dispatch(global: &GlobalArgs, command: &Command) -> CliResult<()> {
    let ctx = Context::new(global)?;
    match command {
        Command::Login(args) => login::login(&ctx, args).await,
        Command::Logout => login::logout(&ctx).await,
        Command::Profile(cmd) => commands::profile(&ctx, cmd),
        Command::Zones(c) => crud::run(&ctx, &kinds::ZONES, c).await,
        Command::Applications(c) => crud::run(&ctx, &kinds::APPLICATIONS, c).await,
        Command::Credentials(c) => crud::run(&ctx, &kinds::CREDENTIALS, c).await,
        Command::Resources(c) => crud::run(&ctx, &kinds::RESOURCES, c).await,
        Command::Providers(c) => crud::run(&ctx, &kinds::PROVIDERS, c).await,
        Command::Secrets(c) => crud::run(&ctx, &kinds::SECRETS, c).await,
        Command::Policies(c) => policies::policies(&ctx, c).await,
        Command::PolicySets(c) => policies::policy_sets(&ctx, c).await,
        Command::Members(c) => crud::run(&ctx, &kinds::MEMBERS, c).await,
        Command::Invitations(c) => crud::run(&ctx, &kinds::INVITATIONS, c).await,
        Command::ServiceAccounts(c) => crud::run(&ctx, &kinds::SERVICE_ACCOUNTS, c).await,
        Command::Api(args) => commands::api(&ctx, args).await,
        Command::Token(args) => commands::token(&ctx, args).await,
        Command::Completions { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct TestCli {
        #[command(subcommand)]
        command: Command,
        #[command(flatten)]
        global: GlobalArgs,
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        TestCli::command().debug_assert();
    }

    #[test]
    fn global_flags_go_anywhere_and_the_token_is_redacted() {
        let cli = TestCli::try_parse_from([
            "latchkey",
            "zones",
            "list",
            "--token",
            "secret-token",
            "--zone",
            "z1",
            "-o",
            "yaml",
        ])
        .unwrap();
        assert_eq!(cli.global.zone.as_deref(), Some("z1"));
        assert_eq!(cli.global.output, Some(Format::Yaml));
        let debug = format!("{cli:?}");
        assert!(!debug.contains("secret-token"), "{debug}");
    }
}
