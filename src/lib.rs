//! qwenctl: an OpenAI-compatible proxy, a terminal chat and a local archive for the Qwen web
//! chat, in one binary.
//!
//! Start-up lives here: parse the command line, resolve the configuration, install logging,
//! build the runtime, dispatch, and turn the outcome into an exit code. Data flows one way:
//! client → [`proxy`] → [`openai`] → [`session`] → [`qwen`] → back, with [`store`] writing
//! on the side; `chat` enters at [`session`].

use std::process::ExitCode;

use clap::Parser;

pub mod accounts;
pub mod anthropic;
pub mod cli;
pub mod config;
pub(crate) mod context;
pub(crate) mod error;
pub(crate) mod export;
#[cfg(test)]
mod fuzz;
mod malloc;
pub mod openai;
pub(crate) mod output;
#[cfg(test)]
mod perf;
pub mod proxy;
pub mod qwen;
pub(crate) mod repl;
pub mod responses;
pub mod session;
pub mod store;
pub(crate) mod telemetry;
pub(crate) mod time;

use cli::{Cli, Command};
use error::UsageError;

/// The whole program: what `src/main.rs` calls.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => error::report(&err),
    }
}

fn run(mut cli: Cli) -> anyhow::Result<()> {
    if matches!(cli.command, Command::Serve(_)) {
        // Before anything is opened: this may exec the program again (see malloc.rs).
        malloc::tune();
    }
    if !cli.command.needs_config() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let ctx = context::Ctx {
            config: config::resolve(&config::Sources::default(), 0),
            quiet: cli.global.quiet,
        };
        return runtime.block_on(cli::dispatch(cli.command, ctx));
    }

    let mut sources =
        config::Sources::from_process(cli.global.env_file.as_deref()).map_err(UsageError)?;
    if let Some(db) = &cli.global.database {
        sources
            .flags
            .insert(config::env::DATABASE_PATH, db.display().to_string());
    }
    // Before resolving, so that the configuration already points at the fake.
    match &mut cli.command {
        Command::Serve(args) => {
            args.apply_flags(&mut sources);
            args.bind_fake_upstream(&mut sources)?;
        }
        Command::Chat(args) => args.bind_fake_upstream(&mut sources)?,
        _ => {}
    }
    let config = config::resolve(&sources, time::unix_now());
    // A one-shot command speaks in its own words (one line on failure); its logs stay quiet
    // unless asked for. `serve` is a service: it logs at LOG_LEVEL.
    let level_was_set = config
        .shown
        .iter()
        .any(|s| s.var == config::env::LOG_LEVEL && s.origin != config::Origin::Default);
    let level = if matches!(cli.command, Command::Serve(_)) || level_was_set {
        config.log_level.as_str()
    } else {
        "warn"
    };
    telemetry::init(
        level,
        config.log_format,
        cli.global.verbose,
        cli.global.quiet,
    );

    // validate-config reports problems itself; every other command stops on them here.
    if !matches!(cli.command, Command::ValidateConfig(_)) {
        let problems = config.general_errors();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            return Err(UsageError(format!("invalid configuration: {}", list.join("; "))).into());
        }
    }

    let runtime = match cli.command {
        // Blocking threads only ever wait on the store's two read connections; tokio's default
        // of 512 would let a burst grow hundreds of threads (each with its own malloc arena)
        // for no extra throughput.
        Command::Serve(_) => tokio::runtime::Builder::new_multi_thread()
            .max_blocking_threads(8)
            .enable_all()
            .build()?,
        _ => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    };
    let ctx = context::Ctx {
        config,
        quiet: cli.global.quiet,
    };
    let result = runtime.block_on(cli::dispatch(cli.command, ctx));
    // Don't wait for stray blocking tasks (a REPL thread, a hung upstream read).
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    result
}
