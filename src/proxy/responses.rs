//! The OpenAI Responses API (design.md §11): `POST /v1/responses` (stream and not),
//! `GET /v1/responses/{id}`, `DELETE /v1/responses/{id}` and
//! `GET /v1/responses/{id}/input_items`, on the same engine, store and tool emulation as chat
//! completions. The body becomes the engine's [`TurnRequest`]; `previous_response_id`
//! puts the stored conversation of that response in front of the new input, so the engine's
//! prefix matching continues exactly that upstream chat and only the new input goes
//! upstream. A stored response is the exchange the engine recorded, re-rendered on retrieval
//! (its item ids are derived from the response id, so they match what the stream sent); the
//! id prefix decides: `resp_` ids are this API's, any other id under `/v1/responses/{id}` is
//! the data API's record of §3.3.
//! Kept whole: creation and retrieval share the one rule of what a stored response is
//! ([`Stored`]), and splitting them would spread that rule over two files.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::exchange::{self, Incoming};
use super::middleware::{KeyId, RequestId, Scope};
use super::sse::{Encoder, Failure};
use super::{ApiError, AppState, ErrorShape, data};
use crate::responses::{
    self, Output, ResponseMeta, ResponseStream, ResponsesRequest, Status, stream,
};
use crate::session::{
    Answer, FinishReason, Limits, Message, Piece, Role, ToolCall, TurnRequest, Usage,
};
use crate::store::{RequestDetail, ResponseRow};

const ENDPOINT: &str = "responses";
const PREFIX: &str = "resp_";

/// `POST /v1/responses`.
pub(super) async fn create(
    State(state): State<Arc<AppState>>,
    request_id: Extension<RequestId>,
    key: Option<Extension<KeyId>>,
    req: Request,
) -> Response {
    exchange::handle(state, request_id, key, req, ErrorShape::OpenAi, answer).await
}

async fn answer(state: Arc<AppState>, incoming: Incoming) -> Response {
    let state = &state;
    let mut request = match responses::parse_responses_request(&incoming.body) {
        Ok(request) => request,
        Err(invalid) => {
            incoming
                .refuse(state, ENDPOINT, invalid.message.clone())
                .await;
            return ApiError::from(invalid).into_response();
        }
    };
    if let Some(previous) = request.previous_response_id.clone() {
        match stored(state, &previous, &incoming.scope).await {
            Ok(Some(found)) => continue_from(&mut request, found),
            Ok(None) => {
                let refusal = previous_not_found(&previous);
                incoming
                    .refuse(state, ENDPOINT, refusal.message.clone())
                    .await;
                return refusal.into_response();
            }
            Err(err) => return err.into_response(),
        }
    }
    if !request.unserved_tools.is_empty() {
        tracing::debug!(tools = ?request.unserved_tools, "tools the upstream cannot serve are not offered");
    }
    let meta = ResponseMeta::new(&request.model);
    let echo = request.echo;
    let mut params = request.params;
    if let (Some(obj), Some(instructions)) = (params.as_object_mut(), request.instructions) {
        obj.insert("instructions".into(), Value::String(instructions));
    }
    let turn = TurnRequest {
        model: request.model,
        messages: request.messages,
        thinking: request.thinking,
        search: request.search.then_some(true),
        limits: Limits {
            max_tokens: request.max_output_tokens,
            stop: Vec::new(),
        },
        tools: request.tools,
        tool_choice: request.tool_choice,
        parallel_tool_calls: request.parallel_tool_calls,
        format: request.format,
        meta: incoming.meta(ENDPOINT, &meta.id, request.stream, params),
    };
    let answer = match exchange::start(state, turn).await {
        Ok(answer) => answer,
        Err(err) => return ApiError::from(&err).into_response(),
    };
    if request.stream {
        return exchange::stream(state, answer, EventEncoder(ResponseStream::new(meta, echo)));
    }
    match exchange::collect(state, answer).await {
        Ok(done) => {
            let (status, incomplete) = ending(done.finish);
            let output = Output {
                reasoning: &done.reasoning,
                text: &done.content,
                calls: &done.tool_calls,
            };
            Json(responses::response_object(
                &meta,
                &echo,
                status,
                &output,
                &done.usage,
                incomplete,
                None,
            ))
            .into_response()
        }
        Err(err) => ApiError::from(&err).into_response(),
    }
}

/// The stored conversation of `previous`, then the new request's messages. OpenAI does not
/// carry `instructions` over to the next response, so clients repeat them every turn (the
/// Agents SDK does): the same instructions as the previous response's are already in its
/// upstream chat and are not sent again; different ones are. Tool results answering calls of
/// the previous response take their tool's name from there.
fn continue_from(request: &mut ResponsesRequest, previous: Stored) {
    let unchanged = request.instructions.is_some()
        && request.instructions.as_deref() == previous.request.params["instructions"].as_str();
    let mut history = previous.into_history();
    if unchanged
        && request
            .messages
            .first()
            .is_some_and(|m| m.role == Role::System)
    {
        request.messages.remove(0);
    }
    for message in &mut request.messages {
        if message.role == Role::Tool && message.name.is_none() {
            message.name = history
                .iter()
                .flat_map(|m| &m.tool_calls)
                .find(|c| Some(&c.id) == message.tool_call_id.as_ref())
                .map(|c| c.name.clone());
        }
    }
    history.append(&mut request.messages);
    request.messages = history;
}

