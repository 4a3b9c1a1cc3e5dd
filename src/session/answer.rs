//! [`Answer`]: one turn's answer, from the upstream's events to the record in the store.
//!
//! The engine hands an `Answer` to whichever front-end started the turn (an HTTP wire format
//! or the terminal chat). The front-end only draws pieces from it and renders them; the
//! answer applies `max_tokens`/`stop`, keeps what the store needs, decides the final status
//! ([`final_status`]) and records the response exactly once: when the upstream finished
//! (before [`Piece::Done`] is handed out, so a completed exchange is committed before the
//! client gets its last byte), when the upstream failed (before the error is returned), when
//! the front-end stops it ([`Answer::stop`]), or, if none of these happened, when it is
//! dropped (recorded as cancelled: hyper drops a handler whose client went away).
//! Kept whole: the answer's state (text, calls, usage, the corrective turn) and its one
//! record are one piece; the decisions it calls live in `status.rs` and `tools/shape.rs`.

use std::collections::VecDeque;

use serde_json::{Value, json};

use crate::qwen::{self, CompletionRequest, QwenError, QwenEvent};

use super::engine::Engine;
use super::limit::{FinishReason, OutputLimiter};
use super::record::Outcome;
use super::route::Turn;
use super::status::{End, Stop, final_status};
use super::tools::shape::{Ending, Out, Shaper};
use super::{Limits, ToolCall, Usage};

/// One piece of an answer, ready for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Reasoning(String),
    Content(String),
    /// One complete, validated tool call (handed out as soon as its block is complete).
    ToolCall(ToolCall),
    Done(FinishReason),
}

/// A whole answer, for front-ends that answer in one piece.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Complete {
    pub content: String,
    pub reasoning: String,
    pub tool_calls: Vec<ToolCall>,
    pub finish: FinishReason,
    /// The stop sequence that ended the answer, if one did.
    pub stop_sequence: Option<String>,
    pub usage: Usage,
    pub first_token_ms: Option<i64>,
}

/// A running answer. See the module docs.
pub struct Answer {
    engine: Engine,
    /// `None` once the response is recorded.
    turn: Option<Turn>,
    session_id: String,
    limiter: OutputLimiter,
    queue: VecDeque<Piece>,
    /// The upstream answer is over (no more events will be read).
    over: bool,
    /// The estimated prompt tokens of the current upstream turn, for when the upstream
    /// reports no usage.
    prompt_tokens: u64,
    content: String,
    reasoning: String,
    upstream_usage: Option<qwen::Usage>,
    upstream_response_id: Option<String>,
    first_token_ms: Option<i64>,
    /// Tools and output formats (design.md §9); plain text passes through it untouched.
    shaper: Shaper,
    tool_calls: Vec<ToolCall>,
    /// Earlier upstream turns of this answer (it took a corrective one): their usage and
    /// their record, and where this turn's text begins in `content`/`reasoning`.
    spent: Usage,
    earlier: Vec<Value>,
    /// The corrective message this upstream turn answers.
    sent: Option<String>,
    marks: (usize, usize),
}

impl Answer {
    /// `prompt_tokens`: the request's estimated prompt ([`super::estimate_prompt`]).
    pub(super) fn new(
        engine: Engine,
        mut turn: Turn,
        limits: &Limits,
        shaper: Shaper,
        prompt_tokens: u64,
    ) -> Answer {
        // The engine already recorded the body; a long answer need not carry its JSON tree.
        turn.stream.sent_body = serde_json::Value::Null;
        Answer {
            engine,
            session_id: turn.session_id.clone(),
            turn: Some(turn),
            limiter: OutputLimiter::new(limits.max_tokens, &limits.stop),
            queue: VecDeque::new(),
            over: false,
            prompt_tokens,
            content: String::new(),
            reasoning: String::new(),
            upstream_usage: None,
            upstream_response_id: None,
            first_token_ms: None,
            shaper,
            tool_calls: Vec::new(),
            spent: Usage::default(),
            earlier: Vec::new(),
            sent: None,
            marks: (0, 0),
        }
    }

    /// The session (one upstream chat) this answer belongs to.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The answer text so far, exactly as handed out.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// The reasoning text so far.
    pub fn reasoning(&self) -> &str {
        &self.reasoning
    }

    /// ms from the request's arrival to the first answer or reasoning text.
    pub fn first_token_ms(&self) -> Option<i64> {
        self.first_token_ms
    }

    /// The stop sequence that ended the answer, if one did (`FinishReason::Stop` covers both
    /// a natural end and a stop sequence; Anthropic tells them apart).
    pub fn stop_sequence(&self) -> Option<&str> {
        self.limiter.stop_sequence()
    }

