//! A completion in flight: the response body read chunk by chunk and turned into events.
//!
//! [`CompletionStream`] owns the I/O side of streaming: the idle timeout (a stream has no
//! total deadline, answers can take minutes, but the time since the last complete event is
//! bounded, so a drip of bytes that never completes one does not keep it open), the bound on
//! the answer's size (`MAX_ANSWER_BYTES`, over the text handed out and over each event being
//! framed), sniffing bodies that claim to be an event stream but are really an HTML captcha
//! or a JSON error, the SSE framing ([`super::sse`]) and the end-of-body verdict. Every error
//! it returns has passed the redaction step ([`super::redact`]), and after one it holds no
//! buffer and no connection. What each payload means is decided by [`super::events`]. The
//! client reads the first event before handing the stream out ([`CompletionStream::prime`]),
//! so retries can happen while nothing has reached the caller yet.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use tokio::time::Instant;

use super::classify::classify_response;
use super::events::{Decoder, Step};
use super::redact::Redactor;
use super::sse::{DEFAULT_MAX_EVENT_BYTES, SseEvent, SseParser};
use super::{QwenError, QwenEvent};

/// How much of a body we keep to classify it when it turns out not to be an event stream.
const SNIFF_LIMIT: usize = 64 * 1024;

/// Default `MAX_ANSWER_BYTES` of a stream built without [`CompletionStream::with_max_answer_bytes`].
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Room one event may take beyond the answer text it carries (JSON, usage, ids, titles).
const EVENT_OVERHEAD: usize = 1024 * 1024;

type ByteStream = Pin<Box<dyn Stream<Item = Result<Bytes, QwenError>> + Send>>;

/// What the body has shown itself to be so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Only whitespace seen yet.
    Sniffing,
    /// An event stream.
    Sse,
    /// A whole document (HTML or JSON) mislabelled as a stream: collect, then classify.
    Whole,
}

/// A completion in progress.
pub struct CompletionStream {
    /// The JSON body that was sent upstream (for the store; holds no secrets).
    pub sent_body: serde_json::Value,
    body: ByteStream,
    idle_timeout: Duration,
    /// When the last complete event was framed (or the stream began): the idle timeout
    /// counts from here, not from the last byte.
    last_event: Instant,
    /// Bound on the answer and reasoning text handed out, together.
    max_answer_bytes: usize,
    /// Answer and reasoning text handed out so far, in bytes.
    answer_bytes: usize,
    redactor: Arc<Redactor>,
    mode: Mode,
    head: Vec<u8>,
    sse: SseParser,
    raw: VecDeque<SseEvent>,
    decoder: Decoder,
    body_ended: bool,
    done: bool,
}

