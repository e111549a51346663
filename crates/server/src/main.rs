//! The `latchkey` binary: parses the command line and runs the chosen subcommand.

use clap::{CommandFactory, Parser};
use latchkey_server::config::{Cli, Command, LogFormat};
use latchkey_server::ops;

/// mimalloc instead of the system allocator: measured in `bench/REPORT.md` (instructions per
/// request under callgrind).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    // (JSON logs stay JSON: the error is logged, not also printed)
    let json_logs =
        matches!(&cli.command, Command::Serve(c) if c.log.log_format == LogFormat::Json);
    let traces = match &cli.command {
        Command::Serve(config) => match ops::logging::init_serve(&config.log) {
            Ok(traces) => traces,
            Err(e) => {
                eprintln!("latchkey: {e}");
                return std::process::ExitCode::FAILURE;
            }
        },
        _ => {
            ops::logging::init(LogFormat::Text, false);
            None
        }
    };
    let result = match cli.command {
        Command::Client(command) => {
            return latchkey_cli::run(&cli.client, &command, Cli::command).await;
        }
        Command::Serve(config) => latchkey_server::serve(config).await,
        Command::Invite(config) => latchkey_server::invite::invite(config).await,
        Command::Doctor(config) => ops::doctor::doctor(config).await,
        Command::Backup(config) => ops::backup::backup(config).await,
        Command::Restore(config) => ops::restore::restore(config).await,
        Command::Migrate(storage) => match latchkey_server::open_store(&storage).await {
            Ok(store) => {
                latchkey_domain::store::Store::close(&store).await;
                println!("migrations applied");
                Ok(())
            }
            Err(e) => Err(e),
        },
    };
    // (the last spans, those of the shutdown included, are sent before exiting)
    if let Some(traces) = traces {
        traces.shutdown().await;
    }
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            if !json_logs {
                eprintln!("latchkey: {e}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}
