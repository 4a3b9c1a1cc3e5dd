//! `POST /api/v2/chat/completions?chat_id=`: the fake's one interesting endpoint.
//!
//! Validation is as strict as the real service so client bugs surface in tests instead of
//! in production: the query and body `chat_id` must agree and name a live chat, the body
//! must carry exactly one user message with string content, and `parent_id` must be empty
//! or an answer of that chat. Faults are applied to otherwise valid requests, so a fault
//! test also proves the request itself was well formed. Only successful answers are
//! remembered as turns, which is what later `parent_id`s may point at.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::accounts::Caller;
use super::answer::{chunks, input_tokens, respond};
use super::auth::limit_refusal;
use super::faults::{self, FAULT_HEADER, Fault};
use super::stream::{
    Step, StreamCtx, full_answer, sse_response, streamed_response, wait_for_shutdown,
};
use super::wire::{error_envelope, ok_envelope};
use super::{Shared, Turn, new_id, now_secs};

#[derive(Deserialize)]
pub(crate) struct CompletionQuery {
    chat_id: Option<String>,
}

/// A request that passed validation.
struct Valid {
    chat_id: String,
    parent: Option<String>,
    content: String,
    model: String,
    /// User texts of the parent chain, oldest first.
    chain: Vec<String>,
    thinking: bool,
    search: bool,
    with_phase: bool,
    stream: bool,
}

pub(crate) async fn completions(
    State(shared): State<Arc<Shared>>,
    Extension(caller): Extension<Caller>,
    Query(query): Query<CompletionQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    shared.accounts.count_completion(caller);
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return bad_request("the request body is not valid JSON");
    };
    let fault_header = headers.get(FAULT_HEADER).and_then(|v| v.to_str().ok());
    let content = body.pointer("/messages/0/content").and_then(Value::as_str);
    let faults = match faults::plan(fault_header, content) {
        Ok(plan) => plan,
        Err(message) => return bad_request(&message),
    };
    let valid = match validate(&shared, caller, query.chat_id.as_deref(), &body) {
        Ok(valid) => valid,
        Err((code, details)) => return error_envelope(code, details),
    };
    // Like the faults, a rate limit answers a request that was otherwise valid.
    if let Some(refusal) = limit_refusal(&shared, caller) {
        return refusal;
    }

    let opts = shared.options();
    let ctx = StreamCtx {
        chat_id: valid.chat_id.clone(),
        user_message_id: new_id(),
        response_id: new_id(),
        with_phase: valid.with_phase,
        delay: faults.slow.unwrap_or(opts.chunk_delay),
        keepalive: faults.keepalive,
        input_tokens: input_tokens(&valid.content),
    };
    let answer = match respond(&valid.chain, &valid.content, valid.thinking) {
        Ok(answer) => answer,
        Err(message) => return bad_request(&message),
    };
    let chunks = chunks(&answer.text, opts.answer_chunks);

    match faults.fault {
        Some(Fault::Hang) => {
            // Headers are never sent; the request only ends when the fake stops (or the
            // client gives up and drops the connection, which drops this future).
            let mut shutdown = shared.shutdown_signal();
            wait_for_shutdown(&mut shutdown).await;
            return sse_response(vec![Step::Abort], shutdown);
        }
        Some(Fault::Flaky) if shared.first_flaky_sight(&valid.content) => {
            return faults::server_error();
        }
        Some(Fault::AuthEcho) => {
            let header = |name: &str| {
                headers
                    .get(name)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                    .unwrap_or_default()
            };
            return faults::auth_echo(&header("cookie"), &header("authorization"));
        }
        Some(Fault::EndlessJson) => {
            return streamed_response(
                faults::endless_json(),
                shared.shutdown_signal(),
                "application/json",
            );
        }
        Some(fault) => {
            if let Some(response) = faults::immediate(fault) {
                return response;
            }
            if let Some(plan) = faults::stream_plan(fault, &ctx, &chunks) {
                return sse_response(plan, shared.shutdown_signal());
            }
        }
        None => {}
    }

    remember_turn(&shared, &valid, &ctx, &answer.text);
    if !valid.stream {
        return legacy_json(&ctx, &answer.text);
    }
    let plan = full_answer(
        &ctx,
        &valid.content,
        &chunks,
        valid.thinking,
        valid.search,
        answer.thought.as_deref(),
    );
    sse_response(plan, shared.shutdown_signal())
}

