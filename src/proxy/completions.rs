//! `POST /v1/chat/completions` and `POST /v1/completions`: validate, resolve the model,
//! start the turn through the conversation engine, then answer as one JSON object or as an
//! SSE stream. Both endpoints share everything but the output shape.

use std::sync::Arc;
use std::time::Instant;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::mpsc;

use super::middleware::{KeyId, RequestId};
use super::relay::{Shape, StreamContext, stream_sse};
use super::{ApiError, AppState, UpstreamHealth};
use crate::openai::limit::FinishReason;
use crate::openai::request::{Message, Role};
use crate::openai::response::{
    ChatStream, ResponseMeta, TextStream, chat_completion, text_completion,
};
use crate::openai::{self, InvalidRequest};
use crate::qwen::{ChatType, ErrorKind, Model, QwenError};
use crate::session::{Piece, Relay, RequestMeta, Status, TurnRequest};
use crate::store::{NewRequest, NewResponse};

/// The upstream model list (cached by the client), with the failure counted for /health.
pub async fn upstream_models(state: &AppState) -> Result<Arc<Vec<Model>>, ApiError> {
    let result = state.client.list_models().await;
    note_upstream(state, result.as_ref().err());
    result.map_err(|e| ApiError::from(&e))
}

/// Remembers how the last upstream call went and counts failures by kind.
fn note_upstream(state: &AppState, err: Option<&QwenError>) {
    let outcome = err.map_or("ok", |e| e.kind().as_str());
    metrics::counter!("qwen_api_calls_total", "outcome" => outcome).increment(1);
    match err {
        None => state.set_upstream_health(UpstreamHealth::Ok),
        Some(e) => {
            // Operators see upstream trouble in the log, not only in /metrics.
            tracing::warn!(kind = e.kind().as_str(), "upstream call failed: {e}");
            metrics::counter!("qwen_upstream_errors_total", "kind" => e.kind().as_str())
                .increment(1);
            if e.kind() == ErrorKind::Auth {
                state.set_upstream_health(UpstreamHealth::AuthFailed);
            } else if !matches!(e.kind(), ErrorKind::RateLimited | ErrorKind::NotFound) {
                state.set_upstream_health(UpstreamHealth::Failing);
            }
        }
    }
}

/// Everything both endpoints extracted from their body.
struct Prepared {
    client_model: String,
    messages: Vec<Message>,
    stream: bool,
    include_usage: bool,
    max_tokens: Option<u32>,
    stop: Vec<String>,
    thinking: Option<bool>,
    params: Value,
    /// Legacy `echo`: the prompt is prepended to the text.
    echo_prompt: Option<String>,
}

/// `POST /v1/chat/completions`.
pub async fn chat(
    State(state): State<Arc<AppState>>,
    Extension(request_id): Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    endpoint(
        state,
        request_id,
        key,
        req,
        "chat.completions",
        prepare_chat,
    )
    .await
}

/// `POST /v1/completions` (legacy): the prompt becomes one user message.
pub async fn legacy(
    State(state): State<Arc<AppState>>,
    Extension(request_id): Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    endpoint(state, request_id, key, req, "completions", prepare_legacy).await
}

fn prepare_chat(body: &[u8]) -> Result<Prepared, InvalidRequest> {
    openai::parse_chat_request(body).map(|r| Prepared {
        client_model: r.model,
        messages: r.messages,
        stream: r.stream,
        include_usage: r.include_usage,
        max_tokens: r.max_tokens,
        stop: r.stop,
        thinking: r.thinking,
        params: r.params,
        echo_prompt: None,
    })
}

fn prepare_legacy(body: &[u8]) -> Result<Prepared, InvalidRequest> {
    openai::parse_completion_request(body).map(|r| Prepared {
        client_model: r.model,
        messages: vec![Message {
            role: Role::User,
            content: r.prompt.clone(),
        }],
        stream: r.stream,
        include_usage: r.include_usage,
        max_tokens: r.max_tokens,
        stop: r.stop,
        thinking: None,
        params: r.params,
        echo_prompt: r.echo.then_some(r.prompt),
    })
}

