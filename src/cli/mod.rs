//! The command line: global flags, the subcommand enum, and dispatch.
//!
//! Each subcommand lives in its own file with its `XxxArgs` and a `run` function; this file
//! only declares and dispatches. Command files parse, call the core modules and hand results
//! to [`crate::output`]; they hold no SQL, no HTTP and no printing of their own.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

pub(crate) mod accounts;
pub(crate) mod chat;
pub mod completions;
pub(crate) mod db;
mod fake;
pub(crate) mod models;
pub(crate) mod serve;
pub(crate) mod sessions;
pub(crate) mod stats;
pub(crate) mod validate_config;

use crate::context::Ctx;

/// OpenAI- and Anthropic-compatible proxy, terminal chat and local archive for the Qwen web chat.
#[derive(Debug, Parser)]
#[command(name = "qwenctl", version, about, long_about = None, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand accepts.
#[derive(Debug, Clone, Args)]
pub(crate) struct GlobalArgs {
    /// Read variables from this file instead of ./.env
    #[arg(long, global = true, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
    /// SQLite database file (overrides DATABASE_PATH)
    #[arg(long, global = true, value_name = "PATH")]
    pub database: Option<PathBuf>,
    /// More log output on stderr (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run the HTTP proxy (OpenAI chat completions and Responses, Anthropic Messages)
    Serve(serve::ServeArgs),
    /// Chat in the terminal: a REPL, or one-shot with a prompt or piped stdin
    Chat(chat::ChatArgs),
    /// List the models the upstream offers
    Models(models::ModelsArgs),
    /// Check the configuration (exit 0 when valid, 2 otherwise)
    ValidateConfig(validate_config::ValidateConfigArgs),
    /// Conversations recorded in the store
    #[command(subcommand)]
    Sessions(sessions::SessionsCommand),
    /// Usage and performance figures from the store
    Stats(stats::StatsArgs),
    /// Upstream accounts: add, list, remove, log in, test
    #[command(subcommand)]
    Accounts(accounts::AccountsCommand),
    /// Maintain the database: backup, vacuum, prune
    #[command(subcommand)]
    Db(db::DbCommand),
    /// Print a shell completion script
    Completions(completions::CompletionsArgs),
    /// Write the man pages and completion scripts into a directory (for packaging)
    #[command(hide = true)]
    GenerateAssets(completions::GenerateAssetsArgs),
}

impl Command {
    /// Whether the command is served without reading the configuration at all.
    pub fn needs_config(&self) -> bool {
        !matches!(self, Command::Completions(_) | Command::GenerateAssets(_))
    }
}

/// Runs the parsed command.
pub(crate) async fn dispatch(command: Command, ctx: Ctx) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve::run(args, ctx).await,
        Command::Chat(args) => chat::run(args, ctx).await,
        Command::Models(args) => models::run(args, ctx).await,
        Command::ValidateConfig(args) => validate_config::run(args, ctx).await,
        Command::Sessions(cmd) => sessions::run(cmd, ctx).await,
        Command::Stats(args) => stats::run(args, ctx).await,
        Command::Accounts(cmd) => accounts::run(cmd, ctx).await,
        Command::Db(cmd) => db::run(cmd, ctx).await,
        Command::Completions(args) => completions::run(args),
        Command::GenerateAssets(args) => completions::generate_assets(args),
    }
}
