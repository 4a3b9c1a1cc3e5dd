//! Relaying one upstream answer: upstream events in, answer pieces out.
//!
//! [`Relay`] turns the typed upstream events of a [`Turn`] into answer and reasoning pieces,
//! applying `max_tokens`/`stop` on the way and keeping what the store needs; [`Relay::finish`]
//! records the outcome through the engine. The proxy (JSON or SSE) and the terminal chat both
//! drive answers through it, so they cannot drift apart in what they record.

use std::collections::VecDeque;
use std::time::Instant;

use serde_json::Value;

use crate::openai::limit::{FinishReason, OutputLimiter};
use crate::openai::usage::{OpenAiUsage, estimated_usage, usage_from_qwen};
use crate::qwen::{QwenError, QwenEvent, Usage};

use super::{Engine, Outcome, Status, Turn};

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
    pub fn new(
        mut turn: Turn,
        max_tokens: Option<u32>,
        stop: &[String],
        received: Instant,
    ) -> Relay {
        let prompt = turn
            .stream
            .sent_body
            .pointer("/messages/0/content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        // The engine already recorded the body; a long answer need not carry its JSON tree.
        turn.stream.sent_body = Value::Null;
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

fn ms_since(t: Instant) -> i64 {
    i64::try_from(t.elapsed().as_millis()).unwrap_or(i64::MAX)
}
