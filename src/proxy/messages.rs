//! `POST /v1/messages` and `POST /v1/messages/count_tokens`, the Anthropic Messages wire
//! format (design.md §10): the body becomes the engine's [`TurnRequest`] (tools, tool choice,
//! thinking, an output format, stop sequences, `max_tokens`), and the answer's pieces become
//! one `message` object or Anthropic's event stream (`message_start`, content blocks for
//! thinking, text and `tool_use`, `message_delta`, `message_stop`, `ping` while the upstream
//! is silent). Errors take Anthropic's shape. Same engine, store and tool emulation as chat
//! completions: only the wire differs.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde_json::json;

use super::exchange::{self, Incoming};
use super::middleware::{KeyId, RequestId};
use super::sse::{Encoder, Failure};
use super::{ApiError, AppState, ErrorShape};
use crate::anthropic::{self, MessageMeta, MessageStream, stream};
use crate::session::{Answer, FinishReason, Limits, Piece, TurnRequest};

const ENDPOINT: &str = "messages";
const SHAPE: ErrorShape = ErrorShape::Anthropic;

/// `POST /v1/messages`.
pub(super) async fn create(
    State(state): State<Arc<AppState>>,
    request_id: Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    exchange::handle(state, request_id, key, req, SHAPE, answer).await
}

/// `POST /v1/messages/count_tokens`: the estimate `usage.input_tokens` would report.
pub(super) async fn count_tokens(
    State(state): State<Arc<AppState>>,
    request_id: Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    exchange::handle(
        state,
        request_id,
        key,
        req,
        SHAPE,
        |_, incoming| async move {
            match anthropic::parse_count_tokens_request(&incoming.body) {
                Ok(request) => {
                    Json(json!({"input_tokens": anthropic::input_tokens(&request)})).into_response()
                }
                Err(invalid) => ApiError::bad_request(invalid.message, None).shaped(SHAPE),
            }
        },
    )
    .await
}

async fn answer(state: Arc<AppState>, incoming: Incoming) -> Response {
    let state = &state;
    let request = match anthropic::parse_messages_request(&incoming.body) {
        Ok(request) => request,
        Err(invalid) => {
            incoming
                .refuse(state, ENDPOINT, invalid.message.clone())
                .await;
            return ApiError::bad_request(invalid.message, None).shaped(SHAPE);
        }
    };
    let input_tokens = anthropic::input_tokens(&request);
    let meta = MessageMeta::new(&request.model);
    let turn = TurnRequest {
        model: request.model,
        messages: request.messages,
        thinking: request.thinking,
        search: None,
        limits: Limits {
            max_tokens: request.max_tokens,
            stop: request.stop,
        },
        tools: request.tools,
        tool_choice: request.tool_choice,
        parallel_tool_calls: request.parallel_tool_calls,
        format: request.format,
        meta: incoming.meta(ENDPOINT, &meta.id, request.stream, request.params),
    };
    let answer = match exchange::start(state, turn).await {
        Ok(answer) => answer,
        Err(err) => return ApiError::from(&err).shaped(SHAPE),
    };
    if request.stream {
        let encoder = EventEncoder(MessageStream::new(meta, input_tokens));
        return exchange::stream(state, answer, encoder);
    }
    match exchange::collect(state, answer).await {
        Ok(done) => Json(anthropic::message(
            &meta,
            &done.reasoning,
            &done.content,
            &done.tool_calls,
            done.finish,
            done.stop_sequence.as_deref(),
            input_tokens,
            done.usage.completion_tokens,
        ))
        .into_response(),
        Err(err) => ApiError::from(&err).shaped(SHAPE),
    }
}

/// Anthropic's events: a piece may close one content block and open the next, so one piece
/// can be several events, written together.
struct EventEncoder(MessageStream);

impl Encoder for EventEncoder {
    fn open(&mut self) -> Vec<Bytes> {
        self.0.start()
    }

    fn piece(&mut self, piece: &Piece) -> Option<Bytes> {
        let events = match piece {
            Piece::Reasoning(text) => self.0.thinking(text),
            Piece::Content(text) => self.0.text(text),
            Piece::ToolCall(call) => self.0.tool_use(call),
            Piece::Done(_) => return None,
        };
        stream::concat(events)
    }

    fn close(&mut self, reason: FinishReason, answer: &Answer) -> Vec<Bytes> {
        self.0.finish(
            reason,
            answer.stop_sequence(),
            answer.usage().completion_tokens,
        )
    }

    fn error(&mut self, failure: Failure<'_>) -> Bytes {
        let error = ApiError::from(failure);
        MessageStream::error(anthropic::error_type(error.status.as_u16()), &error.message)
    }

    fn keepalive(&self) -> Bytes {
        MessageStream::ping()
    }
}