/// `completed`, or `incomplete` (with OpenAI's reason) when `max_output_tokens` cut it.
fn ending(finish: FinishReason) -> (Status, Option<&'static str>) {
    match finish {
        FinishReason::Length => (Status::Incomplete, Some("max_output_tokens")),
        FinishReason::Stop | FinishReason::ToolCalls => (Status::Completed, None),
    }
}

fn previous_not_found(id: &str) -> ApiError {
    let mut e = ApiError::not_found(format!("Previous response with id '{id}' not found."));
    e.param = Some("previous_response_id".into());
    e.code = Some("previous_response_not_found");
    e
}

fn response_not_found(id: &str) -> ApiError {
    ApiError::not_found(format!("No response found with id '{id}'."))
}

/// Responses API events; a piece may close one output item and open the next, so one piece
/// can be several events, written together.
struct EventEncoder(ResponseStream);

impl Encoder for EventEncoder {
    fn open(&mut self) -> Vec<Bytes> {
        self.0.start()
    }

    fn piece(&mut self, piece: &Piece) -> Option<Bytes> {
        let events = match piece {
            Piece::Reasoning(text) => self.0.reasoning(text),
            Piece::Content(text) => self.0.text(text),
            Piece::ToolCall(call) => self.0.function_call(call),
            Piece::Done(_) => return None,
        };
        stream::concat(events)
    }

    fn close(&mut self, reason: FinishReason, answer: &Answer) -> Vec<Bytes> {
        let (status, incomplete) = ending(reason);
        self.0.finish(status, &answer.usage(), incomplete)
    }

    fn error(&mut self, failure: Failure<'_>) -> Bytes {
        let error = ApiError::from(failure);
        let code = if error.status == StatusCode::TOO_MANY_REQUESTS {
            "rate_limit_exceeded"
        } else {
            "server_error"
        };
        stream::concat(self.0.fail(code, &error.message)).unwrap_or_default()
    }

    fn keepalive(&self) -> Bytes {
        ResponseStream::keepalive()
    }
}

/// A response of this API as the store keeps it: the engine's record of the exchange.
struct Stored {
    row: ResponseRow,
    request: RequestDetail,
}

impl Stored {
    /// The conversation it ended: every message of its request, then its answer.
    fn into_history(self) -> Vec<Message> {
        let calls = self.calls();
        let mut history: Vec<Message> = self
            .request
            .messages
            .into_iter()
            .map(Message::from)
            .collect();
        history.push(Message {
            tool_calls: calls,
            ..Message::text(Role::Assistant, self.row.content)
        });
        history
    }

    fn calls(&self) -> Vec<ToolCall> {
        self.row
            .tool_calls
            .iter()
            .map(|c| ToolCall {
                id: c.id.clone(),
                name: c.name.clone(),
                arguments: c.arguments.clone(),
            })
            .collect()
    }

    /// The `response` object, rendered again from the record.
    fn object(&self) -> Value {
        let params = &self.request.params;
        let meta = ResponseMeta {
            id: self.row.id.clone(),
            created_at: self.request.summary.received_at / 1000,
            model: params["model"]
                .as_str()
                .unwrap_or(&self.row.model)
                .to_owned(),
        };
        let echo = echo_of(params);
        let usage = Usage {
            prompt_tokens: u64::try_from(self.row.prompt_tokens).unwrap_or(0),
            completion_tokens: u64::try_from(self.row.completion_tokens).unwrap_or(0),
            reasoning_tokens: u64::try_from(self.row.reasoning_tokens).unwrap_or(0),
            cached_tokens: 0,
        };
        let calls = self.calls();
        let output = Output {
            reasoning: &self.row.reasoning,
            text: &self.row.content,
            calls: &calls,
        };
        let (status, incomplete, error) = match self.row.status.as_str() {
            "ok" if self.row.finish_reason.as_deref() == Some("length") => {
                (Status::Incomplete, Some("max_output_tokens"), None)
            }
            "ok" => (Status::Completed, None, None),
            _ => (
                Status::Failed,
                None,
                Some((
                    "server_error",
                    self.row
                        .error_message
                        .as_deref()
                        .unwrap_or("the response did not complete"),
                )),
            ),
        };
        responses::response_object(&meta, &echo, status, &output, &usage, incomplete, error)
    }

