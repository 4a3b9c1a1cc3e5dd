//! Stored text made harmless for a terminal.
//!
//! Everything a client of `serve` sends ends up in the store, and from there on the screen
//! of whoever reads it: a prompt holding `ESC ]0;…BEL` retitles the window, `ESC [2J`
//! clears it, OSC 52 writes the clipboard, and an RTL override makes `exe.txt` read as
//! `txt.exe`. [`inert`] is the one function every terminal renderer passes such text
//! through (tables, `sessions show`, the REPL, Markdown exported to a terminal): it shows
//! each of those characters as something visible that the terminal does not act on, and
//! leaves all other text alone.
//!
//! - C0 controls and DEL become their Unicode control pictures (`ESC` → `␛`, `BEL` → `␇`),
//!   except line feed and tab, which are layout; a carriage return stays only before a line
//!   feed (a CRLF line end), so it cannot send the cursor back to overwrite a line;
//! - C1 controls (U+0080–U+009F: some terminals read U+009B as CSI) and the bidirectional
//!   controls (U+061C, U+200E–U+200F, U+202A–U+202E, U+2066–U+2069) become `<U+202E>`.
//!
//! The mapping is per character (a CR looks at the next one), so text streamed in pieces
//! comes out as the whole would, and applying it twice changes nothing. JSON needs none of
//! it to be exact, only to be safe: [`json_safe`] writes the characters JSON would carry
//! raw (C1, bidi, DEL) as `\uXXXX` escapes, which parse back to the same string.
//! [`TerminalWriter`] applies either to a stream of bytes (an export to a terminal).

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{self, Write};

/// What a character becomes on a terminal: `None` to keep it.
fn replacement(c: char, next: Option<char>) -> Option<Visible> {
    match c {
        '\n' | '\t' => None,
        '\r' if next == Some('\n') => None,
        '\u{0}'..='\u{1f}' => Some(Visible::Picture(
            char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        )),
        '\u{7f}' => Some(Visible::Picture('\u{2421}')),
        c if is_c1(c) || is_bidi_control(c) => Some(Visible::Code(c)),
        _ => None,
    }
}

enum Visible {
    Picture(char),
    Code(char),
}

fn is_c1(c: char) -> bool {
    ('\u{80}'..='\u{9f}').contains(&c)
}

/// The characters with Unicode's `Bidi_Control` property: they reorder the text around
/// them without being seen.
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

