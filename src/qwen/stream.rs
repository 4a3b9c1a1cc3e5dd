//! A completion in flight: the response body read chunk by chunk and turned into events.
//!
//! [`CompletionStream`] owns the I/O side of streaming: per-read idle timeouts (a stream has
//! no total deadline, answers can take minutes), sniffing bodies that claim to be an event
//! stream but are really an HTML captcha or a JSON error, the SSE framing ([`super::sse`]) and
//! the end-of-body verdict. What each payload means is decided by [`super::events`]. The
//! client reads the first event before handing the stream out ([`CompletionStream::prime`]),
//! so retries can happen while nothing has reached the caller yet.

use std::collections::VecDeque;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::classify::classify_response;
use super::events::{Decoder, Step};
use super::sse::{SseEvent, SseParser};
use super::{QwenError, QwenEvent};

/// How much of a body we keep to classify it when it turns out not to be an event stream.
const SNIFF_LIMIT: usize = 64 * 1024;

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
    /// `idle_timeout` bounds each wait for the next chunk.
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
            mode: Mode::Sniffing,
            head: Vec::new(),
            sse: SseParser::default(),
            raw: VecDeque::new(),
            decoder: Decoder::default(),
            body_ended: false,
            done: false,
        }
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
            self.done = true;
            self.raw.clear();
            self.decoder.queue.clear();
        }
        result
    }

    async fn advance_inner(
        &mut self,
        per_read: Option<Duration>,
    ) -> Result<Option<QwenEvent>, QwenError> {
        loop {
            if let Some(event) = self.decoder.queue.pop_front() {
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
                Some(limit) => match tokio::time::timeout(limit, self.body.next()).await {
                    Ok(next) => next,
                    Err(_) => Some(Err(QwenError::Timeout(limit))),
                },
                None => self.body.next().await,
            };
            match next {
                Some(Ok(chunk)) => self.on_chunk(&chunk)?,
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
