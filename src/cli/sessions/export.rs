//! `qwenctl sessions export`: sessions as JSON, JSON Lines, Markdown or OpenAI
//! fine-tuning lines, to stdout or a file.
//!
//! This file picks the sessions, opens the output and shows progress; the formats, and
//! streaming any number of sessions in constant memory, are [`crate::export`]'s. Unknown
//! ids fail before anything is written. A write error (a closed pipe included) ends the
//! export at once and travels up unchanged, so `… | head -1` stops quietly.

use std::collections::HashSet;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use super::not_found;
use crate::context::Ctx;
use crate::error::UsageError;
use crate::export::{self, Format, Selection};
use crate::output;
use crate::store::Store;

/// Exports of more sessions than this get a progress bar (on a terminal).
const PROGRESS_THRESHOLD: u64 = 10;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Json,
    Jsonl,
    Markdown,
    Openai,
}

impl From<ExportFormat> for Format {
    fn from(format: ExportFormat) -> Self {
        match format {
            ExportFormat::Json => Format::Json,
            ExportFormat::Jsonl => Format::Jsonl,
            ExportFormat::Markdown => Format::Markdown,
            ExportFormat::Openai => Format::Openai,
        }
    }
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

pub async fn run(args: ExportArgs, ctx: Ctx) -> anyhow::Result<()> {
    let store = ctx.read_store().await?;
    let (selection, len) = selection(&store, &args).await?;
    let format = Format::from(args.format);
    let out = output::writer(args.output.as_deref(), format.content()).with_context(|| {
        let path = args.output.as_deref().unwrap_or(std::path::Path::new("-"));
        format!("cannot create {}", path.display())
    })?;
    let progress = progress_bar(len, args.output.is_some(), ctx.quiet);
    let exported = export::write_sessions(&store, &selection, format, out, &progress).await?;
    progress.finish_and_clear();
    if let Some(path) = &args.output {
        tracing::info!("exported {exported} sessions to {}", path.display());
    }
    Ok(())
}

/// The sessions to export (every one, newest first, for `--all`; the given ones in their
/// order otherwise) and how many they are. Unknown ids fail before anything is written.
async fn selection(store: &Store, args: &ExportArgs) -> anyhow::Result<(Selection, u64)> {
    if args.all {
        return Ok((Selection::All, store.count_sessions().await?));
    }
    if args.ids.is_empty() {
        return Err(UsageError(
            "name the sessions to export, or pass --all (see `qwenctl sessions list`)".into(),
        )
        .into());
    }
    let mut seen = HashSet::new();
    let mut ids = Vec::new();
    for id in &args.ids {
        if !seen.insert(id.as_str()) {
            continue;
        }
        if store.get_session(id).await?.is_none() {
            return Err(not_found(id));
        }
        ids.push(id.clone());
    }
    let len = u64::try_from(ids.len()).unwrap_or(u64::MAX);
    Ok((Selection::Ids(ids), len))
}

/// A bar on stderr only where someone watches it: stderr is a terminal that the data is
/// not also going to, the export is long enough to wait for, and `--quiet` is off.
fn progress_bar(len: u64, to_file: bool, quiet: bool) -> ProgressBar {
    let watched = output::stderr_is_terminal() && (to_file || !output::stdout_is_terminal());
    if quiet || !watched || len <= PROGRESS_THRESHOLD {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{spinner} exporting {bar:30} {pos}/{len} sessions ({eta} left)",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(len).with_style(style)
}