    /// The tool calls handed out so far.
    pub fn tool_calls(&self) -> &[ToolCall] {
        &self.tool_calls
    }

    /// Token counts over every upstream turn: the upstream's when it reported any, else an
    /// estimate.
    pub fn usage(&self) -> Usage {
        let current = match &self.upstream_usage {
            Some(u) if u.input_tokens + u.output_tokens > 0 => {
                Usage::from_qwen_with(u, self.reasoning.get(self.marks.1..).unwrap_or_default())
            }
            _ => {
                let (content, reasoning) = self.marks;
                let mut completion = self.content.get(content..).unwrap_or_default().to_owned();
                for call in &self.tool_calls {
                    completion.push_str(&call.name);
                    completion.push_str(&call.arguments);
                }
                Usage::estimate(
                    self.prompt_tokens,
                    &completion,
                    self.reasoning.get(reasoning..).unwrap_or_default(),
                )
            }
        };
        self.spent + current
    }

    /// The next piece; `Ok(None)` after [`Piece::Done`]. `Done` is handed out after the
    /// exchange is committed; an `Err` after the failure is recorded.
    ///
    /// Cancel-safe between pieces: a front-end may drop this future (on a keep-alive tick, a
    /// departed client) and call again or [`Answer::stop`]; recording runs on its own task.
    pub async fn next(&mut self) -> Result<Option<Piece>, QwenError> {
        loop {
            if let Some(piece) = self.queue.front() {
                if let Piece::Done(reason) = *piece {
                    self.record(End::Done(reason)).await;
                }
                return Ok(self.queue.pop_front());
            }
            let Some(turn) = self.turn.as_mut().filter(|_| !self.over) else {
                return Ok(None);
            };
            let event = match turn.stream.next_event().await {
                Ok(event) => event,
                Err(err) => {
                    self.engine.accounts.note_failure(&turn.lease, &err);
                    self.engine.share_cooldown(&turn.lease).await;
                    self.over = true;
                    self.record(End::Failed(&err)).await;
                    return Err(err);
                }
            };
            match event {
                Some(QwenEvent::Created(created)) => {
                    self.upstream_response_id = Some(created.response_id);
                }
                Some(QwenEvent::Answer(text)) => {
                    self.mark_first_token();
                    if self.shaper.is_plain() {
                        self.pass_text(&text);
                    } else {
                        let out = self.shaper.answer(&text);
                        self.pass(out);
                    }
                }
                Some(QwenEvent::Thinking(text)) => {
                    self.mark_first_token();
                    if !text.is_empty() {
                        self.shaper.thinking(&text);
                        self.reasoning.push_str(&text);
                        self.queue.push_back(Piece::Reasoning(text));
                    }
                }
                Some(QwenEvent::Usage(usage)) => self.upstream_usage = Some(usage),
                Some(QwenEvent::Finished) | None => match self.shaper.finish() {
                    Ending::Done(out) => {
                        self.pass(out);
                        self.finish_text();
                    }
                    Ending::Correct(message) => {
                        if let Err(err) = self.correct(message).await {
                            tracing::warn!("the corrective turn failed to start: {err}");
                            let out = self.shaper.give_up();
                            self.pass(out);
                            self.finish_text();
                        }
                    }
                },
                Some(QwenEvent::WebSearch(_) | QwenEvent::KeepAlive) => {}
            }
        }
    }

    /// Draws the whole answer (recorded once it is complete or failed).
    pub async fn collect(mut self) -> Result<Complete, QwenError> {
        let finish = loop {
            match self.next().await? {
                Some(Piece::Done(reason)) => break reason,
                Some(_) => {}
                None => break FinishReason::Stop,
            }
        };
        let usage = self.usage();
        Ok(Complete {
            content: std::mem::take(&mut self.content),
            reasoning: std::mem::take(&mut self.reasoning),
            tool_calls: std::mem::take(&mut self.tool_calls),
            finish,
            stop_sequence: self.stop_sequence().map(str::to_owned),
            usage,
            first_token_ms: self.first_token_ms,
        })
    }

    /// Stops the answer before it ended and records why (awaits the commit). Does nothing
    /// when the answer was already recorded.
    pub async fn stop(mut self, why: Stop) {
        self.record(End::Stopped(why)).await;
    }

    fn mark_first_token(&mut self) {
        if self.first_token_ms.is_none() {
            self.first_token_ms = self.turn.as_ref().map(Turn::elapsed_ms);
        }
    }

    /// Passes the shaper's output on: text through the limits, calls as they are.
    fn pass(&mut self, out: Vec<Out>) {
        for item in out {
            if self.over {
                return;
            }
            match item {
                Out::Text(text) => self.pass_text(&text),
                Out::Call(call) => {
                    self.tool_calls.push(call.clone());
                    self.queue.push_back(Piece::ToolCall(call));
                }
            }
        }
    }

