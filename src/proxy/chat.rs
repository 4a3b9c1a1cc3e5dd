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
use super::{ApiError, AppState, ErrorShape};
use crate::openai::{self, ChatStream, OpenAiUsage, ResponseMeta};
use crate::session::{Answer, FinishReason, Limits, Piece, TurnRequest};

const ENDPOINT: &str = "chat.completions";

/// `POST /v1/chat/completions`.
pub(super) async fn completions(
    State(state): State<Arc<AppState>>,
    request_id: Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    exchange::handle(state, request_id, key, req, ErrorShape::OpenAi, answer).await
}

async fn answer(state: Arc<AppState>, mut incoming: Incoming) -> Response {
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
    // Only a refusal records the body itself; a large one need not live through the answer.
    incoming.body = Bytes::new();
    let meta = ResponseMeta::chat(&request.model);
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
        Err(err) => return ApiError::from(&err).into_response(),
    };
    if request.stream {
        let encoder = ChunkEncoder {
            stream: ChatStream::new(meta, request.include_usage),
            calls: 0,
        };
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

/// `chat.completion.chunk` events: a role chunk first, reasoning and content deltas, one
/// delta per tool call (numbered from 0), the terminal chunk, the usage chunk when asked for,
/// `[DONE]`.
struct ChunkEncoder {
    stream: ChatStream,
    /// Tool calls sent so far: the next call's `index`.
    calls: usize,
}

impl Encoder for ChunkEncoder {
    fn open(&mut self) -> Vec<Bytes> {
        vec![sse::data(&self.stream.role())]
    }

    fn piece(&mut self, piece: &Piece) -> Option<Bytes> {
        match piece {
            Piece::Content(text) => Some(sse::data(&self.stream.content(text))),
            Piece::Reasoning(text) => Some(sse::data(&self.stream.reasoning(text))),
            Piece::ToolCall(call) => {
                let chunk = self.stream.tool_call(self.calls, call);
                self.calls += 1;
                Some(sse::data(&chunk))
            }
            Piece::Done(_) => None,
        }
    }

    fn close(&mut self, reason: FinishReason, answer: &Answer) -> Vec<Bytes> {
        let stream = &self.stream;
        let usage = stream
            .include_usage
            .then(|| stream.usage(&OpenAiUsage::from(answer.usage())));
        sse::openai_tail(&stream.finish(reason), usage)
    }

    fn error(&mut self, failure: Failure<'_>) -> Bytes {
        sse::data(&ApiError::from(failure).body())
    }

    fn keepalive(&self) -> Bytes {
        Bytes::from_static(sse::KEEP_ALIVE)
    }
}
