//! `POST /v1/chat/completions`, the OpenAI chat wire format: the body becomes the engine's
//! [`TurnRequest`], and the answer's pieces become one `chat.completion` object or a stream
//! of `chat.completion.chunk` events (design.md §3.1).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;

use super::exchange::{self, Incoming};
use super::middleware::{KeyId, RequestId};
use super::sse::{self, Encoder, Failure};
use super::{ApiError, AppState};
use crate::openai::{self, ChatStream, OpenAiUsage, ResponseMeta};
use crate::session::{FinishReason, Limits, Piece, TurnRequest, Usage};

const ENDPOINT: &str = "chat.completions";

/// `POST /v1/chat/completions`.
pub(super) async fn completions(
    State(state): State<Arc<AppState>>,
    request_id: Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    exchange::handle(state, request_id, key, req, answer).await
}

async fn answer(state: Arc<AppState>, incoming: Incoming) -> Response {
    let state = &state;
    let request = match openai::parse_chat_request(&incoming.body) {
        Ok(request) => request,
        Err(invalid) => {
            incoming
                .refuse(state, ENDPOINT, invalid.message.clone())
                .await;
            return ApiError::from(invalid).into_response();
        }
    };
    let meta = ResponseMeta::chat(&request.model);
    let turn = TurnRequest {
        model: request.model,
        messages: request.messages,
        thinking: request.thinking,
        limits: Limits {
            max_tokens: request.max_tokens,
            stop: request.stop,
        },
        tools: Vec::new(),
        tool_choice: Default::default(),
        parallel_tool_calls: true,
        format: Default::default(),
        meta: incoming.meta(ENDPOINT, &meta.id, request.stream, request.params),
    };
    let answer = match exchange::start(state, turn).await {
        Ok(answer) => answer,
        Err(err) => return ApiError::from(&err).into_response(),
    };
    if request.stream {
        let encoder = ChunkEncoder(ChatStream::new(meta, request.include_usage));
        return exchange::stream(state, answer, encoder);
    }
    match exchange::collect(state, answer).await {
        Ok(done) => Json(openai::chat_completion(
            &meta,
            &done.content,
            &done.reasoning,
            &done.tool_calls,
            done.finish,
            &OpenAiUsage::from(done.usage),
        ))
        .into_response(),
        Err(err) => ApiError::from(&err).into_response(),
    }
}

/// `chat.completion.chunk` events: a role chunk first, reasoning and content deltas, the
/// terminal chunk, the usage chunk when asked for, `[DONE]`.
struct ChunkEncoder(ChatStream);

impl Encoder for ChunkEncoder {
    fn open(&mut self) -> Vec<Bytes> {
        vec![sse::data(&self.0.role())]
    }

    fn piece(&mut self, piece: &Piece) -> Option<Bytes> {
        match piece {
            Piece::Content(text) => Some(sse::data(&self.0.content(text))),
            Piece::Reasoning(text) => Some(sse::data(&self.0.reasoning(text))),
            Piece::ToolCall(_) | Piece::Done(_) => None,
        }
    }

    fn close(&mut self, reason: FinishReason, usage: &Usage) -> Vec<Bytes> {
        let usage = (self.0.include_usage).then(|| self.0.usage(&OpenAiUsage::from(*usage)));
        sse::openai_tail(&self.0.finish(reason), usage)
    }

    fn error(&mut self, failure: Failure<'_>) -> Bytes {
        sse::data(&ApiError::from(failure).body())
    }

    fn keepalive(&self) -> Bytes {
        Bytes::from_static(sse::KEEP_ALIVE)
    }
}
