//! Relaying one upstream answer to one client: upstream events in, OpenAI pieces out.
//!
//! [`Relay`] turns the typed upstream events of a [`Turn`] into answer and reasoning pieces,
//! applying `max_tokens`/`stop` on the way and keeping what the store needs. [`stream_sse`]
//! writes those pieces as an OpenAI SSE stream, with keep-alive comments while the upstream
//! is silent, and notices a client that went away (the upstream request is then dropped,
//! which cancels it) or a shutdown deadline. Both streaming and non-streaming handlers use
//! the same `Relay`, so the two cannot drift apart.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::openai::limit::{FinishReason, OutputLimiter};
use crate::openai::response::{ChatStream, TextStream};
use crate::openai::usage::{OpenAiUsage, estimated_usage, usage_from_qwen};
use crate::qwen::{QwenError, QwenEvent, Usage};
use crate::session::{Engine, Outcome, Status, Turn};

use super::ApiError;

/// One piece of an answer, ready for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Reasoning(String),
    Content(String),
    Done(FinishReason),
}

/// Drives one turn's upstream stream.
pub struct Relay {
    turn: Turn,
    limiter: OutputLimiter,
    queue: VecDeque<Piece>,
    done: bool,
    /// The prompt as sent upstream, for estimating usage when the upstream gave none.
    prompt: String,
    pub content: String,
    pub reasoning: String,
    pub usage: Option<Usage>,
    pub upstream_response_id: Option<String>,
    pub first_token_ms: Option<i64>,
    received: Instant,
}

impl Relay {
    pub fn new(turn: Turn, max_tokens: Option<u32>, stop: &[String], received: Instant) -> Relay {
        let prompt = turn
            .stream
            .sent_body
            .pointer("/messages/0/content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        Relay {
            turn,
            limiter: OutputLimiter::new(max_tokens, stop),
            queue: VecDeque::new(),
            done: false,
            prompt,
            content: String::new(),
            reasoning: String::new(),
            usage: None,
            upstream_response_id: None,
            first_token_ms: None,
            received,
        }
    }

    /// The session this answer belongs to.
    pub fn session_id(&self) -> &str {
        &self.turn.session_id
    }

    /// The next piece; `Ok(None)` after [`Piece::Done`].
    pub async fn next(&mut self) -> Result<Option<Piece>, QwenError> {
        loop {
            if let Some(piece) = self.queue.pop_front() {
                return Ok(Some(piece));
            }
            if self.done {
                return Ok(None);
            }
            match self.turn.stream.next_event().await? {
                Some(QwenEvent::Created(created)) => {
                    self.upstream_response_id = Some(created.response_id);
                }
                Some(QwenEvent::Answer(text)) => {
                    self.mark_first_token();
                    let step = self.limiter.push(&text);
                    self.emit(step.emit);
                    if let Some(reason) = step.finished {
                        // Cut by stop/max_tokens: we stop reading, which ends the upstream.
                        self.end(reason);
                    }
                }
                Some(QwenEvent::Thinking(text)) => {
                    self.mark_first_token();
                    if !text.is_empty() {
                        self.reasoning.push_str(&text);
                        self.queue.push_back(Piece::Reasoning(text));
                    }
                }
                Some(QwenEvent::Usage(usage)) => self.usage = Some(usage),
                Some(QwenEvent::Finished) | None => {
                    let step = self.limiter.finish();
                    self.emit(step.emit);
                    self.end(step.finished.unwrap_or(FinishReason::Stop));
                }
                Some(QwenEvent::WebSearch(_) | QwenEvent::KeepAlive) => {}
            }
        }
    }

    fn mark_first_token(&mut self) {
        if self.first_token_ms.is_none() {
            self.first_token_ms = Some(ms_since(self.received));
        }
    }

    fn emit(&mut self, text: String) {
        if !text.is_empty() {
            self.content.push_str(&text);
            self.queue.push_back(Piece::Content(text));
        }
    }

    fn end(&mut self, reason: FinishReason) {
        self.queue.push_back(Piece::Done(reason));
        self.done = true;
    }

    /// OpenAI usage: the upstream's when it reported any, else an estimate.
    pub fn openai_usage(&self) -> OpenAiUsage {
        match &self.usage {
            Some(u) if u.input_tokens + u.output_tokens > 0 => usage_from_qwen(u),
            _ => estimated_usage(&self.prompt, &self.content, &self.reasoning),
        }
    }

    /// Records the end of the exchange (awaits the commit) and consumes the relay.
    pub async fn finish(
        self,
        engine: &Engine,
        response_id: &str,
        status: Status,
        finish_reason: Option<FinishReason>,
        error: Option<&QwenError>,
    ) {
        let usage = self.openai_usage();
        if let Some(ms) = self.first_token_ms {
            metrics::histogram!("qwen_time_to_first_token_seconds").record(ms as f64 / 1000.0);
        }
        let outcome = Outcome {
            response_id: response_id.to_owned(),
            upstream_response_id: self.upstream_response_id,
            status,
            error: error.map(|e| (e.kind().as_str().to_owned(), e.to_string())),
            content: self.content,
            reasoning: self.reasoning,
            finish_reason: finish_reason.map(|r| r.as_str().to_owned()),
            prompt_tokens: usage.prompt_tokens,
            completion_tokens: usage.completion_tokens,
            reasoning_tokens: usage.completion_tokens_details.reasoning_tokens,
            first_token_ms: self.first_token_ms,
        };
        engine.finish(self.turn, outcome).await;
    }
}

/// The two stream shapes: chat chunks and legacy text-completion chunks.
pub enum Shape {
    Chat(ChatStream),
    Text(TextStream),
}

