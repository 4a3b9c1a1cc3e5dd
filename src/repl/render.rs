//! Drawing one answer as it arrives: a spinner until the first token, reasoning dimmed
//! before the answer, the answer itself, and exactly one newline at the end.
//!
//! What goes where is decided once per turn in [`View`], so the same code serves a pipe
//! (plain answer on stdout, nothing else), a one-shot in a terminal (reasoning on stderr)
//! and the REPL (reasoning dimmed above the answer on stdout). stdout is only written
//! through [`crate::output`]; notes and reasoning bound for stderr are written here.
//! Whatever reaches a terminal is made [`output::inert`] first (an answer can carry escape
//! sequences as well as any stored text); a pipe gets the answer exactly.

use std::io::{self, Write as _};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{self, Paint};

/// Where reasoning text goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Hidden,
    Stdout,
    Stderr,
}

/// How to draw a turn.
#[derive(Debug, Clone, Copy)]
pub struct View {
    /// Print the answer piece by piece (else all at once at the end).
    pub stream: bool,
    /// Print the answer at all (`--json` prints an object instead).
    pub answer: bool,
    pub reasoning: Sink,
    /// Dim the reasoning with ANSI codes.
    pub dim: bool,
    /// Show a spinner on stderr until the first token.
    pub spinner: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Waiting,
    Reasoning,
    Answer,
}

/// Draws one turn; see [`View`].
pub struct Renderer {
    view: View,
    phase: Phase,
    spinner: Option<ProgressBar>,
    /// The answer held back when not streaming.
    held: String,
    /// Whether stdout was left in the middle of a line.
    stdout_open: bool,
    /// Whether the reasoning printed so far ends a line.
    reasoning_ended_line: bool,
    /// Whether the answer printed so far ends a line (false while none was printed).
    answer_ended_line: bool,
    /// Whether stdout and stderr are terminals (text bound for them is made inert).
    stdout_terminal: bool,
    stderr_terminal: bool,
}

impl Renderer {
    /// Starts drawing: shows the spinner when asked for.
    pub fn start(view: View) -> Renderer {
        let spinner = view.spinner.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::default_spinner().template("{spinner} {msg}") {
                bar.set_style(style);
            }
            bar.set_message("waiting for Qwen…");
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        });
        Renderer {
            view,
            phase: Phase::Waiting,
            spinner,
            held: String::new(),
            stdout_open: false,
            reasoning_ended_line: true,
            answer_ended_line: false,
            stdout_terminal: output::stdout_is_terminal(),
            stderr_terminal: output::stderr_is_terminal(),
        }
    }

    fn stop_spinner(&mut self) {
        if let Some(bar) = self.spinner.take() {
            bar.finish_and_clear();
        }
    }

    /// A piece of reasoning.
    pub fn reasoning(&mut self, text: &str) -> io::Result<()> {
        self.stop_spinner();
        if self.view.reasoning == Sink::Hidden || text.is_empty() || self.phase == Phase::Answer {
            return Ok(());
        }
        self.phase = Phase::Reasoning;
        self.reasoning_ended_line = text.ends_with('\n');
        let terminal = match self.view.reasoning {
            Sink::Stdout => self.stdout_terminal,
            _ => self.stderr_terminal,
        };
        let text = if terminal {
            output::inert(text)
        } else {
            text.into()
        };
        let styled = Paint {
            color: self.view.dim,
        }
        .dim(&text);
        match self.view.reasoning {
            Sink::Stdout => {
                self.stdout_open = !self.reasoning_ended_line;
                output::text(&styled)
            }
            Sink::Stderr => {
                stderr(&styled);
                Ok(())
            }
            Sink::Hidden => Ok(()),
        }
    }

    /// A piece of the answer.
    pub fn answer(&mut self, text: &str) -> io::Result<()> {
        self.stop_spinner();
        if self.phase == Phase::Reasoning {
            // On stdout a blank line sets the reasoning apart from the answer; on stderr
            // the answer is elsewhere, so the reasoning only needs its line ended.
            match self.view.reasoning {
                Sink::Stdout if self.reasoning_ended_line => output::text("\n")?,
                Sink::Stdout => output::text("\n\n")?,
                Sink::Stderr => self.close_reasoning(),
                Sink::Hidden => {}
            }
            self.stdout_open = false;
        }
        self.phase = Phase::Answer;
        if !self.view.answer || text.is_empty() {
            return Ok(());
        }
        if self.view.stream {
            self.answer_ended_line = text.ends_with('\n');
            self.stdout_open = !self.answer_ended_line;
            self.print_answer(text)
        } else {
            self.held.push_str(text);
            Ok(())
        }
    }

    /// The answer is complete: prints what was held back and ends it with exactly one
    /// newline (none added when the answer already ends with one).
    pub fn finish(mut self) -> io::Result<()> {
        self.stop_spinner();
        self.close_reasoning();
        if !self.view.answer {
            return Ok(());
        }
        let held = std::mem::take(&mut self.held);
        if !held.is_empty() {
            self.answer_ended_line = held.ends_with('\n');
            self.print_answer(&held)?;
        }
        if !self.answer_ended_line {
            output::text("\n")?;
        }
        Ok(())
    }

    /// The turn ended early (cancelled or failed): clears the spinner and ends a line left
    /// open, so what follows starts on its own line. An answer held back is dropped: it
    /// was never complete.
    pub fn abort(mut self) -> io::Result<()> {
        self.stop_spinner();
        self.close_reasoning();
        if self.stdout_open {
            output::text("\n")?;
        }
        Ok(())
    }

    /// Answer text on stdout: inert on a terminal, exact in a pipe.
    fn print_answer(&self, text: &str) -> io::Result<()> {
        if self.stdout_terminal {
            output::text(&output::inert(text))
        } else {
            output::text(text)
        }
    }

    /// Ends reasoning that was still open on stderr.
    fn close_reasoning(&mut self) {
        if self.phase == Phase::Reasoning
            && self.view.reasoning == Sink::Stderr
            && !self.reasoning_ended_line
        {
            stderr("\n");
        }
    }
}

/// Text on stderr, flushed. Best effort: a closed stderr must not cost the user the
/// answer on stdout.
fn stderr(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes()).and_then(|()| err.flush());
}

/// A note for the person at the terminal (session ids, command feedback), on stderr so that
/// stdout keeps only answers and command output. Dimmed when stderr is a colour terminal;
/// inert, as it may quote stored text.
pub fn note(text: &str) {
    stderr(&format!("{}\n", Paint::stderr().dim(&output::inert(text))));
}

/// An error line in the REPL: the same shape as the one a failing command prints on exit.
pub fn error(text: &str) {
    stderr(&format!("qwenctl: error: {}\n", output::inert(text)));
}
