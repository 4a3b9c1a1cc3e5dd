//! The only place that writes data to stdout: JSON, tables and plain lines.
//!
//! Everything returns `io::Result` so a closed pipe (`| head`) travels up as `BrokenPipe`
//! and ends the command quietly with exit 0 (see [`crate::error`]). Logs, progress and
//! errors go to stderr elsewhere.
#![allow(clippy::print_stdout)]

use std::io::{self, Write};

use serde::Serialize;
use tabled::settings::Style;

/// Pretty JSON followed by a newline.
pub fn json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Compact JSON on one line (JSON Lines).
pub fn json_line<T: Serialize + ?Sized>(out: &mut impl Write, value: &T) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value).map_err(io::Error::from)?;
    out.write_all(b"\n")
}

/// A table with a header row; an empty list prints `empty` instead (to stderr, so stdout
/// stays parseable).
pub fn table<T: tabled::Tabled>(rows: impl IntoIterator<Item = T>, empty: &str) -> io::Result<()> {
    let rows: Vec<T> = rows.into_iter().collect();
    if rows.is_empty() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{empty}");
        }
        return Ok(());
    }
    let mut table = tabled::Table::new(rows);
    table.with(Style::sharp());
    let mut out = io::stdout().lock();
    writeln!(out, "{table}")?;
    out.flush()
}

/// One line of text.
pub fn line(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{text}")?;
    out.flush()
}

/// Text without a newline, flushed at once (streamed answers).
pub fn text(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Whether stdout is a terminal (colours, spinners).
pub fn stdout_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&io::stdout())
}

/// Whether colour is wanted on stdout: a terminal and `NO_COLOR` unset.
pub fn color_enabled() -> bool {
    stdout_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Where a command's data goes: the file at `path` (created or truncated), or stdout.
/// Buffered; the caller flushes (a closed pipe surfaces as `BrokenPipe` there).
pub fn writer(path: Option<&std::path::Path>) -> io::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(io::BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(io::BufWriter::new(io::stdout())),
    })
}

/// Whether stderr is a terminal (spinners, reasoning shown dimmed).
pub fn stderr_is_terminal() -> bool {
    std::io::IsTerminal::is_terminal(&io::stderr())
}

/// Whether colour is wanted on stderr: a terminal and `NO_COLOR` unset.
pub fn stderr_color_enabled() -> bool {
    stderr_is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
