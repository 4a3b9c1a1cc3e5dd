//! The `response` object, its output items and ids, and the input-item list of
//! `GET /v1/responses/{id}/input_items`, built as JSON values whose keys follow the OpenAI API
//! reference (and what OpenAI actually sends) exactly.
//!
//! The official SDKs parse these shapes (the Python and Node SDKs, the Agents SDK, the AI SDK
//! with zod schemas, Codex with serde), so every field OpenAI always sends is always sent:
//! `error: null`, `incomplete_details: null`, `usage: null` while in progress, empty
//! `annotations` and `logprobs` on every text part, the echoed request fields with OpenAI's
//! defaults. `output_text` is not a field of the object: the SDKs compute it.
//!
//! Item ids are derived, not drawn: an output item's id is its kind's prefix (`rs_`, `msg_`,
//! `fc_`) followed by the response id's random part and the item's output index in hex. So
//! the stream's events, the final object and any later re-rendering of a stored response
//! (from the same text, reasoning and calls) name the same items identically, with nothing
//! to remember. A call's `call_id` is the engine's call id (`call_` + 24 alphanumerics),
//! which is also what the client sends back in its `function_call_output`.

use serde_json::{Map, Value, json};

use crate::session::{Message, Role, ToolCall, Usage};

/// What every event of one response shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMeta {
    /// `resp_` + 48 random lowercase hex digits (OpenAI's are `resp_` + 50 hex).
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The model name as the client asked for it.
    pub model: String,
}

impl ResponseMeta {
    /// Meta with a fresh id, created now, echoing `model`.
    pub fn new(model: &str) -> Self {
        let mut id = String::with_capacity(53);
        id.push_str("resp_");
        for _ in 0..3 {
            id.push_str(&format!("{:016x}", fastrand::u64(..)));
        }
        ResponseMeta {
            id,
            created_at: crate::time::unix_now(),
            model: model.to_owned(),
        }
    }
}

/// A response's `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    InProgress,
    Completed,
    /// Cut short (by `max_output_tokens`): `incomplete_details` says why.
    Incomplete,
    Failed,
}

impl Status {
    /// The status as the API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete => "incomplete",
            Status::Failed => "failed",
        }
    }

    /// The `status` of a message item in a response of this status: a message of a response
    /// that did not complete was cut short.
    pub(super) fn of_message(self) -> &'static str {
        match self {
            Status::InProgress => "in_progress",
            Status::Completed => "completed",
            Status::Incomplete | Status::Failed => "incomplete",
        }
    }
}

/// The kinds of output item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemKind {
    Reasoning,
    Message,
    FunctionCall,
}

impl ItemKind {
    fn prefix(self) -> &'static str {
        match self {
            ItemKind::Reasoning => "rs",
            ItemKind::Message => "msg",
            ItemKind::FunctionCall => "fc",
        }
    }
}

/// The id of the output item of `kind` at `output_index` of the response `response_id`:
/// `msg_` + the id's part after `resp_` + the index as 4 hex digits (see the module docs).
pub fn item_id(kind: ItemKind, response_id: &str, output_index: usize) -> String {
    let body = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{}_{body}{output_index:04x}", kind.prefix())
}

/// What a response says: its reasoning, its text, its tool calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output<'a> {
    pub reasoning: &'a str,
    pub text: &'a str,
    pub calls: &'a [ToolCall],
}

/// The `output` items of a response of `status`, in the API's order: a `reasoning` item when
/// there is reasoning, a `message` item when there is text (or, for a completed or incomplete
/// response, when there is nothing else to say: an empty answer is still an answer), then a
/// `function_call` item per call. The stream opens the same items in the same order.
pub fn output_items(response_id: &str, output: &Output, status: Status) -> Vec<Value> {
    let mut items = Vec::with_capacity(output.calls.len() + 2);
    if !output.reasoning.is_empty() {
        let id = item_id(ItemKind::Reasoning, response_id, items.len());
        items.push(reasoning_item(&id, output.reasoning));
    }
    let answered = matches!(status, Status::Completed | Status::Incomplete);
    if !output.text.is_empty() || (output.calls.is_empty() && answered) {
        let id = item_id(ItemKind::Message, response_id, items.len());
        items.push(message_item(&id, output.text, status.of_message()));
    }
    for call in output.calls {
        let id = item_id(ItemKind::FunctionCall, response_id, items.len());
        items.push(function_call_item(&id, call, "completed"));
    }
    items
}