/// `(code, details)` of a request the real service would refuse with `success: false`.
type Rejection = (&'static str, &'static str);

fn validate(
    shared: &Shared,
    caller: Caller,
    query_chat: Option<&str>,
    body: &Value,
) -> Result<Valid, Rejection> {
    let body_chat = body.get("chat_id").and_then(Value::as_str);
    let chat_id = match (query_chat, body_chat) {
        (Some(query), Some(body)) if query == body => query,
        _ => return Err(("Not_Found", "chat not found")),
    };
    let chats = shared.chats();
    let Some(chat) = chats.get_owned(chat_id, caller.0) else {
        return Err(("Not_Found", "chat not found"));
    };

    let messages = body.get("messages").and_then(Value::as_array);
    let message = match messages.map(|m| (m.len(), m.first())) {
        Some((1, Some(message))) => message,
        Some((0, _)) | None => return Err(("Bad_Request", "exactly one user message is required")),
        Some(_) => return Err(("Bad_Request", "only one message is accepted")),
    };
    if message.get("role").and_then(Value::as_str) != Some("user") {
        return Err(("Bad_Request", "the message role must be user"));
    }
    let Some(content) = message.get("content").and_then(Value::as_str) else {
        return Err(("Bad_Request", "the message content must be a string"));
    };

    let parent = match body.get("parent_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(id)) if id.is_empty() => None,
        Some(Value::String(id)) if chat.has_response(id) => Some(id.clone()),
        Some(_) => return Err(("Not_Found", "parent message not found")),
    };

    let feature = |key: &str| message.pointer(&format!("/feature_config/{key}")).cloned();
    Ok(Valid {
        chat_id: chat_id.to_owned(),
        chain: chat.chain_texts(parent.as_deref()),
        parent,
        content: content.to_owned(),
        model: body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        thinking: feature("thinking_enabled") == Some(Value::Bool(true)),
        search: message.get("chat_type").and_then(Value::as_str) == Some("search"),
        with_phase: feature("output_schema").as_ref().and_then(Value::as_str) == Some("phase"),
        stream: body.get("stream") == Some(&Value::Bool(true)),
    })
}

fn remember_turn(shared: &Shared, valid: &Valid, ctx: &StreamCtx, answer: &str) {
    let now = now_secs();
    let turn = Turn {
        user_message_id: ctx.user_message_id.clone(),
        user_text: valid.content.clone(),
        parent_response_id: valid.parent.clone(),
        response_id: ctx.response_id.clone(),
        answer: answer.to_owned(),
        model: valid.model.clone(),
        timestamp: now,
    };
    // The chat may have been deleted or forgotten since validation; then there is nothing
    // to extend, and the next turn's `parent_id` is rejected like any unknown one.
    shared.chats().update(&valid.chat_id, |chat| {
        if chat.turns.is_empty() {
            chat.title = valid.content.chars().take(40).collect();
        }
        chat.updated_at = now;
        chat.turns.push(turn);
    });
}

/// The legacy `stream: false` document (fixtures/nonstream-response.json).
fn legacy_json(ctx: &StreamCtx, answer: &str) -> Response {
    ok_envelope(json!({
        "chat_id": "",
        "parent_id": ctx.user_message_id,
        "message_id": ctx.response_id,
        "messages": null,
        "choices": [{"message": {"role": "assistant", "content": answer}}],
    }))
}

fn bad_request(details: &str) -> Response {
    error_envelope("Bad_Request", details)
}