impl Shape {
    fn id(&self) -> &str {
        match self {
            Shape::Chat(s) => &s.meta.id,
            Shape::Text(s) => &s.meta.id,
        }
    }
    fn include_usage(&self) -> bool {
        match self {
            Shape::Chat(s) => s.include_usage,
            Shape::Text(s) => s.include_usage,
        }
    }
    fn first(&self) -> Option<Value> {
        match self {
            Shape::Chat(s) => Some(s.role()),
            Shape::Text(_) => None,
        }
    }
    fn piece(&self, piece: &Piece) -> Option<Value> {
        match (self, piece) {
            (Shape::Chat(s), Piece::Content(t)) => Some(s.content(t)),
            (Shape::Chat(s), Piece::Reasoning(t)) => Some(s.reasoning(t)),
            (Shape::Chat(s), Piece::Done(r)) => Some(s.finish(*r)),
            (Shape::Text(s), Piece::Content(t)) => Some(s.text(t)),
            (Shape::Text(_), Piece::Reasoning(_)) => None,
            (Shape::Text(s), Piece::Done(r)) => Some(s.finish(*r)),
        }
    }
    fn usage(&self, usage: &OpenAiUsage) -> Value {
        match self {
            Shape::Chat(s) => s.usage(usage),
            Shape::Text(s) => s.usage(usage),
        }
    }
}

fn data(value: &Value) -> Bytes {
    Bytes::from(format!("data: {value}\n\n"))
}

const KEEP_ALIVE: &[u8] = b": keep-alive\n\n";
const DONE: &[u8] = b"data: [DONE]\n\n";

/// What ended the wait for the next piece.
enum Wake {
    Piece(Result<Option<Piece>, QwenError>),
    ClientGone,
    Deadline,
}

/// Called once when a stream ends, with how it ended (for metrics).
pub type OnEnd = Box<dyn FnOnce(Status, Option<&QwenError>) + Send>;

/// Everything a stream writer needs besides the relay.
pub struct StreamContext {
    pub engine: Engine,
    pub keepalive: Duration,
    /// Fires when the shutdown grace period is over.
    pub deadline: CancellationToken,
    /// Called once with the outcome, for metrics.
    pub on_end: OnEnd,
}

/// Writes the relay's pieces to `tx` as an OpenAI SSE stream until the answer ends, the
/// client goes away or the shutdown deadline passes.
pub async fn stream_sse(
    mut relay: Relay,
    shape: Shape,
    ctx: StreamContext,
    tx: mpsc::Sender<Bytes>,
) {
    let StreamContext {
        engine,
        keepalive,
        deadline,
        on_end,
    } = ctx;
    let id = shape.id().to_owned();
    if let Some(first) = shape.first()
        && tx.send(data(&first)).await.is_err()
    {
        on_end(Status::Cancelled, None);
        relay
            .finish(&engine, &id, Status::Cancelled, None, None)
            .await;
        return;
    }
    loop {
        let wake = {
            // The read is pinned across keep-alive ticks so no upstream bytes are lost.
            let next = relay.next();
            tokio::pin!(next);
            loop {
                tokio::select! {
                    biased;
                    _ = tx.closed() => break Wake::ClientGone,
                    _ = deadline.cancelled() => break Wake::Deadline,
                    r = tokio::time::timeout(keepalive, &mut next) => match r {
                        Ok(piece) => break Wake::Piece(piece),
                        Err(_) => {
                            if tx.send(Bytes::from_static(KEEP_ALIVE)).await.is_err() {
                                break Wake::ClientGone;
                            }
                        }
                    },
                }
            }
        };
        match wake {
            Wake::Piece(Ok(Some(piece))) => {
                if let Piece::Done(reason) = piece {
                    let mut tail = Vec::with_capacity(2);
                    if let Some(v) = shape.piece(&piece) {
                        tail.push(data(&v));
                    }
                    if shape.include_usage() {
                        tail.push(data(&shape.usage(&relay.openai_usage())));
                    }
                    for bytes in tail {
                        let _ = tx.send(bytes).await;
                    }
                    on_end(Status::Ok, None);
                    // Committed before the client sees [DONE] (design.md §5).
                    relay
                        .finish(&engine, &id, Status::Ok, Some(reason), None)
                        .await;
                    let _ = tx.send(Bytes::from_static(DONE)).await;
                    return;
                }
                if let Some(v) = shape.piece(&piece)
                    && tx.send(data(&v)).await.is_err()
                {
                    on_end(Status::Cancelled, None);
                    relay
                        .finish(&engine, &id, Status::Cancelled, None, None)
                        .await;
                    return;
                }
            }
            Wake::Piece(Ok(None)) => {
                // Done was already handled; nothing more can come.
                return;
            }
            Wake::Piece(Err(err)) => {
                let status = if relay.content.is_empty() && relay.reasoning.is_empty() {
                    Status::Error
                } else {
                    Status::Partial
                };
                let _ = tx.send(data(&ApiError::from(&err).body())).await;
                on_end(status, Some(&err));
                relay.finish(&engine, &id, status, None, Some(&err)).await;
                return;
            }
            Wake::ClientGone => {
                on_end(Status::Cancelled, None);
                relay
                    .finish(&engine, &id, Status::Cancelled, None, None)
                    .await;
                return;
            }
            Wake::Deadline => {
                let err = ApiError::unavailable(
                    "the server is shutting down and this stream ran past the grace period",
                );
                let _ = tx.send(data(&err.body())).await;
                on_end(Status::Partial, None);
                relay
                    .finish(&engine, &id, Status::Partial, None, None)
                    .await;
                return;
            }
        }
    }
}

fn ms_since(t: Instant) -> i64 {
    i64::try_from(t.elapsed().as_millis()).unwrap_or(i64::MAX)
}
