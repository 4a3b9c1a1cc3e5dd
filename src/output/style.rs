//! ANSI styling, and whether a stream wants it.
//!
//! Colour is for a person at a terminal: a stream gets escape codes only when it is a
//! terminal and `NO_COLOR` is unset or empty (<https://no-color.org>), decided per stream
//! because stdout may be piped while stderr is not. Text is styled through [`Paint`], which
//! is plain text when colour is off, so the code that draws a transcript or a note is the
//! same either way and its tests need no terminal.

use std::io::{self, IsTerminal as _};

/// Whether stdout is a terminal (colours, spinners).
pub fn stdout_is_terminal() -> bool {
    io::stdout().is_terminal()
}

/// Whether stderr is a terminal (spinners, reasoning shown dimmed).
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Whether colour is wanted on stdout: a terminal and `NO_COLOR` unset.
pub fn color_enabled() -> bool {
    stdout_is_terminal() && !no_color()
}

/// Whether colour is wanted on stderr: a terminal and `NO_COLOR` unset.
pub fn stderr_color_enabled() -> bool {
    stderr_is_terminal() && !no_color()
}

fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// Bold and dim text for one stream, or the text unchanged when `color` is off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paint {
    pub color: bool,
}

impl Paint {
    /// Styling for stdout ([`color_enabled`]).
    pub(crate) fn stdout() -> Paint {
        Paint {
            color: color_enabled(),
        }
    }

    /// Styling for stderr ([`stderr_color_enabled`]).
    pub(crate) fn stderr() -> Paint {
        Paint {
            color: stderr_color_enabled(),
        }
    }

    pub(crate) fn bold(self, text: &str) -> String {
        self.wrap("1", text)
    }

    pub(crate) fn dim(self, text: &str) -> String {
        self.wrap("2", text)
    }

    fn wrap(self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paint_wraps_only_in_colour() {
        assert_eq!(Paint { color: true }.dim("x"), "\x1b[2mx\x1b[0m");
        assert_eq!(Paint { color: true }.bold("x"), "\x1b[1mx\x1b[0m");
        assert_eq!(Paint { color: false }.dim("x"), "x");
    }
}
