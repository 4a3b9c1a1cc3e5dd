//! The presentation layer: the only place that writes data to stdout, and the one home of
//! the terminal text every command and the REPL share.
//!
//! - this file: JSON, JSON Lines, tables and plain lines, to stdout or a file;
//! - `human.rs`: text for people — `shorten` to fit a column or make a title, `ago` and
//!   `timestamp` for times;
//! - `style.rs`: ANSI bold and dim (`Paint`), and whether a stream wants them (a terminal,
//!   `NO_COLOR` unset);
//! - `inert.rs`: stored text made harmless for a terminal (`inert`: escape sequences,
//!   control characters and bidi overrides shown, not obeyed), for every renderer of text
//!   for people; JSON keeps its exact value (`json_safe` only escapes what a terminal would
//!   act on).
//!
//! Tables and JSON are made safe here, whatever they hold; renderers of free text (a
//! transcript, the REPL) pass stored text through [`inert`] before styling it.
//!
//! Everything that writes returns `io::Result` so a closed pipe (`| head`) travels up as
//! `BrokenPipe` and ends the command quietly with exit 0 (see [`crate::error`]). JSON is
//! serialized before anything is written, so such an error is the plain `io::Error` it is
//! and never half a value. Logs, progress and errors go to stderr elsewhere.
#![allow(clippy::print_stdout)]

use std::io::{self, Write};

use serde::Serialize;
use tabled::settings::Style;

mod human;
mod inert;
mod style;

pub(crate) use human::{Age, Fit, ago, shorten, timestamp};
pub(crate) use inert::inert;
pub use inert::{Content, TerminalWriter};
pub(crate) use style::Paint;
pub use style::{color_enabled, stderr_color_enabled, stderr_is_terminal, stdout_is_terminal};

/// Pretty JSON followed by a newline; the characters a terminal would act on are escaped
/// (the value is the same).
pub fn json<T: Serialize + ?Sized>(value: &T) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(io::Error::from)?;
    let mut out = io::stdout().lock();
    out.write_all(&inert::json_safe(&text))?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Compact JSON on one line (JSON Lines), written with one `write_all`.
pub fn json_line<T: Serialize + ?Sized>(out: &mut impl Write, value: &T) -> io::Result<()> {
    let mut line = serde_json::to_vec(value).map_err(io::Error::from)?;
    line.push(b'\n');
    out.write_all(&line)
}

/// A table with a header row; an empty list prints `empty` instead (to stderr, so stdout
/// stays parseable). Every cell is made [`inert`].
pub fn table<T: tabled::Tabled>(rows: impl IntoIterator<Item = T>, empty: &str) -> io::Result<()> {
    let mut rows = rows.into_iter().peekable();
    if rows.peek().is_none() {
        #[allow(clippy::print_stderr)]
        {
            eprintln!("{empty}");
        }
        return Ok(());
    }
    let cells = |fields: Vec<std::borrow::Cow<'_, str>>| -> Vec<String> {
        fields.iter().map(|f| inert(f).into_owned()).collect()
    };
    let mut builder = tabled::builder::Builder::new();
    builder.push_record(cells(T::headers()));
    for row in rows {
        builder.push_record(cells(row.fields()));
    }
    let mut table = builder.build();
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

/// Where a command's data goes: the file at `path` (created or truncated), or stdout.
/// Buffered; the caller flushes (a closed pipe surfaces as `BrokenPipe` there). A file or a
/// pipe gets the exact bytes; a terminal gets them through a [`TerminalWriter`] for
/// `content`.
pub fn writer(path: Option<&std::path::Path>, content: Content) -> io::Result<Box<dyn Write>> {
    Ok(match path {
        Some(path) => Box::new(io::BufWriter::new(std::fs::File::create(path)?)),
        None if stdout_is_terminal() => Box::new(io::BufWriter::new(TerminalWriter::new(
            io::stdout(),
            content,
        ))),
        None => Box::new(io::BufWriter::new(io::stdout())),
    })
}
