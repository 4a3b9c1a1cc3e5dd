//! `POST /v1/completions`, OpenAI's legacy completions wire format: the prompt becomes one
//! user message of the engine's [`TurnRequest`], and the answer one `text_completion` object
//! or a stream of them. Reasoning has no place in this format and is left out.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;

use super::exchange::{self, Incoming};
use super::middleware::{KeyId, RequestId};
use super::sse::{self, Encoder, Failure};
use super::{ApiError, AppState, ErrorShape};
use crate::openai::{self, OpenAiUsage, ResponseMeta, TextStream};
use crate::session::{Answer, FinishReason, Limits, Message, Piece, Role, TurnRequest};

const ENDPOINT: &str = "completions";

/// `POST /v1/completions`.
pub(super) async fn completions(
    State(state): State<Arc<AppState>>,
    request_id: Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    exchange::handle(state, request_id, key, req, ErrorShape::OpenAi, answer).await
}

async fn answer(state: Arc<AppState>, incoming: Incoming) -> Response {
    let state = &state;
    let request = match openai::parse_completion_request(&incoming.body) {
        Ok(request) => request,
        Err(invalid) => {
            incoming
                .refuse(state, ENDPOINT, invalid.message.clone())
                .await;
            return ApiError::from(invalid).into_response();
        }
    };
    let meta = ResponseMeta::completion(&request.model);
    // `echo`: the prompt is prepended to the text.
    let echo = request.echo.then(|| request.prompt.clone());
    let turn = TurnRequest {
        model: request.model,
        messages: vec![Message::text(Role::User, request.prompt)],
        thinking: None,
        search: None,
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
        let encoder = TextEncoder {
            stream: TextStream::new(meta, request.include_usage),
            echo,
        };
        return exchange::stream(state, answer, encoder);
    }
    match exchange::collect(state, answer).await {
        Ok(done) => {
            let text = match echo {
                Some(prompt) => format!("{prompt}{}", done.content),
                None => done.content,
            };
            let usage = OpenAiUsage::from(done.usage);
            Json(openai::text_completion(&meta, &text, done.finish, &usage)).into_response()
        }
        Err(err) => ApiError::from(&err).into_response(),
    }
}

/// `text_completion` events: the echoed prompt first when asked for, text deltas, the
/// terminal chunk, the usage chunk when asked for, `[DONE]`.
struct TextEncoder {
    stream: TextStream,
    echo: Option<String>,
}

impl Encoder for TextEncoder {
    fn open(&mut self) -> Vec<Bytes> {
        self.echo
            .take()
            .map(|prompt| sse::data(&self.stream.text(&prompt)))
            .into_iter()
            .collect()
    }

    fn piece(&mut self, piece: &Piece) -> Option<Bytes> {
        match piece {
            Piece::Content(text) => Some(sse::data(&self.stream.text(text))),
            // Legacy completions offer no tools, so no call is ever made.
            Piece::Reasoning(_) | Piece::ToolCall(_) | Piece::Done(_) => None,
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
