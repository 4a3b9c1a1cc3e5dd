//! One exchange with the engine: start the turn, draw the answer as it arrives, record how
//! it ended, and let Ctrl-C cancel it.
//!
//! The upstream events are turned into answer and reasoning pieces by the proxy's
//! [`Relay`], so `serve` and `chat` record exactly the same things. Ctrl-C is heard through
//! `tokio::signal::ctrl_c` only while a turn runs: rustyline is not reading then, and
//! while it reads, the terminal is in raw mode and Ctrl-C reaches it as a key instead.
//! Cancelling drops the upstream stream (which ends the upstream request) and records the
//! exchange as cancelled.

use std::io;
use std::time::Instant;

use serde_json::json;

use crate::openai::response::ResponseMeta;
use crate::openai::{FinishReason, Message, OpenAiUsage};
use crate::qwen::{ChatType, QwenError};
use crate::session::{Engine, RequestMeta, Status, TurnRequest};
use crate::session::{Piece, Relay};

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
    let received = Instant::now();
    let request = TurnRequest {
        model: conv.model.upstream.clone(),
        messages,
        thinking: conv.thinking,
        chat_type: if conv.model.search {
            ChatType::Search
        } else {
            ChatType::Text
        },
        meta: RequestMeta {
            id: uuid::Uuid::new_v4().to_string(),
            endpoint: "chat",
            stream: view.stream,
            api_key_id: None,
            params: json!({
                "model": conv.model.name,
                "stream": view.stream,
                "enable_thinking": conv.thinking,
            }),
            received,
            received_at_ms: crate::unix_now_ms(),
        },
    };
    let meta = ResponseMeta::chat(&conv.model.name);
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
    let turn = match started {
        Ok(turn) => turn,
        // The engine recorded the failure already.
        Err(err) => {
            renderer.abort()?;
            return Ok(Ended::Failed(err));
        }
    };
    let session_id = turn.session_id.clone();
    let mut relay = Relay::new(turn, None, &[], received);
    loop {
        let next = tokio::select! {
            next = relay.next() => next,
            () = &mut interrupt => {
                relay.finish(engine, &meta.id, Status::Cancelled, None, None).await;
                renderer.abort()?;
                return Ok(Ended::Cancelled);
            }
        };
        let drawn = match next {
            Ok(Some(Piece::Reasoning(text))) => renderer.reasoning(&text),
            Ok(Some(Piece::Content(text))) => renderer.answer(&text),
            Ok(Some(Piece::Done(finish))) => {
                return complete(engine, relay, renderer, meta, finish, session_id).await;
            }
            Ok(None) => {
                return complete(
                    engine,
                    relay,
                    renderer,
                    meta,
                    FinishReason::Stop,
                    session_id,
                )
                .await;
            }
            Err(err) => {
                let status = if relay.content.is_empty() && relay.reasoning.is_empty() {
                    Status::Error
                } else {
                    Status::Partial
                };
                relay
                    .finish(engine, &meta.id, status, None, Some(&err))
                    .await;
                renderer.abort()?;
                return Ok(Ended::Failed(err));
            }
        };
        if let Err(err) = drawn {
            relay
                .finish(engine, &meta.id, Status::Cancelled, None, None)
                .await;
            return Err(err);
        }
    }
}

/// Records the answer (committed before the last byte is printed, as `serve` does) and
/// ends the drawing.
async fn complete(
    engine: &Engine,
    relay: Relay,
    renderer: Renderer,
    meta: ResponseMeta,
    finish: FinishReason,
    session_id: String,
) -> io::Result<Ended> {
    let answer = Answer {
        session_id,
        content: relay.content.clone(),
        reasoning: relay.reasoning.clone(),
        finish,
        usage: relay.openai_usage(),
        meta,
    };
    relay
        .finish(engine, &answer.meta.id, Status::Ok, Some(finish), None)
        .await;
    renderer.finish()?;
    Ok(Ended::Answered(answer))
}

/// Resolves on Ctrl-C; never when the handler cannot be installed.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
