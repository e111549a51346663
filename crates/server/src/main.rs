//! The `latchkey` binary: parses the command line and runs the chosen subcommand.

use clap::{CommandFactory, Parser};
use latchkey_server::config::{Cli, Command};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("LATCHKEY_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Client(command) => {
            return latchkey_cli::run(&cli.client, &command, Cli::command).await;
        }
        Command::Serve(config) => latchkey_server::serve(config).await,
        Command::Invite(config) => latchkey_server::invite::invite(config).await,
        Command::Migrate(storage) => match latchkey_server::open_store(&storage).await {
            Ok(store) => {
                latchkey_domain::store::Store::close(&store).await;
                println!("migrations applied");
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("latchkey: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
