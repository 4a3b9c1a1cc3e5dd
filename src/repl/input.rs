//! What the user sends, before it is a message: the one-shot prompt put together from the
//! argument, piped stdin and `-f` files, and the REPL's multi-line input.
//!
//! Kept free of terminal and network code so the rules (blank line between parts, fences
//! longer than any backtick run in a file, `"""` blocks and trailing-`\` continuations) are
//! unit-tested.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use crate::error::UsageError;

/// A file given with `-f`: the name shown to the model and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attached {
    pub name: String,
    pub text: String,
}

/// Reads all of stdin; text that is not UTF-8 is a usage error, not garbage sent upstream.
pub fn read_stdin() -> Result<String, UsageError> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .read_to_end(&mut bytes)
        .map_err(|e| UsageError(format!("cannot read stdin: {e}")))?;
    String::from_utf8(bytes).map_err(|_| UsageError("stdin is not UTF-8 text".into()))
}

/// Reads the `-f` files; a missing or binary file is a usage error naming it.
pub fn read_files(paths: &[PathBuf]) -> Result<Vec<Attached>, UsageError> {
    paths.iter().map(|p| read_file(p)).collect()
}

fn read_file(path: &Path) -> Result<Attached, UsageError> {
    let shown = path.display();
    let bytes = std::fs::read(path).map_err(|e| UsageError(format!("cannot read {shown}: {e}")))?;
    let text =
        String::from_utf8(bytes).map_err(|_| UsageError(format!("{shown} is not UTF-8 text")))?;
    let name = path
        .file_name()
        .map_or_else(|| shown.to_string(), |n| n.to_string_lossy().into_owned());
    Ok(Attached { name, text })
}

/// The one-shot prompt: the argument, a blank line, piped stdin, then each file in a fenced
/// block headed by its name. Empty parts are left out.
pub fn compose(prompt: Option<&str>, stdin: Option<&str>, files: &[Attached]) -> String {
    let mut parts: Vec<String> = Vec::new();
    for text in [prompt, stdin].into_iter().flatten() {
        let text = text.trim_end_matches(['\n', '\r']);
        if !text.trim().is_empty() {
            parts.push(text.to_owned());
        }
    }
    for file in files {
        parts.push(fenced(&file.name, &file.text));
    }
    parts.join("\n\n")
}

/// `text` in a fenced block whose info string is `name`. The fence is longer than any run of
/// backticks inside, so a Markdown file cannot end the block early.
pub fn fenced(name: &str, text: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = text.trim_end_matches(['\n', '\r']);
    format!("{fence}{name}\n{body}\n{fence}")
}

/// The delimiter line of a multi-line block.
const BLOCK: &str = "\"\"\"";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Idle,
    /// Inside a `"""` block.
    Block,
    /// After a line ending in `\`.
    Continued,
}

/// Joins the REPL's physical lines into one message: a `"""` line opens a block that the
/// next `"""` line closes; a line ending in `\` continues on the next line.
#[derive(Debug, Default)]
pub struct Assembler {
    lines: Vec<String>,
    mode: Mode,
}

impl Assembler {
    /// Whether no message is in progress (the main prompt, not the continuation prompt).
    pub fn is_idle(&self) -> bool {
        self.mode == Mode::Idle
    }

    /// Takes one line; returns the message once it is complete.
    pub fn push(&mut self, line: &str) -> Option<String> {
        match self.mode {
            Mode::Idle => {
                if let Some(rest) = line.trim_start().strip_prefix(BLOCK) {
                    self.mode = Mode::Block;
                    // `"""text"""` on one line is a complete message.
                    if let Some(inner) = rest.strip_suffix(BLOCK) {
                        self.lines.push(inner.to_owned());
                        return self.take();
                    }
                    if !rest.trim().is_empty() {
                        self.lines.push(rest.to_owned());
                    }
                    return None;
                }
                self.continue_or_finish(line)
            }
            Mode::Block => {
                if line.trim() == BLOCK {
                    return self.take();
                }
                if let Some(last) = line.trim_end().strip_suffix(BLOCK) {
                    self.lines.push(last.to_owned());
                    return self.take();
                }
                self.lines.push(line.to_owned());
                None
            }
            Mode::Continued => self.continue_or_finish(line),
        }
    }