/// `text` with control characters, escape sequences and bidi overrides made visible and
/// inert (see the module documentation); borrowed when there is nothing to change.
pub(crate) fn inert(text: &str) -> Cow<'_, str> {
    let mut chars = text.char_indices().peekable();
    let first = loop {
        let Some((i, c)) = chars.next() else {
            return Cow::Borrowed(text);
        };
        if replacement(c, chars.peek().map(|&(_, n)| n)).is_some() {
            break i;
        }
    };
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(&text[..first]);
    let mut chars = text[first..].chars().peekable();
    while let Some(c) = chars.next() {
        match replacement(c, chars.peek().copied()) {
            None => out.push(c),
            Some(Visible::Picture(p)) => out.push(p),
            Some(Visible::Code(c)) => {
                let _ = write!(out, "<U+{:04X}>", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

/// Serialized JSON with the characters it carries raw but a terminal acts on (C1 controls,
/// bidi controls, DEL) written as `\uXXXX` escapes: the same value, safe to show. They can
/// only occur inside strings, where the escape is valid. Other controls are escaped by
/// every JSON serializer already.
pub(crate) fn json_safe(json: &[u8]) -> Cow<'_, [u8]> {
    let Ok(text) = std::str::from_utf8(json) else {
        return Cow::Borrowed(json);
    };
    let unsafe_char = |c: char| c == '\u{7f}' || is_c1(c) || is_bidi_control(c);
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if unsafe_char(c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out.into_bytes())
}

/// What a [`TerminalWriter`] passes its bytes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// Text for people (Markdown): [`inert`].
    Text,
    /// JSON, JSON Lines: [`json_safe`], so the value stays exact.
    Json,
}

/// A writer that makes what passes through it safe for a terminal, as [`Content`] says.
/// Pieces may end inside a UTF-8 sequence or between a CR and its LF: such a tail is held
/// until the next write (or written on flush).
pub struct TerminalWriter<W: Write> {
    inner: W,
    content: Content,
    pending: Vec<u8>,
}

impl<W: Write> TerminalWriter<W> {
    pub fn new(inner: W, content: Content) -> Self {
        TerminalWriter {
            inner,
            content,
            pending: Vec::new(),
        }
    }

    /// Writes what `pending` holds, keeping an unfinished tail unless `all`. Bytes that
    /// are not UTF-8 (nothing we render produces them) are written as U+FFFD: a lone
    /// 0x9B is CSI to a terminal that is not in UTF-8 mode.
    fn drain(&mut self, all: bool) -> io::Result<()> {
        let mut start = 0;
        loop {
            let rest = &self.pending[start..];
            let (valid, invalid) = match std::str::from_utf8(rest) {
                Ok(_) => (rest.len(), None),
                Err(e) => (e.valid_up_to(), Some(e.error_len())),
            };
            let mut end = valid;
            let tail = invalid.is_none() || invalid == Some(None);
            if tail && !all && rest[..end].ends_with(b"\r") {
                // Perhaps the first half of a CRLF.
                end -= 1;
            }
            let text = std::str::from_utf8(&rest[..end]).unwrap_or_default();
            match self.content {
                Content::Text => self.inner.write_all(inert(text).as_bytes())?,
                Content::Json => self.inner.write_all(&json_safe(text.as_bytes()))?,
            }
            start += end;
            match invalid {
                Some(Some(len)) => {
                    self.inner.write_all("\u{fffd}".as_bytes())?;
                    start += len;
                }
                Some(None) if all => {
                    self.inner.write_all("\u{fffd}".as_bytes())?;
                    start = self.pending.len();
                    break;
                }
                _ => break,
            }
        }
        self.pending.drain(..start);
        Ok(())
    }
}

impl<W: Write> Write for TerminalWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        self.drain(false)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain(true)?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for TerminalWriter<W> {
    fn drop(&mut self) {
        let _ = self.drain(true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_sequences_and_controls_become_visible() {
        assert_eq!(inert("\x1b]0;pwned\x07"), "␛]0;pwned␇");
        assert_eq!(inert("\x1b[2J\x1b[H"), "␛[2J␛[H");
        assert_eq!(inert("\x1b]52;c;ZXZpbA==\x1b\\"), "␛]52;c;ZXZpbA==␛\\");
        assert_eq!(inert("a\0b\x08c\x7f"), "a␀b␈c␡");
        assert_eq!(inert("\u{9b}31m"), "<U+009B>31m");
    }

    #[test]
    fn bidi_controls_are_named() {
        assert_eq!(inert("invoice\u{202e}txt.exe"), "invoice<U+202E>txt.exe");
        assert_eq!(inert("\u{2066}x\u{2069}"), "<U+2066>x<U+2069>");
        assert_eq!(inert("\u{200f}"), "<U+200F>");
    }

    #[test]
    fn layout_and_ordinary_text_stay() {
        for text in [
            "plain",
            "two\nlines\tand a tab",
            "crlf\r\n",
            "héllo ✓ 日本 ␛",
        ] {
            assert!(
                matches!(inert(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
        assert_eq!(inert("over\rwrite"), "over␍write");
        assert_eq!(inert("end\r"), "end␍");
    }

    #[test]
    fn inert_text_is_inert() {
        let once = inert("\x1b[31m\u{202e}\r\x07");
        assert_eq!(inert(&once), once);
        assert!(!once.contains(|c: char| c.is_control()));
    }

    #[test]
    fn json_keeps_its_value() {
        let value = serde_json::json!({"t": "a\u{202e}b\u{9b}c\u{7f}\x1b"});
        let raw = serde_json::to_vec(&value).unwrap();
        let safe = json_safe(&raw);
        let text = std::str::from_utf8(&safe).unwrap();
        assert_eq!(text, r#"{"t":"a\u202eb\u009bc\u007f\u001b"}"#);
        let back: serde_json::Value = serde_json::from_slice(&safe).unwrap();
        assert_eq!(back, value);
        assert!(matches!(json_safe(b"{\"a\":1}"), Cow::Borrowed(_)));
    }

    #[test]
    fn a_writer_handles_pieces_split_anywhere() {
        let text = "a\x1b[1mé\u{202e}\r\nz\rq";
        for split in 0..=text.len() {
            let mut out = Vec::new();
            {
                let mut w = TerminalWriter::new(&mut out, Content::Text);
                w.write_all(&text.as_bytes()[..split]).unwrap();
                w.write_all(&text.as_bytes()[split..]).unwrap();
                w.flush().unwrap();
            }
            assert_eq!(
                String::from_utf8(out).unwrap(),
                inert(text),
                "split {split}"
            );
        }
        let mut out = Vec::new();
        TerminalWriter::new(&mut out, Content::Json)
            .write_all("\"\u{202e}\"".as_bytes())
            .unwrap();
        assert_eq!(out, br#""\u202e""#);
    }
}
