//! A small, bounded Server-Sent-Events framer: bytes in, `data` payloads out.
//!
//! We do not use `eventsource-stream` here, although it is a dependency, for three reasons
//! that matter for a hostile or broken upstream: it drops an event that is not followed by a
//! blank line when the body ends (we would report a finished answer as truncated), it stalls
//! and buffers without limit after one invalid UTF-8 byte (it waits for the sequence to
//! "complete"), and it has no bound on line length. The subset of SSE the Qwen upstream uses
//! (`data:` lines, blank-line separated, optional `event:`) fits in the hundred lines below,
//! which decode each line lossily and cap memory: one event (its lines so far plus the
//! unfinished line) may hold at most `max_event_bytes`, so neither an endless line nor
//! endless lines without the blank line that ends an event can grow it.

use std::collections::VecDeque;

use super::QwenError;

/// Default bound of one event. Thinking-summary events repeat the whole reasoning so far,
/// so events can be long, but not this long. The client sets it from `MAX_ANSWER_BYTES`.
pub(crate) const DEFAULT_MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One dispatched SSE event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct SseEvent {
    /// The `event:` field, empty when absent (the upstream never sends one on success).
    pub event: String,
    /// The `data:` lines joined with `\n`.
    pub data: String,
}

/// Incremental framer; feed it chunks as they arrive, then call [`SseParser::finish`].
#[derive(Debug)]
pub(crate) struct SseParser {
    max_event_bytes: usize,
    buf: Vec<u8>,
    /// How much of `buf` is known to hold no newline, so 1-byte chunks stay linear.
    scanned: usize,
    started: bool,
    pending: Pending,
}

#[derive(Debug, Default)]
struct Pending {
    event: String,
    data: String,
    has_data: bool,
}

impl Default for SseParser {
    fn default() -> Self {
        SseParser::new(DEFAULT_MAX_EVENT_BYTES)
    }
}

impl SseParser {
    /// A framer whose events may hold at most `max_event_bytes` each.
    pub fn new(max_event_bytes: usize) -> Self {
        SseParser {
            max_event_bytes,
            buf: Vec::new(),
            scanned: 0,
            started: false,
            pending: Pending::default(),
        }
    }

    /// Consumes one chunk, appending every completed event to `out`. Fails (and drops what
    /// it holds) once the event under way (its data so far and its unfinished line) grows
    /// past the bound; so at most the bound plus one chunk is ever held.
    pub fn push(&mut self, chunk: &[u8], out: &mut VecDeque<SseEvent>) -> Result<(), QwenError> {
        self.buf.extend_from_slice(chunk);
        let mut line_start = 0;
        while let Some(pos) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            let line_end = self.scanned + pos;
            let line = &self.buf[line_start..line_end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let line = if self.started {
                line
            } else {
                self.started = true;
                line.strip_prefix("\u{feff}".as_bytes()).unwrap_or(line)
            };
            self.pending.line(line, out);
            line_start = line_end + 1;
            self.scanned = line_start;
        }
        self.buf.drain(..line_start);
        self.scanned = self.buf.len();
        if self.buf.len() + self.pending.data.len() > self.max_event_bytes {
            return Err(self.too_large());
        }
        Ok(())
    }

    /// The error for an event past the bound; the buffers are released.
    fn too_large(&mut self) -> QwenError {
        let limit = self.max_event_bytes;
        *self = SseParser::new(limit);
        QwenError::Upstream {
            status: None,
            code: Some("too_large".into()),
            detail: format!(
                "an event of the answer grew past {limit} bytes (MAX_ANSWER_BYTES and room for \
                 its JSON); the rest was dropped"
            ),
            retryable: false,
        }
    }

    /// The body ended: a last line without newline and a last event without blank line are
    /// still delivered (the upstream's final `finished` event must not be lost to framing).
    pub fn finish(&mut self, out: &mut VecDeque<SseEvent>) {
        if !self.buf.is_empty() {
            let rest = std::mem::take(&mut self.buf);
            let line = rest.strip_suffix(b"\r").unwrap_or(&rest);
            self.pending.line(line, out);
        }
        self.scanned = 0;
        self.pending.dispatch(out);
    }
}

