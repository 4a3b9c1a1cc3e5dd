//! Writing one answer to one client as an OpenAI SSE stream.
//!
//! [`stream_sse`] writes the pieces of a [`Relay`] as chat or legacy-completion chunks, with
//! keep-alive comments while the upstream is silent, and notices a client that went away
//! (the upstream request is then dropped, which cancels it) or a shutdown deadline.

use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::openai::response::{ChatStream, TextStream};
use crate::openai::usage::OpenAiUsage;
use crate::qwen::QwenError;
use crate::session::{Engine, Piece, Relay, Status};

use super::ApiError;

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