async fn endpoint(
    state: Arc<AppState>,
    request_id: RequestId,
    key: Option<Extension<KeyId>>,
    req: Request,
    name: &'static str,
    prepare: fn(&[u8]) -> Result<Prepared, InvalidRequest>,
) -> Response {
    let received = Instant::now();
    let key = key.map(|Extension(k)| k.0);
    let body = match read_body(req, state.settings.max_body).await {
        Ok(body) => body,
        Err(e) => return e.into_response(),
    };
    let prepared = prepare(&body);
    let deadline = state.deadline.clone();
    // Past the shutdown grace period, a request still waiting for its answer gives up (a
    // stream has been handed to its own task by then and ends itself).
    tokio::select! {
        response = handle(state, request_id.0, key, name, &body, prepared, received) => response,
        () = deadline.cancelled() => ApiError::unavailable(
            "the server is shutting down and this request ran past the grace period",
        )
        .into_response(),
    }
}

/// Reads the body against the limit, so an oversized one is a 413 OpenAI error.
async fn read_body(req: Request, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(req.into_body(), limit)
        .await
        .map_err(|_| ApiError::payload_too_large(limit))
}

async fn handle(
    state: Arc<AppState>,
    request_id: String,
    key: Option<String>,
    endpoint: &'static str,
    body: &[u8],
    prepared: Result<Prepared, InvalidRequest>,
    received: Instant,
) -> Response {
    let received_at_ms = crate::unix_now_ms();
    let prepared = match prepared {
        Ok(p) => p,
        Err(invalid) => {
            let err = ApiError::bad_request(invalid.message.clone(), invalid.param.as_deref());
            record_rejected(
                &state,
                &request_id,
                key,
                endpoint,
                body,
                &err,
                received_at_ms,
            )
            .await;
            return err.into_response();
        }
    };

    // The model list is cached; if the upstream cannot list models right now, still try
    // the requested id as an upstream id rather than fail the chat.
    let models = state.client.list_models().await.ok();
    let resolved = match models.as_deref() {
        Some(models) => match openai::resolve_model(&prepared.client_model, models) {
            Some(r) => r,
            None => {
                let mut err = ApiError::not_found(format!(
                    "The model `{}` does not exist; see GET /v1/models",
                    prepared.client_model
                ));
                err.param = Some("model".into());
                err.code = Some("model_not_found");
                record_rejected(
                    &state,
                    &request_id,
                    key,
                    endpoint,
                    body,
                    &err,
                    received_at_ms,
                )
                .await;
                return err.into_response();
            }
        },
        None => openai::ResolvedModel {
            upstream: prepared.client_model.clone(),
            thinking: false,
            search: false,
        },
    };

    let turn_request = TurnRequest {
        model: resolved.upstream.clone(),
        messages: prepared.messages,
        thinking: prepared.thinking.unwrap_or(resolved.thinking),
        chat_type: if resolved.search {
            ChatType::Search
        } else {
            ChatType::Text
        },
        meta: RequestMeta {
            id: request_id,
            endpoint,
            stream: prepared.stream,
            api_key_id: key,
            params: prepared.params,
            received,
            received_at_ms,
        },
    };
    let turn = match state.engine.start(turn_request).await {
        Ok(turn) => turn,
        Err(err) => {
            note_upstream(&state, Some(&err));
            return ApiError::from(&err).into_response();
        }
    };
    note_upstream(&state, None);
    state.touch_session(&turn.session_id);
    let relay = Relay::new(turn, prepared.max_tokens, &prepared.stop, received);
    let chat_shape = endpoint == "chat.completions";

    if prepared.stream {
        let meta = if chat_shape {
            ResponseMeta::chat(&prepared.client_model)
        } else {
            ResponseMeta::completion(&prepared.client_model)
        };
        let shape = if chat_shape {
            Shape::Chat(ChatStream::new(meta, prepared.include_usage))
        } else {
            Shape::Text(TextStream::new(meta, prepared.include_usage))
        };
        return stream_response(state, relay, shape, prepared.echo_prompt);
    }
    collect_response(
        state,
        relay,
        chat_shape,
        &prepared.client_model,
        prepared.echo_prompt,
    )
    .await
}

fn stream_response(
    state: Arc<AppState>,
    relay: Relay,
    shape: Shape,
    echo_prompt: Option<String>,
) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(32);
    if let (Some(prompt), Shape::Text(s)) = (&echo_prompt, &shape) {
        let first = Bytes::from(format!("data: {}\n\n", s.text(prompt)));
        let _ = tx.try_send(first);
    }
    metrics::gauge!("inflight_streams").increment(1.0);
    let ended = state.clone();
    let ctx = StreamContext {
        engine: state.engine.clone(),
        keepalive: state.settings.keepalive,
        deadline: state.deadline.clone(),
        on_end: Box::new(move |_status, err| {
            metrics::gauge!("inflight_streams").decrement(1.0);
            if let Some(err) = err {
                note_upstream(&ended, Some(err));
            }
        }),
    };
    tokio::spawn(stream_sse(relay, shape, ctx, tx));
    let body = Body::from_stream(futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, std::convert::Infallible>(bytes), rx))
    }));
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

