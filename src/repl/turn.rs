//! One exchange with the engine: start the turn, draw the answer as it arrives, record how
//! it ended, and let Ctrl-C cancel it.
//!
//! The engine's [`session::Answer`] turns the upstream events into answer and reasoning
//! pieces and records how the turn ended, as it does for `serve`, so both record exactly
//! the same things; this file only draws. Ctrl-C is heard through
//! `tokio::signal::ctrl_c` only while a turn runs: rustyline is not reading then, and
//! while it reads, the terminal is in raw mode and Ctrl-C reaches it as a key instead.
//! Cancelling stops the answer, which ends the upstream request and records the exchange as
//! cancelled.

use std::io;
use std::time::Instant;

use serde_json::json;

use crate::openai::OpenAiUsage;
use crate::openai::response::ResponseMeta;
use crate::qwen::QwenError;
use crate::session::{
    self, Engine, FinishReason, Limits, Message, Piece, RequestMeta, StartError, Stop, TurnRequest,
};

use super::conversation::Conversation;
use super::render::{Renderer, View};

/// A complete answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub session_id: String,
    /// The answer exactly as the engine remembered it.
    pub content: String,
    pub reasoning: String,
    pub finish: FinishReason,
    pub usage: OpenAiUsage,
    /// The id and model of the `chat.completion` object (`--json`).
    pub meta: ResponseMeta,
}

/// How a turn ended.
#[derive(Debug)]
pub enum Ended {
    Answered(Answer),
    /// Ctrl-C.
    Cancelled,
    Failed(QwenError),
    /// The engine refused the turn (an unknown model).
    Refused(String),
}

/// Sends `messages` (the whole history, ending with the new message) in `conv`'s settings,
/// drawing the answer with `view`. An `Err` is an output failure (a closed stdout); the
/// turn is then recorded as cancelled.
pub async fn run(
    engine: &Engine,
    conv: &Conversation,
    messages: Vec<Message>,
    view: View,
) -> io::Result<Ended> {
    let meta = ResponseMeta::chat(&conv.model.name);
    let request = TurnRequest {
        model: conv.model.name.clone(),
        messages,
        thinking: Some(conv.thinking),
        search: None,
        limits: Limits::default(),
        tools: Vec::new(),
        tool_choice: Default::default(),
        parallel_tool_calls: true,
        format: Default::default(),
        meta: RequestMeta {
            id: uuid::Uuid::new_v4().to_string(),
            response_id: meta.id.clone(),
            endpoint: "chat",
            stream: view.stream,
            client_request_id: None,
            api_key_id: None,
            params: json!({
                "model": conv.model.name,
                "stream": view.stream,
                "enable_thinking": conv.thinking,
            })
            .into(),
            received: Instant::now(),
            received_at_ms: crate::time::unix_now_ms(),
        },
    };
    let mut renderer = Renderer::start(view);
    // One listener for the whole turn, so a Ctrl-C between two pieces is not missed.
    let interrupt = interrupted();
    tokio::pin!(interrupt);

    let started = tokio::select! {
        started = engine.start(request) => started,
        () = &mut interrupt => {
            renderer.abort()?;
            return Ok(Ended::Cancelled);
        }
    };
    let mut answer = match started {
        Ok(answer) => answer,
        // The engine recorded the failure already.
        Err(StartError::Upstream(err)) => {
            renderer.abort()?;
            return Ok(Ended::Failed(err));
        }
        // The model was resolved against the same list before: only a list that changed
        // since can refuse it.
        Err(StartError::Refused(refusal)) => {
            renderer.abort()?;
            return Ok(Ended::Refused(refusal.to_string()));
        }
    };
    loop {
        let next = tokio::select! {
            next = answer.next() => next,
            () = &mut interrupt => {
                answer.stop(Stop::ClientGone).await;
                renderer.abort()?;
                return Ok(Ended::Cancelled);
            }
        };
        let drawn = match next {
            Ok(Some(Piece::Reasoning(text))) => renderer.reasoning(&text),
            Ok(Some(Piece::Content(text))) => renderer.answer(&text),
            // The terminal chat offers no tools, so the engine never calls one.
            Ok(Some(Piece::ToolCall(_))) => Ok(()),
            // Recorded (and committed) before the last byte is printed, as `serve` does.
            Ok(Some(Piece::Done(finish))) => {
                return complete(&answer, renderer, meta, finish);
            }
            Ok(None) => return complete(&answer, renderer, meta, FinishReason::Stop),
            // Recorded by the answer.
            Err(err) => {
                renderer.abort()?;
                return Ok(Ended::Failed(err));
            }
        };
        if let Err(err) = drawn {
            answer.stop(Stop::ClientGone).await;
            return Err(err);
        }
    }
}

/// Ends the drawing of a recorded answer.
fn complete(
    answer: &session::Answer,
    renderer: Renderer,
    meta: ResponseMeta,
    finish: FinishReason,
) -> io::Result<Ended> {
    renderer.finish()?;
    Ok(Ended::Answered(Answer {
        session_id: answer.session_id().to_owned(),
        content: answer.content().to_owned(),
        reasoning: answer.reasoning().to_owned(),
        finish,
        usage: OpenAiUsage::from(answer.usage()),
        meta,
    }))
}

/// Resolves on Ctrl-C; never when the handler cannot be installed.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
