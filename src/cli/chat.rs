//! `qwenctl chat`: a REPL, or one-shot with a prompt and/or piped stdin.

use std::path::PathBuf;

use clap::Args;

use crate::context::Ctx;

#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The prompt (one-shot); piped stdin is appended
    pub prompt: Option<String>,
    /// Add the contents of a file to the prompt
    #[arg(short, long, value_name = "FILE")]
    pub file: Vec<PathBuf>,
    /// Model to use
    #[arg(short, long, default_value = "qwen3-max")]
    pub model: String,
    /// System prompt
    #[arg(short, long)]
    pub system: Option<String>,
    /// Turn thinking on (reasoning shown dimmed)
    #[arg(long)]
    pub think: bool,
    /// Print the answer at once instead of streaming it
    #[arg(long)]
    pub no_stream: bool,
    /// Print the final chat.completion object as JSON
    #[arg(long)]
    pub json: bool,
    /// Continue the session with this id
    #[arg(long, value_name = "ID", conflicts_with = "continue_latest")]
    pub resume: Option<String>,
    /// Continue the latest session
    #[arg(short = 'c', long = "continue")]
    pub continue_latest: bool,
}

pub async fn run(_args: ChatArgs, _ctx: Ctx) -> anyhow::Result<()> {
    Err(crate::error::Failed("`qwenctl chat` is not built yet".into()).into())
}
