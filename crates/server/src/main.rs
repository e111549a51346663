//! The `latchkey` binary: parses the command line and runs the chosen subcommand.

use clap::{CommandFactory, Parser};
use latchkey_server::config::{Cli, Command, LogFormat};
use latchkey_server::ops;

/// mimalloc instead of the system allocator: measured in `bench/REPORT.md` (instructions per
/// request under callgrind).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_)) {
        huge_pages::allow();
    }
    run(cli)
}

/// Lets mimalloc back its arenas with transparent huge pages when serving. A server with many
/// zones reads each token's zone records from all over its heap; with 4 KiB pages most of those
/// reads also miss the TLB, and spread over 1,000 zones a token cost ~20 % more CPU than on one
/// zone (pinned to one core), ~8 % with huge pages (`bench/REPORT.md`). mimalloc reads the
/// setting once, before `main`, from its environment variable, so the process re-executes
/// itself once with it set. An operator's own setting (`MIMALLOC_ALLOW_LARGE_OS_PAGES=0`
/// included) is left alone, and if the re-execution fails the server runs as it is.
mod huge_pages {
    const VAR: &str = "MIMALLOC_ALLOW_LARGE_OS_PAGES";
    const LEGACY: &str = "MIMALLOC_LARGE_OS_PAGES";

    pub fn allow() {
        if !cfg!(target_os = "linux")
            || std::env::var_os(VAR).is_some()
            || std::env::var_os(LEGACY).is_some()
        {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        reexec(exe);
    }

    #[cfg(unix)]
    fn reexec(exe: std::path::PathBuf) {
        use std::os::unix::process::CommandExt;
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // (returns only if the exec failed)
        let _ = command.args(args).env(VAR, "1").exec();
    }

    #[cfg(not(unix))]
    fn reexec(_exe: std::path::PathBuf) {}
}

#[tokio::main]
async fn run(cli: Cli) -> std::process::ExitCode {
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