impl Pending {
    fn line(&mut self, line: &[u8], out: &mut VecDeque<SseEvent>) {
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.starts_with(b":") {
            return; // comment
        }
        let text = String::from_utf8_lossy(line);
        let (field, value) = match text.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (text.as_ref(), ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "event" => value.clone_into(&mut self.event),
            _ => {} // id, retry and unknown fields mean nothing to us
        }
    }

    fn dispatch(&mut self, out: &mut VecDeque<SseEvent>) {
        let pending = std::mem::take(self);
        if pending.has_data {
            out.push_back(SseEvent {
                event: pending.event,
                data: pending.data,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_chunks(chunks: &[&[u8]]) -> Vec<SseEvent> {
        let mut parser = SseParser::default();
        let mut out = VecDeque::new();
        for chunk in chunks {
            parser.push(chunk, &mut out).expect("within limits");
        }
        parser.finish(&mut out);
        out.into_iter().collect()
    }

    fn data(d: &str) -> SseEvent {
        SseEvent {
            event: String::new(),
            data: d.into(),
        }
    }

    #[test]
    fn frames_data_with_and_without_space() {
        let events = parse_chunks(&[b"data: {\"a\":1} \n\ndata:{\"b\":2}\r\n\r\n: comment\n\n"]);
        assert_eq!(events, vec![data("{\"a\":1} "), data("{\"b\":2}")]);
    }

    #[test]
    fn joins_multiline_data_and_keeps_event_names() {
        let events = parse_chunks(&[b"event: error\ndata: a\ndata: b\n\n"]);
        assert_eq!(
            events,
            vec![SseEvent {
                event: "error".into(),
                data: "a\nb".into()
            }]
        );
    }

    #[test]
    fn delivers_last_event_without_trailing_blank_line() {
        assert_eq!(
            parse_chunks(&[b"data: x\n\ndata: y"]),
            vec![data("x"), data("y")]
        );
        assert_eq!(parse_chunks(&[b"data: x\n"]), vec![data("x")]);
        assert_eq!(parse_chunks(&[b"", b"\n\n"]), vec![]);
    }

    #[test]
    fn split_utf8_and_invalid_bytes_do_not_stall() {
        let text = "data: 😊\n\n".as_bytes();
        let chunks: Vec<&[u8]> = text.chunks(1).collect();
        assert_eq!(parse_chunks(&chunks), vec![data("😊")]);
        let events = parse_chunks(&[b"data: a\xffb\n\ndata: c\n\n"]);
        assert_eq!(events, vec![data("a\u{fffd}b"), data("c")]);
    }

    #[test]
    fn an_event_past_the_bound_fails_and_is_dropped() {
        let mut out = VecDeque::new();
        // An endless line.
        let mut parser = SseParser::new(64);
        parser.push(&[b'x'; 60], &mut out).unwrap();
        let err = parser.push(&[b'x'; 10], &mut out).unwrap_err();
        assert_eq!(err.kind(), crate::qwen::ErrorKind::Upstream);
        assert!(err.to_string().contains("MAX_ANSWER_BYTES"), "{err}");
        assert!(parser.buf.capacity() == 0 && parser.pending.data.capacity() == 0);
        // Endless lines without the blank line that would end the event.
        let mut parser = SseParser::new(64);
        // (The data joined so far: five lines of 10 bytes and their newlines, 54 bytes.)
        for _ in 0..5 {
            parser.push(b"data: 0123456789\n", &mut out).unwrap();
        }
        assert!(parser.push(b"data: 0123456789\n", &mut out).is_err());
        assert!(out.is_empty());
        // Many small events in one chunk larger than the bound are fine.
        let mut parser = SseParser::new(64);
        parser
            .push(b"data: 0123456789\n\n".repeat(10).as_slice(), &mut out)
            .unwrap();
        assert_eq!(out.len(), 10);
    }

    #[test]
    fn strips_a_leading_bom() {
        assert_eq!(
            parse_chunks(&["\u{feff}data: x\n\n".as_bytes()]),
            vec![data("x")]
        );
    }
}