    /// Answer text through `max_tokens`/`stop`.
    fn pass_text(&mut self, text: &str) {
        let step = self.limiter.push(text);
        self.emit(step.emit);
        if let Some(reason) = step.finished {
            // Cut by stop/max_tokens: we stop reading, which ends the upstream.
            self.end(reason);
        }
    }

    /// The upstream turn is over and nothing more will be corrected: releases held text.
    fn finish_text(&mut self) {
        if self.over {
            return;
        }
        let step = self.limiter.finish();
        self.emit(step.emit);
        let reason = match step.finished.unwrap_or(FinishReason::Stop) {
            FinishReason::Stop if !self.tool_calls.is_empty() => FinishReason::ToolCalls,
            reason => reason,
        };
        self.end(reason);
    }

    /// Sends a corrective message in the same upstream chat and reads its answer instead
    /// (design.md §9: the chat is stateful, so a correction costs one turn).
    async fn correct(&mut self, message: String) -> Result<(), QwenError> {
        let (Some(turn), Some(parent)) = (self.turn.as_mut(), self.upstream_response_id.clone())
        else {
            return Err(QwenError::Protocol(
                "the answer has no response id to continue from".to_owned(),
            ));
        };
        let request = CompletionRequest {
            chat_id: turn.chat_id.clone(),
            parent_id: Some(parent.clone()),
            model: turn.model.clone(),
            content: message.clone(),
            thinking: turn.thinking,
            chat_type: turn.chat_type,
        };
        let deadline = self.engine.accounts.client().deadline();
        let mut stream = self
            .engine
            .complete_on(&turn.lease.clone(), &request, deadline)
            .await?;
        stream.sent_body = Value::Null;
        turn.stream = stream;
        self.earlier.push(self.upstream_turn(parent));
        self.spent = self.usage();
        self.upstream_usage = None;
        self.upstream_response_id = None;
        self.marks = (self.content.len(), self.reasoning.len());
        self.prompt_tokens = super::estimate_prompt(
            &[super::Message::text(super::Role::User, message.as_str())],
            &[],
        );
        self.sent = Some(message);
        self.shaper.restart();
        Ok(())
    }

    /// The record of the current upstream turn, for an answer that took more than one.
    fn upstream_turn(&self, response_id: String) -> Value {
        json!({
            "response_id": response_id,
            "sent": self.sent,
            "answer": self.shaper.raw(),
            "reasoning": self.reasoning.get(self.marks.1..).unwrap_or_default(),
        })
    }

    fn emit(&mut self, text: String) {
        if !text.is_empty() {
            self.content.push_str(&text);
            self.queue.push_back(Piece::Content(text));
        }
    }

    fn end(&mut self, reason: FinishReason) {
        self.queue.push_back(Piece::Done(reason));
        self.over = true;
    }

    /// Records the response once. The write runs on its own task, so a caller that drops
    /// this future midway cannot lose it.
    async fn record(&mut self, end: End<'_>) {
        if let Some(task) = self.spawn_record(end) {
            let _ = task.await;
        }
    }

    fn spawn_record(&mut self, end: End<'_>) -> Option<tokio::task::JoinHandle<()>> {
        let turn = self.turn.take()?;
        let status = final_status(end, !self.content.is_empty(), !self.reasoning.is_empty());
        let usage = self.usage();
        let outcome = Outcome {
            upstream_response_id: self.upstream_response_id.clone(),
            status,
            error: match end {
                End::Failed(err) => Some((err.kind().as_str().to_owned(), err.to_string())),
                _ => None,
            },
            // The front-end may still read the text after the end (to build a JSON body).
            content: self.content.clone(),
            reasoning: self.reasoning.clone(),
            tool_calls: self.tool_calls.clone(),
            upstream_turns: (!self.earlier.is_empty()).then(|| {
                let mut turns = self.earlier.clone();
                turns.push(
                    self.upstream_turn(self.upstream_response_id.clone().unwrap_or_default()),
                );
                Value::Array(turns)
            }),
            finish_reason: match end {
                End::Done(reason) => Some(reason.as_str().to_owned()),
                _ => None,
            },
            usage,
            first_token_ms: self.first_token_ms,
        };
        let engine = self.engine.clone();
        Some(tokio::spawn(
            async move { engine.finish(turn, outcome).await },
        ))
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        // Unfinished and unstopped: the client went away with the handler.
        if self.turn.is_some() && tokio::runtime::Handle::try_current().is_ok() {
            let _ = self.spawn_record(End::Stopped(Stop::ClientGone));
        }
    }
}
