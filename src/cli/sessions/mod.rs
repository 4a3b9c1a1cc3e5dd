//! `qwenctl sessions`: the conversations recorded in the store, listed, searched, shown as
//! transcripts, exported and deleted.
//!
//! One file per subcommand; this one only declares them and dispatches. Reads go through
//! [`crate::store::Store`], text and writing to stdout through [`crate::output`], exports
//! through the export engine (`src/export/`).

use clap::Subcommand;

use crate::context::Ctx;
use crate::error::Failed;

mod delete;
mod export;
mod list;
mod search;
mod show;

pub use delete::DeleteArgs;
pub use export::ExportArgs;
pub use list::ListArgs;
pub use search::SearchArgs;
pub use show::ShowArgs;

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List sessions, newest first
    List(ListArgs),
    /// Find sessions by the words in their messages and answers, newest first
    Search(SearchArgs),
    /// Show one session as a transcript
    Show(ShowArgs),
    /// Export sessions as JSON, JSON Lines, Markdown or OpenAI fine-tuning lines
    Export(ExportArgs),
    /// Delete a session and everything recorded for it
    Delete(DeleteArgs),
}

pub async fn run(cmd: SessionsCommand, ctx: Ctx) -> anyhow::Result<()> {
    match cmd {
        SessionsCommand::List(args) => list::run(args, ctx).await,
        SessionsCommand::Search(args) => search::run(args, ctx).await,
        SessionsCommand::Show(args) => show::run(args, ctx).await,
        SessionsCommand::Export(args) => export::run(args, ctx).await,
        SessionsCommand::Delete(args) => delete::run(args, ctx).await,
    }
}

/// The error for an id the store does not know (exit 1).
fn not_found(id: &str) -> anyhow::Error {
    Failed(format!("no session with id {id}")).into()
}
