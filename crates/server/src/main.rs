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

/// Puts the server's heap on transparent huge pages. A server with many zones reads each token's
/// zone records (its plan, its signing key) from all over its heap; with 4 KiB pages most of
/// those reads also miss the TLB (`bench/REPORT.md`, stops 23 and 27). Both allocators read
/// their settings once, before `main`, from the environment, so the process re-executes itself
/// once with the missing ones set:
/// - mimalloc (Rust's allocations) asks for transparent huge pages for its arenas (it does by
///   default) and returns memory to the system only in whole 2 MiB pages (`ALLOW_THP=2`), so
///   returning memory never splits one; `ALLOW_LARGE_OS_PAGES=1` also lets it take the
///   kernel's reserved huge pages (`vm.nr_hugepages`) when there are any;
/// - glibc's malloc (the C libraries': aws-lc's keys, SQLite's page cache) asks for huge pages
///   for its heaps too (`glibc.malloc.hugetlb=1`).
///
/// A variable the operator set (to anything, `0` included) is left alone, and if the
/// re-execution fails the server runs as it is.
mod huge_pages {
    /// Each setting: the variables that hold it (the current name first, then older names) and
    /// the value the server gives it when none is set.
    const SETTINGS: [(&[&str], &str); 3] = [
        (
            &["MIMALLOC_ALLOW_LARGE_OS_PAGES", "MIMALLOC_LARGE_OS_PAGES"],
            "1",
        ),
        (&["MIMALLOC_ALLOW_THP"], "2"),
        (&["GLIBC_TUNABLES"], "glibc.malloc.hugetlb=1"),
    ];

    pub fn allow() {
        if !cfg!(target_os = "linux") {
            return;
        }
        let missing: Vec<(&str, &str)> = SETTINGS
            .iter()
            .filter(|(names, _)| names.iter().all(|n| std::env::var_os(n).is_none()))
            .map(|(names, value)| (names[0], *value))
            .collect();
        if missing.is_empty() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        reexec(exe, &missing);
    }

    #[cfg(unix)]
    fn reexec(exe: std::path::PathBuf, missing: &[(&str, &str)]) {
        use std::os::unix::process::CommandExt;
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            command.arg0(name);
        }
        // (returns only if the exec failed)
        let _ = command.args(args).envs(missing.iter().copied()).exec();
    }

    #[cfg(not(unix))]
    fn reexec(_exe: std::path::PathBuf, _missing: &[(&str, &str)]) {}
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