/// A whole `response` object whose `output` is [`output_items`]: its own fields (`usage`
/// `null` while in progress), then the echoed request fields. `incomplete` is the reason of an
/// incomplete response (`max_output_tokens` when `None`); `error` the `(code, message)` of a
/// failed one (`server_error` when `None`).
pub fn response_object(
    meta: &ResponseMeta,
    echo: &Value,
    status: Status,
    output: &Output,
    usage: &Usage,
    incomplete: Option<&str>,
    error: Option<(&str, &str)>,
) -> Value {
    let items = output_items(&meta.id, output, status);
    render(meta, echo, status, items, Some(usage), incomplete, error)
}

/// The `response` object: its own fields, then the echoed request fields. `usage` is `null`
/// while in progress or when `None`; `incomplete_details` is set only when incomplete, `error`
/// only when failed (a failure without an error reads as a `server_error`).
pub(super) fn render(
    meta: &ResponseMeta,
    echo: &Value,
    status: Status,
    output: Vec<Value>,
    usage: Option<&Usage>,
    incomplete: Option<&str>,
    error: Option<(&str, &str)>,
) -> Value {
    let mut obj = match echo {
        Value::Object(echo) => echo.clone(),
        _ => Map::new(),
    };
    let usage = match (status, usage) {
        (Status::InProgress, _) | (_, None) => Value::Null,
        (_, Some(usage)) => usage_object(usage),
    };
    let incomplete_details = match status {
        Status::Incomplete => json!({"reason": incomplete.unwrap_or("max_output_tokens")}),
        _ => Value::Null,
    };
    let error = match status {
        Status::Failed => {
            let (code, message) = error.unwrap_or(("server_error", "The response failed."));
            json!({"code": code, "message": message})
        }
        _ => Value::Null,
    };
    let own = [
        ("id", json!(meta.id)),
        ("object", json!("response")),
        ("created_at", json!(meta.created_at)),
        ("status", json!(status.as_str())),
        ("model", json!(meta.model)),
        ("output", Value::Array(output)),
        ("usage", usage),
        ("error", error),
        ("incomplete_details", incomplete_details),
    ];
    for (key, value) in own {
        obj.insert(key.to_owned(), value);
    }
    Value::Object(obj)
}

/// `usage`: input and output tokens with their details. There is no prompt cache to write,
/// so `cache_write_tokens` (which the newest SDKs declare) is 0.
pub fn usage_object(usage: &Usage) -> Value {
    json!({
        "input_tokens": usage.prompt_tokens,
        "input_tokens_details": {
            "cached_tokens": usage.cached_tokens,
            "cache_write_tokens": 0,
        },
        "output_tokens": usage.completion_tokens,
        "output_tokens_details": {"reasoning_tokens": usage.reasoning_tokens},
        "total_tokens": usage.total_tokens(),
    })
}

/// A `reasoning` item: the whole reasoning as its one summary part (the upstream gives no
/// separate summary, and the SDKs show the summary).
pub(super) fn reasoning_item(id: &str, reasoning: &str) -> Value {
    let summary = if reasoning.is_empty() {
        json!([])
    } else {
        json!([{"type": "summary_text", "text": reasoning}])
    };
    json!({"id": id, "type": "reasoning", "summary": summary})
}

/// An assistant `message` item with one `output_text` part (none while in progress).
pub(super) fn message_item(id: &str, text: &str, status: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([output_text(text)])
    };
    json!({
        "id": id,
        "type": "message",
        "status": status,
        "role": "assistant",
        "content": content,
    })
}