    /// Ends the message early (Ctrl-D at the continuation prompt): what was typed so far.
    pub fn finish(&mut self) -> Option<String> {
        let text = self.take()?;
        (!text.trim().is_empty()).then_some(text)
    }

    /// Drops the message in progress (Ctrl-C).
    pub fn clear(&mut self) {
        self.lines.clear();
        self.mode = Mode::Idle;
    }

    fn continue_or_finish(&mut self, line: &str) -> Option<String> {
        match line.strip_suffix('\\') {
            Some(head) => {
                self.lines.push(head.to_owned());
                self.mode = Mode::Continued;
                None
            }
            None => {
                self.lines.push(line.to_owned());
                self.take()
            }
        }
    }

    fn take(&mut self) -> Option<String> {
        let text = self.lines.join("\n");
        self.clear();
        Some(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attached(name: &str, text: &str) -> Attached {
        Attached {
            name: name.into(),
            text: text.into(),
        }
    }

    #[test]
    fn compose_joins_prompt_stdin_and_files() {
        assert_eq!(compose(Some("hi"), None, &[]), "hi");
        assert_eq!(compose(None, Some("hello pipe\n"), &[]), "hello pipe");
        assert_eq!(
            compose(Some("summarise"), Some("text\n"), &[]),
            "summarise\n\ntext"
        );
        let files = [attached("notes.md", "a\nb\n")];
        assert_eq!(
            compose(Some("summarise this"), Some("  \n"), &files),
            "summarise this\n\n```notes.md\na\nb\n```"
        );
        assert_eq!(compose(None, Some("\n"), &[]), "");
    }

    #[test]
    fn fences_outgrow_backticks_inside() {
        assert_eq!(fenced("x", "no ticks"), "```x\nno ticks\n```");
        assert_eq!(
            fenced("r.md", "```rust\ncode\n```\n"),
            "````r.md\n```rust\ncode\n```\n````"
        );
    }

    #[test]
    fn single_lines_pass_through() {
        let mut a = Assembler::default();
        assert_eq!(a.push("hello"), Some("hello".into()));
        assert!(a.is_idle());
        assert_eq!(a.push(""), Some(String::new()));
    }

    #[test]
    fn triple_quotes_make_a_block() {
        let mut a = Assembler::default();
        assert_eq!(a.push("\"\"\""), None);
        assert!(!a.is_idle());
        assert_eq!(a.push("line one"), None);
        assert_eq!(a.push(""), None);
        assert_eq!(a.push("  indented \\"), None);
        assert_eq!(a.push("\"\"\""), Some("line one\n\n  indented \\".into()));
        assert!(a.is_idle());
        assert_eq!(a.push("\"\"\"first"), None);
        assert_eq!(a.push("last\"\"\""), Some("first\nlast".into()));
        assert_eq!(a.push("\"\"\"inline\"\"\""), Some("inline".into()));
    }

    #[test]
    fn trailing_backslash_continues() {
        let mut a = Assembler::default();
        assert_eq!(a.push("one \\"), None);
        assert_eq!(a.push("two\\"), None);
        assert_eq!(a.push("three"), Some("one \ntwo\nthree".into()));
    }

    #[test]
    fn finish_and_clear() {
        let mut a = Assembler::default();
        a.push("\"\"\"");
        a.push("partial");
        assert_eq!(a.finish(), Some("partial".into()));
        assert!(a.is_idle());
        a.push("x\\");
        a.clear();
        assert!(a.is_idle());
        assert_eq!(a.push("y"), Some("y".into()));
        a.push("\"\"\"");
        assert_eq!(a.finish(), None);
    }
}