async fn collect_response(
    state: Arc<AppState>,
    relay: Relay,
    chat_shape: bool,
    client_model: &str,
    echo_prompt: Option<String>,
) -> Response {
    let meta = if chat_shape {
        ResponseMeta::chat(client_model)
    } else {
        ResponseMeta::completion(client_model)
    };
    let mut guard = CancelGuard {
        relay: Some(relay),
        state: state.clone(),
        id: meta.id.clone(),
    };
    let Some(relay) = guard.relay.as_mut() else {
        return ApiError::internal("the answer was lost").into_response();
    };
    let finish = loop {
        match relay.next().await {
            Ok(Some(Piece::Done(reason))) => break reason,
            Ok(Some(_)) => {}
            Ok(None) => break FinishReason::Stop,
            Err(err) => {
                note_upstream(&state, Some(&err));
                let status = if relay.content.is_empty() {
                    Status::Error
                } else {
                    Status::Partial
                };
                guard.finish(status, None, Some(&err)).await;
                return ApiError::from(&err).into_response();
            }
        }
    };
    let usage = relay.openai_usage();
    let body = if chat_shape {
        chat_completion(&meta, &relay.content, &relay.reasoning, finish, &usage)
    } else {
        let text = match &echo_prompt {
            Some(prompt) => format!("{prompt}{}", relay.content),
            None => relay.content.clone(),
        };
        text_completion(&meta, &text, finish, &usage)
    };
    guard.finish(Status::Ok, Some(finish), None).await;
    (StatusCode::OK, axum::Json(body)).into_response()
}

/// Records a non-streamed answer as cancelled when the client goes away mid-answer: hyper
/// then drops the handler future, and with it the upstream request, so the only place left
/// to notice is `Drop`.
struct CancelGuard {
    relay: Option<Relay>,
    state: Arc<AppState>,
    id: String,
}

impl CancelGuard {
    async fn finish(
        &mut self,
        status: Status,
        reason: Option<FinishReason>,
        err: Option<&QwenError>,
    ) {
        if let Some(relay) = self.relay.take() {
            relay
                .finish(&self.state.engine, &self.id, status, reason, err)
                .await;
        }
    }
}

impl Drop for CancelGuard {
    fn drop(&mut self) {
        if let Some(relay) = self.relay.take() {
            let engine = self.state.engine.clone();
            let id = std::mem::take(&mut self.id);
            tokio::spawn(async move {
                relay
                    .finish(&engine, &id, Status::Cancelled, None, None)
                    .await;
            });
        }
    }
}

/// Records a request we refused before it reached the upstream (400, unknown model).
async fn record_rejected(
    state: &AppState,
    request_id: &str,
    key: Option<String>,
    endpoint: &'static str,
    body: &[u8],
    err: &ApiError,
    received_at_ms: i64,
) {
    // The raw body may not be JSON; keep a bounded, valid-UTF-8 excerpt of it.
    let params = serde_json::from_slice::<Value>(body).unwrap_or_else(|_| {
        let text = String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned();
        Value::String(text)
    });
    let model = params
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let store = &state.store;
    let request = NewRequest {
        id: request_id.to_owned(),
        session_id: None,
        endpoint: endpoint.to_owned(),
        model,
        stream: params
            .get("stream")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        api_key_id: key,
        prior_request_id: None,
        message_count: 0,
        new_messages: Vec::new(),
        params: strip_messages(params),
        upstream_request: None,
        chat_id: None,
        parent_id: None,
        received_at: received_at_ms,
    };
    let response = NewResponse {
        id: format!("err-{request_id}"),
        request_id: request_id.to_owned(),
        status: Status::Error.as_str().to_owned(),
        error_kind: Some(if err.status == StatusCode::NOT_FOUND {
            "model_not_found".to_owned()
        } else {
            "invalid_request".to_owned()
        }),
        error_message: Some(err.message.clone()),
        created_at: crate::unix_now_ms(),
        ..NewResponse::default()
    };
    if let Err(e) = store.record_request(request).await {
        tracing::warn!("could not record a rejected request: {e}");
    }
    if let Err(e) = store.record_response(response).await {
        tracing::warn!("could not record a rejected request: {e}");
    }
}

fn strip_messages(mut params: Value) -> Value {
    if let Some(obj) = params.as_object_mut() {
        obj.remove("messages");
    }
    params
}