/// An `output_text` content part.
pub(super) fn output_text(text: &str) -> Value {
    json!({"type": "output_text", "text": text, "annotations": [], "logprobs": []})
}

/// A `function_call` item. Arguments are the engine's JSON text; an empty one reads as `{}`,
/// so that a client parsing it always gets an object.
pub(super) fn function_call_item(id: &str, call: &ToolCall, status: &str) -> Value {
    let arguments = if status == "in_progress" {
        ""
    } else {
        arguments(call)
    };
    json!({
        "id": id,
        "type": "function_call",
        "status": status,
        "call_id": call.id,
        "name": call.name,
        "arguments": arguments,
    })
}

/// A call's arguments as sent: `{}` when the engine has none.
pub(super) fn arguments(call: &ToolCall) -> &str {
    if call.arguments.trim().is_empty() {
        "{}"
    } else {
        &call.arguments
    }
}

/// The items of a request's input as `GET /v1/responses/{id}/input_items` lists them, oldest
/// first: a `message` item per message (`input_text` parts for user, system and developer
/// messages, `output_text` for the assistant's), a `function_call` item per call of an
/// assistant message (after its text, which is left out when empty), a
/// `function_call_output` item per tool result.
///
/// Give it [`ResponsesRequest::input`](super::ResponsesRequest::input): OpenAI does not list
/// `instructions` as an input item. Ids are derived from each item's place and content, so
/// listing the same input twice gives the same ids.
pub fn input_item_values(messages: &[Message]) -> Vec<Value> {
    let mut items = Vec::with_capacity(messages.len());
    let mut push = |prefix: &str, mut item: Value| {
        let hash = xxhash_rust::xxh3::xxh3_128(format!("{}:{item}", items.len()).as_bytes());
        item["id"] = json!(format!("{prefix}_{hash:032x}"));
        items.push(item);
    };
    for message in messages {
        match message.role {
            Role::Assistant => {
                if !message.content.is_empty() || message.tool_calls.is_empty() {
                    push(
                        "msg",
                        json!({
                            "type": "message",
                            "status": "completed",
                            "role": "assistant",
                            "content": [output_text(&message.content)],
                        }),
                    );
                }
                for call in &message.tool_calls {
                    push(
                        "fc",
                        json!({
                            "type": "function_call",
                            "status": "completed",
                            "call_id": call.id,
                            "name": call.name,
                            "arguments": arguments(call),
                        }),
                    );
                }
            }
            Role::Tool => push(
                "fco",
                json!({
                    "type": "function_call_output",
                    "status": "completed",
                    "call_id": message.tool_call_id.as_deref().unwrap_or_default(),
                    "output": message.content,
                }),
            ),
            Role::System | Role::Developer | Role::User => push(
                "msg",
                json!({
                    "type": "message",
                    "status": "completed",
                    "role": message.role.as_str(),
                    "content": [{"type": "input_text", "text": message.content}],
                }),
            ),
        }
    }
    items
}

/// A `list` object of items as the API pages them: `first_id` / `last_id` of `data` (`null`
/// when it is empty) and `has_more`. OpenAI's default order for input items is newest first
/// (`order=desc`); the caller orders and pages `data`.
pub fn item_list(data: Vec<Value>, has_more: bool) -> Value {
    let first_id = data.first().map_or(Value::Null, |item| item["id"].clone());
    let last_id = data.last().map_or(Value::Null, |item| item["id"].clone());
    json!({
        "object": "list",
        "data": data,
        "first_id": first_id,
        "last_id": last_id,
        "has_more": has_more,
    })
}

/// The whole input-item list of `messages`, oldest first (`order=asc`), in one page.
pub fn input_items(messages: &[Message]) -> Value {
    item_list(input_item_values(messages), false)
}

#[cfg(test)]
#[path = "response_tests.rs"]
pub(crate) mod tests;