impl std::fmt::Debug for CompletionStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompletionStream")
            .field("mode", &self.mode)
            .field("finished", &self.decoder.finished)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl CompletionStream {
    /// Wraps a body that is expected to be a completion event stream.
    ///
    /// The client builds this from the HTTP response; it is public so that other layers can
    /// test their handling of upstream streams from recorded bytes without a server.
    /// `idle_timeout` bounds the time between two complete events.
    pub fn from_byte_stream<S>(
        body: S,
        idle_timeout: Duration,
        sent_body: serde_json::Value,
    ) -> Self
    where
        S: Stream<Item = Result<Bytes, QwenError>> + Send + 'static,
    {
        Self {
            sent_body,
            body: Box::pin(body),
            idle_timeout,
            last_event: Instant::now(),
            max_answer_bytes: DEFAULT_MAX_ANSWER_BYTES,
            answer_bytes: 0,
            redactor: Arc::default(),
            mode: Mode::Sniffing,
            head: Vec::new(),
            sse: SseParser::new(DEFAULT_MAX_EVENT_BYTES),
            raw: VecDeque::new(),
            decoder: Decoder::default(),
            body_ended: false,
            done: false,
        }
    }

    /// The stream with `MAX_ANSWER_BYTES` set: the answer and reasoning text it hands out may
    /// total at most `max` bytes, and one event may hold at most that plus some room for its
    /// JSON; past either, the answer ends with a [`QwenError::too_large`] error.
    pub fn with_max_answer_bytes(mut self, max: usize) -> Self {
        self.max_answer_bytes = max;
        self.sse = SseParser::new(max.saturating_add(EVENT_OVERHEAD));
        self
    }

    /// The stream with the client's redaction step applied to every error it returns.
    pub(crate) fn with_redactor(mut self, redactor: Arc<Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// The next event; `Ok(None)` once the answer finished and the body ended.
    ///
    /// After an error the stream is over and further calls return `Ok(None)`.
    pub async fn next_event(&mut self) -> Result<Option<QwenEvent>, QwenError> {
        let idle = self.idle_timeout;
        self.advance(Some(idle)).await
    }

    /// Reads until the first event is decoded and keeps it for [`Self::next_event`]. Errors
    /// here (a JSON error line, an empty body) are failures of the request as a whole, which
    /// the client may retry. No per-read timeout: the caller bounds the whole wait.
    pub(crate) async fn prime(&mut self) -> Result<(), QwenError> {
        match self.advance(None).await? {
            Some(event) => {
                self.decoder.queue.push_front(event);
                Ok(())
            }
            None => Err(QwenError::EmptyStream),
        }
    }

    async fn advance(
        &mut self,
        per_read: Option<Duration>,
    ) -> Result<Option<QwenEvent>, QwenError> {
        let result = self.advance_inner(per_read).await;
        if result.is_err() {
            self.release();
        }
        result.map_err(|err| self.redactor.error(err))
    }

    /// After an error: the stream is over; its buffers and the connection are let go.
    fn release(&mut self) {
        self.done = true;
        self.body = Box::pin(futures_util::stream::empty());
        self.raw = VecDeque::new();
        self.head = Vec::new();
        self.sse = SseParser::new(0);
        self.decoder.release();
    }

    async fn advance_inner(
        &mut self,
        per_read: Option<Duration>,
    ) -> Result<Option<QwenEvent>, QwenError> {
        // The idle time counts from the last complete event, or from this call when the
        // caller was busy since (a slow client must not make the upstream look idle).
        let asked = Instant::now();
        loop {
            if let Some(event) = self.decoder.queue.pop_front() {
                if let QwenEvent::Answer(text) | QwenEvent::Thinking(text) = &event {
                    self.answer_bytes = self.answer_bytes.saturating_add(text.len());
                    if self.answer_bytes > self.max_answer_bytes {
                        return Err(QwenError::too_large("answer", self.max_answer_bytes));
                    }
                }
                return Ok(Some(event));
            }
            if self.done {
                return Ok(None);
            }
            if let Some(raw) = self.raw.pop_front() {
                if self.decoder.handle(&raw.event, &raw.data)? == Step::Done {
                    self.raw.clear();
                    self.body_ended = true;
                }
                continue;
            }
            if self.body_ended {
                self.done = true;
                self.decoder.end()?;
                continue;
            }
            let next = match per_read {
                Some(limit) => {
                    let idle_until = self.last_event.max(asked) + limit;
                    match tokio::time::timeout_at(idle_until, self.body.next()).await {
                        Ok(next) => next,
                        Err(_) => Some(Err(QwenError::Timeout(limit))),
                    }
                }
                None => self.body.next().await,
            };
            match next {
                Some(Ok(chunk)) => {
                    let framed = self.raw.len();
                    self.on_chunk(&chunk)?;
                    if self.raw.len() > framed {
                        self.last_event = Instant::now();
                    }
                }
                None => self.on_body_end()?,
                Some(Err(err)) => return self.on_transport_error(err),
            }
        }
    }

    fn on_chunk(&mut self, chunk: &[u8]) -> Result<(), QwenError> {
        match self.mode {
            Mode::Sse => self.sse.push(chunk, &mut self.raw),
            Mode::Whole => {
                let room = SNIFF_LIMIT.saturating_sub(self.head.len());
                self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if self.head.len() >= SNIFF_LIMIT {
                    // Enough to tell what it is; no need to wait for the rest.
                    return Err(classify_response(200, None, None, &self.head));
                }
                Ok(())
            }
            Mode::Sniffing => {
                self.head.extend_from_slice(chunk);
                match self.head.iter().find(|b| !b.is_ascii_whitespace()) {
                    None if self.head.len() < SNIFF_LIMIT => Ok(()),
                    Some(b'<' | b'{' | b'[') => {
                        self.mode = Mode::Whole;
                        self.on_chunk(&[])
                    }
                    _ => {
                        self.mode = Mode::Sse;
                        let head = std::mem::take(&mut self.head);
                        self.sse.push(&head, &mut self.raw)
                    }
                }
            }
        }
    }

    fn on_body_end(&mut self) -> Result<(), QwenError> {
        match self.mode {
            Mode::Whole => return Err(classify_response(200, None, None, &self.head)),
            Mode::Sniffing => {
                let head = std::mem::take(&mut self.head);
                self.sse.push(&head, &mut self.raw)?;
            }
            Mode::Sse => {}
        }
        self.sse.finish(&mut self.raw);
        self.body_ended = true;
        Ok(())
    }

    fn on_transport_error(&mut self, err: QwenError) -> Result<Option<QwenEvent>, QwenError> {
        if self.decoder.finished {
            // The turn is complete; a connection that then stalls or breaks costs nothing.
            self.done = true;
            return Ok(None);
        }
        match err {
            // A dropped connection mid-answer is what "truncated" means to the caller.
            QwenError::Network(_) if self.decoder.saw_content => Err(QwenError::Truncated),
            other => Err(other),
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
