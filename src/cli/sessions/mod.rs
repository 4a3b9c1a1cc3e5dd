//! `qwenctl sessions`: the conversations recorded in the store, listed, shown as
//! transcripts, exported and deleted.
//!
//! One file per subcommand; this one only declares them, dispatches, and holds the small
//! text helpers they share (shortening a title, saying when something happened). Reads go
//! through [`crate::store::Store`], writing to stdout through [`crate::output`].

use std::time::{Duration, UNIX_EPOCH};

use clap::Subcommand;

use crate::context::Ctx;
use crate::error::Failed;

mod delete;
mod export;
mod list;
mod show;

pub use delete::DeleteArgs;
pub use export::{ExportArgs, ExportFormat};
pub use list::ListArgs;
pub use show::ShowArgs;

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

pub async fn run(cmd: SessionsCommand, ctx: Ctx) -> anyhow::Result<()> {
    match cmd {
        SessionsCommand::List(args) => list::run(args, ctx).await,
        SessionsCommand::Show(args) => show::run(args, ctx).await,
        SessionsCommand::Export(args) => export::run(args, ctx).await,
        SessionsCommand::Delete(args) => delete::run(args, ctx).await,
    }
}

/// The error for an id the store does not know (exit 1).
fn not_found(id: &str) -> anyhow::Error {
    Failed(format!("no session with id {id}")).into()
}

/// `text` on one line and at most `max` characters, ending in `…` when cut.
fn shorten(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match flat.char_indices().nth(max.saturating_sub(1)) {
        Some((cut, _)) if flat.chars().count() > max => format!("{}…", &flat[..cut]),
        _ => flat,
    }
}

/// A unix-ms time as `2026-11-01 14:03:22 UTC`.
fn timestamp(ms: i64) -> String {
    let Ok(ms) = u64::try_from(ms) else {
        return "-".to_owned();
    };
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    let text = humantime::format_rfc3339_seconds(at).to_string();
    // `2026-11-01T14:03:22Z` → `2026-11-01 14:03:22 UTC`
    format!("{} UTC", text.trim_end_matches('Z').replacen('T', " ", 1))
}

/// How long before `now_ms` the time `ms` was: `just now`, `5 minutes ago`, `3 days ago`;
/// a date once it is more than a week old (or in the future, from a skewed clock).
fn ago(ms: i64, now_ms: i64) -> String {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let elapsed = now_ms.saturating_sub(ms);
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit} ago")
        } else {
            format!("{n} {unit}s ago")
        }
    };
    match elapsed {
        e if !(-MINUTE..7 * DAY).contains(&e) => timestamp(ms).chars().take(10).collect(),
        e if e < MINUTE => "just now".to_owned(),
        e if e < HOUR => plural(e / MINUTE, "minute"),
        e if e < DAY => plural(e / HOUR, "hour"),
        e => plural(e / DAY, "day"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shorten_flattens_and_cuts_on_characters() {
        assert_eq!(shorten("hello\n  world", 20), "hello world");
        assert_eq!(shorten("abcdef", 6), "abcdef");
        assert_eq!(shorten("abcdefg", 6), "abcde…");
        assert_eq!(shorten("ééééééé", 4), "ééé…");
    }

    #[test]
    fn times_read_naturally() {
        let now = 1_800_000_000_000;
        assert_eq!(ago(now - 5_000, now), "just now");
        assert_eq!(ago(now - 60_000, now), "1 minute ago");
        assert_eq!(ago(now - 5 * 60_000, now), "5 minutes ago");
        assert_eq!(ago(now - 3 * 3_600_000, now), "3 hours ago");
        assert_eq!(ago(now - 2 * 86_400_000, now), "2 days ago");
        assert_eq!(ago(0, now), "1970-01-01");
        assert_eq!(timestamp(86_400_000), "1970-01-02 00:00:00 UTC");
    }
}
