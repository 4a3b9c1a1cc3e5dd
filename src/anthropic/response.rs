//! The non-streamed answer (a `message` object), the error body, and the ids, stop reasons
//! and signatures the stream shares with it, following Anthropic's API reference.
//!
//! The Anthropic SDKs validate these shapes, so every field Anthropic always sends is always
//! sent (`stop_sequence: null`, the cache counters at 0). Ids are translated rather than
//! invented twice: a tool call the engine names `call_X` is `toolu_X` here, in the message and
//! in the stream alike; the client sends `toolu_X` back in its `tool_result`, which is all the
//! engine needs (call ids take no part in fingerprints, design.md §9).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::session::{FinishReason, ToolCall};

/// What every event of one answer shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageMeta {
    /// `msg_` + 24 random alphanumerics.
    pub id: String,
    /// The model name as the client asked for it.
    pub model: String,
}

impl MessageMeta {
    /// Meta with a fresh id, echoing `model`.
    pub fn new(model: &str) -> MessageMeta {
        let mut id = String::with_capacity(28);
        id.push_str("msg_");
        id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(24));
        MessageMeta {
            id,
            model: model.to_owned(),
        }
    }
}

/// The `tool_use` id of an engine call id: `toolu_` + what follows `call_` (the whole id when
/// it does not start with `call_`).
pub fn tool_use_id(call_id: &str) -> String {
    let rest = call_id.strip_prefix("call_").unwrap_or(call_id);
    format!("toolu_{rest}")
}

/// `stop_reason`: `end_turn`, or `stop_sequence` when `stop_sequence` (the one that matched)
/// is given; `max_tokens`; `tool_use`.
pub fn stop_reason(finish: FinishReason, stop_sequence: Option<&str>) -> &'static str {
    match (finish, stop_sequence) {
        (FinishReason::Stop, None) => "end_turn",
        (FinishReason::Stop, Some(_)) => "stop_sequence",
        (FinishReason::Length, _) => "max_tokens",
        (FinishReason::ToolCalls, _) => "tool_use",
    }
}

/// The `stop_sequence` field: the matched sequence, only when it is why the answer stopped.
pub(super) fn matched_stop(finish: FinishReason, stop_sequence: Option<&str>) -> Value {
    match (finish, stop_sequence) {
        (FinishReason::Stop, Some(s)) => json!(s),
        _ => Value::Null,
    }
}

/// A thinking block's `signature`: opaque and deterministic (base64 of a 128-bit hash of the
/// thinking). Clients send it back with the block; it is never checked, since the blocks
/// themselves are dropped from histories.
pub fn signature(thinking: &str) -> String {
    let hash = xxhash_rust::xxh3::xxh3_128(thinking.as_bytes());
    STANDARD.encode(hash.to_le_bytes())
}

/// A whole `message` object: a thinking block when there is reasoning, a text block when there
/// is text, then a `tool_use` block per call.
#[allow(clippy::too_many_arguments)]
pub fn message(
    meta: &MessageMeta,
    reasoning: &str,
    content: &str,
    calls: &[ToolCall],
    finish: FinishReason,
    stop_sequence: Option<&str>,
    input_tokens: u64,
    output_tokens: u64,
) -> Value {
    let mut blocks = Vec::with_capacity(calls.len() + 2);
    if !reasoning.is_empty() {
        blocks.push(json!({
            "type": "thinking",
            "thinking": reasoning,
            "signature": signature(reasoning),
        }));
    }
    if !content.is_empty() {
        blocks.push(json!({"type": "text", "text": content}));
    }
    blocks.extend(calls.iter().map(|call| {
        json!({
            "type": "tool_use",
            "id": tool_use_id(&call.id),
            "name": call.name,
            "input": tool_input(&call.arguments),
        })
    }));
    json!({
        "id": meta.id,
        "type": "message",
        "role": "assistant",
        "model": meta.model,
        "content": blocks,
        "stop_reason": stop_reason(finish, stop_sequence),
        "stop_sequence": matched_stop(finish, stop_sequence),
        "usage": usage(input_tokens, output_tokens),
    })
}

/// `usage`: qwenctl has no prompt cache of Anthropic's kind, so both cache counters are 0.
pub(super) fn usage(input_tokens: u64, output_tokens: u64) -> Value {
    json!({
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    })
}

/// A call's arguments as the `input` object. The engine only hands out calls whose arguments
/// are a JSON object; anything else reads as `{}` rather than breaking the message's shape.
pub(super) fn tool_input(arguments: &str) -> Value {
    match serde_json::from_str::<Value>(arguments) {
        Ok(input @ Value::Object(_)) => input,
        _ => json!({}),
    }
}

/// `{"type": "error", "error": {"type": kind, "message": message}}`.
pub fn error_body(kind: &str, message: &str) -> Value {
    json!({"type": "error", "error": {"type": kind, "message": message}})
}

/// The error `type` Anthropic uses with an HTTP status; other 4xx are
/// `invalid_request_error`, other statuses `api_error`.
pub fn error_type(status: u16) -> &'static str {
    match status {
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        503 | 529 => "overloaded_error",
        400..=499 => "invalid_request_error",
        _ => "api_error",
    }
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
