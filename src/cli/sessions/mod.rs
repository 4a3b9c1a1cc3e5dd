//! `qwenctl sessions`: conversations recorded in the store.

use std::path::PathBuf;

use clap::{Args, Subcommand, ValueEnum};

use crate::context::Ctx;

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions, newest first
    List(ListArgs),
    /// Show one session as a transcript
    Show(ShowArgs),
    /// Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines
    Export(ExportArgs),
    /// Delete a session and everything recorded for it
    Delete(DeleteArgs),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// How many sessions to list
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Session id
    pub id: String,
    /// Print JSON instead of a transcript
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Jsonl,
    Markdown,
    Openai,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Session ids to export
    pub ids: Vec<String>,
    /// Export every session
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,
    /// Output format
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: ExportFormat,
    /// Write to this file instead of stdout
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Session id
    pub id: String,
}

pub async fn run(_cmd: SessionsCommand, _ctx: Ctx) -> anyhow::Result<()> {
    Err(crate::error::Failed("`qwenctl sessions` is not built yet".into()).into())
}