    /// The input items of the request: its own input (not its instructions); after a
    /// `previous_response_id`, only what it added.
    fn input(&self) -> Vec<Message> {
        let params = &self.request.params;
        let messages = if params
            .get("previous_response_id")
            .is_some_and(|p| !p.is_null())
        {
            &self.request.new_messages
        } else {
            &self.request.messages
        };
        let mut input: Vec<Message> = messages.iter().map(Message::from).collect();
        let instructions = params.get("instructions").and_then(Value::as_str);
        if let (Some(first), Some(instructions)) = (input.first(), instructions)
            && first.role == Role::System
            && first.content == instructions
        {
            input.remove(0);
        }
        input
    }
}

/// The echoed request fields of a stored request: its body (without its input) parsed again,
/// so the echo has one owner, the parser.
fn echo_of(params: &Value) -> Value {
    let mut body = params.clone();
    if let Some(obj) = body.as_object_mut() {
        obj.insert("input".into(), Value::String(String::new()));
        obj.remove("previous_response_id");
    }
    let mut echo = serde_json::to_vec(&body)
        .ok()
        .and_then(|bytes| responses::parse_responses_request(&bytes).ok())
        .map(|r| r.echo)
        .unwrap_or_else(|| json!({}));
    if let (Some(obj), Some(previous)) = (echo.as_object_mut(), params.get("previous_response_id"))
    {
        obj.insert("previous_response_id".into(), previous.clone());
    }
    echo
}

/// The stored response `id` of this API, if it is retrievable: recorded by `POST
/// /v1/responses` with `store` not false, not withdrawn, and under a key the caller's
/// `scope` sees (a key never reads, continues or deletes another key's responses).
async fn stored(state: &AppState, id: &str, scope: &Scope) -> Result<Option<Stored>, ApiError> {
    if !id.starts_with(PREFIX) {
        return Ok(None);
    }
    let archive = state.engine.archive();
    let Some(row) = archive.get_response(id).await.map_err(internal)? else {
        return Ok(None);
    };
    if row.withdrawn_at.is_some() {
        return Ok(None);
    }
    let Some(request) = archive
        .get_request(&row.request_id)
        .await
        .map_err(internal)?
    else {
        return Ok(None);
    };
    let kept = request.summary.endpoint == ENDPOINT
        && request.params.get("store").and_then(Value::as_bool) != Some(false)
        && scope.sees(request.summary.api_key_id.as_deref());
    Ok(kept.then_some(Stored { row, request }))
}

fn internal(err: crate::store::Error) -> ApiError {
    tracing::error!("store read failed: {err}");
    ApiError::internal("the store could not be read")
}

/// `GET /v1/responses/{id}`: a stored response of this API, or, for any other id, the data
/// API's record (when it is enabled).
pub(super) async fn retrieve(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    Path(id): Path<String>,
) -> Response {
    if !id.starts_with(PREFIX) {
        if state.settings.enable_crud_api {
            return data::get_response(State(state.engine.archive().clone()), scope, Path(id))
                .await
                .into_response();
        }
        return response_not_found(&id).into_response();
    }
    match stored(&state, &id, &scope).await {
        Ok(Some(found)) => Json(found.object()).into_response(),
        Ok(None) => response_not_found(&id).into_response(),
        Err(err) => err.into_response(),
    }
}

/// `DELETE /v1/responses/{id}`: withdraws a stored response from this API; the exchange stays
/// in the archive.
pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    Path(id): Path<String>,
) -> Response {
    match stored(&state, &id, &scope).await {
        Ok(Some(_)) => match state.engine.withdraw_response(&id).await {
            Ok(_) => Json(json!({"id": id, "object": "response.deleted", "deleted": true}))
                .into_response(),
            Err(err) => internal(err).into_response(),
        },
        Ok(None) => response_not_found(&id).into_response(),
        Err(err) => err.into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct ItemsQuery {
    #[serde(default)]
    order: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /v1/responses/{id}/input_items`: newest first unless `order=asc`, `limit` 1–100
/// (default 20).
pub(super) async fn input_items(
    State(state): State<Arc<AppState>>,
    scope: Scope,
    Path(id): Path<String>,
    query: Result<Query<ItemsQuery>, QueryRejection>,
) -> Response {
    let query = match query {
        Ok(Query(query)) => query,
        Err(rejection) => {
            return ApiError::bad_request(
                format!("Invalid query parameters: {}", rejection.body_text()),
                None,
            )
            .into_response();
        }
    };
    let ascending = match query.order.as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(other) => {
            return ApiError::bad_request(
                format!("Invalid value: '{other}'. Supported values are: 'asc' and 'desc'."),
                Some("order"),
            )
            .into_response();
        }
    };
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return ApiError::bad_request(
            format!(
                "Invalid 'limit': expected a value between 1 and 100, but got {limit} instead."
            ),
            Some("limit"),
        )
        .into_response();
    }
    match stored(&state, &id, &scope).await {
        Ok(Some(found)) => {
            let mut items = responses::input_item_values(&found.input());
            if !ascending {
                items.reverse();
            }
            let has_more = items.len() > limit;
            items.truncate(limit);
            Json(responses::item_list(items, has_more)).into_response()
        }
        Ok(None) => response_not_found(&id).into_response(),
        Err(err) => err.into_response(),
    }
}
