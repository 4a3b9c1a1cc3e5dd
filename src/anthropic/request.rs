//! Request bodies of `POST /v1/messages` and `POST /v1/messages/count_tokens`, parsed and
//! validated in one pass into a [`MessagesRequest`].
//!
//! As in [`crate::openai`], parsing goes through [`serde_json::Value`] by hand so that every
//! rejection names its field, here the way Anthropic does (`messages.2.content.0.type: …`),
//! and so that unknown fields are ignored while known ones are checked strictly. As there,
//! the `messages` array is read one message at a time while the body is parsed, never held
//! as one JSON tree. Nothing here panics on input: invalid UTF-8, wrong types and nesting
//! beyond serde_json's recursion limit all become an [`InvalidRequest`].
//!
//! Accepted and ignored, because none changes what a correct answer is: `metadata`,
//! `temperature` (0 to 1), `top_p` (0 to 1), `top_k`, `context_management`, `service_tier`,
//! `container`, `cache_control` anywhere, `output_config.effort`, `thinking.budget_tokens`.
//! Refused: a non-empty `mcp_servers` (Anthropic's servers would call those; nobody here can).

use serde_json::Value;

use super::fields::{
    Object, at, expected, missing, opt_bool, opt_int, opt_number_in, opt_object, present,
};
use super::{messages, tools};
use crate::openai::body;
use crate::session::{Message, OutputFormat, ToolChoice, ToolSpec, estimate_tokens, json_tokens};

/// Why a request body was refused: becomes a 400 `invalid_request_error` whose message names
/// the field (`max_tokens: Field required`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    pub message: String,
}

/// A validated Messages (or count-tokens) request, in the engine's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct MessagesRequest {
    /// The model name as asked for (aliases are the proxy's business).
    pub model: String,
    /// The instructions first (`system`), then the history; `role: "system"` entries stay
    /// where they were, as instructions.
    pub messages: Vec<Message>,
    /// Required for `/v1/messages`; optional for `count_tokens`.
    pub max_tokens: Option<u32>,
    /// `stop_sequences`, empty ones dropped.
    pub stop: Vec<String>,
    pub stream: bool,
    /// From `thinking`: `enabled` → on, `disabled` → off, `adaptive` → off with tools, else
    /// `None` (the model name decides), as is an absent `thinking`.
    pub thinking: Option<bool>,
    pub tools: Vec<ToolSpec>,
    /// `auto` (default), `any` → [`ToolChoice::Required`], `tool` → [`ToolChoice::Named`],
    /// `none`.
    pub tool_choice: ToolChoice,
    /// `!tool_choice.disable_parallel_tool_use`, default true.
    pub parallel_tool_calls: bool,
    /// `output_config.format`: a JSON schema named `output`.
    pub format: OutputFormat,
    /// The body without `messages` and `system`, for the store.
    pub params: Value,
}

const UNPARSABLE: &str = "There was an error parsing the body of your request: it is not valid \
    JSON. The API expects a JSON object.";

/// Parses and validates a `POST /v1/messages` body.
pub fn parse_messages_request(body: &[u8]) -> Result<MessagesRequest, InvalidRequest> {
    parse(body, true)
}

/// Parses and validates a `POST /v1/messages/count_tokens` body: the same fields, with
/// `max_tokens` optional.
pub fn parse_count_tokens_request(body: &[u8]) -> Result<MessagesRequest, InvalidRequest> {
    parse(body, false)
}

/// The estimated input tokens of a request: its instructions and messages (text, tool calls'
/// names and arguments, tool results) and its tools (name, description, schema), each counted
/// with [`estimate_tokens`], at least 1. `count_tokens` answers this number and
/// `message_start` reports it, so the two agree.
pub fn input_tokens(req: &MessagesRequest) -> u64 {
    let count = |text: &str| u64::from(estimate_tokens(text));
    let messages: u64 = req
        .messages
        .iter()
        .map(|m| {
            count(&m.content)
                + m.tool_calls
                    .iter()
                    .map(|c| count(&c.name) + count(&c.arguments))
                    .sum::<u64>()
        })
        .sum();
    let tools: u64 = req
        .tools
        .iter()
        .map(|t| {
            count(&t.name)
                + count(t.description.as_deref().unwrap_or_default())
                + json_tokens(&t.parameters)
        })
        .sum();
    let format = match &req.format {
        OutputFormat::JsonSchema { schema, .. } => json_tokens(schema),
        OutputFormat::Text | OutputFormat::JsonObject => 0,
    };
    (messages + tools + format).max(1)
}

fn parse(body: &[u8], needs_max_tokens: bool) -> Result<MessagesRequest, InvalidRequest> {
    let mut reader = messages::Reader::default();
    let (obj, streamed) = match body::parse_object(body, "messages", |i, v| reader.item(i, v)) {
        Ok(parsed) => parsed,
        Err(Some(_)) => {
            return Err(InvalidRequest {
                message: UNPARSABLE.to_owned(),
            });
        }
        Err(None) => (parse_object(body)?, None),
    };
    validate(obj, needs_max_tokens, |obj| match streamed {
        Some(items) => reader.finish(items?.len()),
        None => messages::parse_messages(present(obj, "messages")),
    })
}

/// The same request read from the whole body as one JSON tree, the way it was before the
/// messages were read as the body is parsed: what `parse` must equal.
#[cfg(test)]
pub(super) fn parse_whole(
    body: &[u8],
    needs_max_tokens: bool,
) -> Result<MessagesRequest, InvalidRequest> {
    let obj = parse_object(body)?;
    validate(obj, needs_max_tokens, |obj| {
        messages::parse_messages(present(obj, "messages"))
    })
}

/// Every field of the body but `messages`, which `read_messages` gives (after `system`, so
/// that errors come in the same order however the messages were read).
fn validate(
    mut obj: Object,
    needs_max_tokens: bool,
    read_messages: impl FnOnce(&Object) -> Result<Vec<Message>, InvalidRequest>,
) -> Result<MessagesRequest, InvalidRequest> {
    let model = model(&obj)?;
    let max_tokens =
        opt_int(&obj, "max_tokens", "", 1)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    if needs_max_tokens && max_tokens.is_none() {
        return Err(missing("max_tokens"));
    }
    let mut messages = Vec::new();
    if let Some(system) = messages::parse_system(present(&obj, "system"))? {
        messages.push(Message::text(crate::session::Role::System, system));
    }
    messages.extend(read_messages(&obj)?);
    let stop = stop_sequences(&obj)?;
    let stream = opt_bool(&obj, "stream", "")?.unwrap_or(false);
    check_ignored(&obj)?;
    let tools = tools::parse_tools(&obj)?;
    let (tool_choice, parallel_tool_calls) = tools::parse_tool_choice(&obj, &tools)?;
    let thinking = tools::parse_thinking(&obj, !tools.is_empty())?;
    let format = tools::parse_format(&obj)?;
    obj.remove("messages");
    obj.remove("system");
    Ok(MessagesRequest {
        model,
        messages,
        max_tokens,
        stop,
        stream,
        thinking,
        tools,
        tool_choice,
        parallel_tool_calls,
        format,
        params: Value::Object(obj),
    })
}

fn parse_object(body: &[u8]) -> Result<Object, InvalidRequest> {
    // serde_json rejects invalid UTF-8, trailing data and nesting deeper than 128 levels with an
    // error, never a panic or a stack overflow.
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(InvalidRequest {
            message: "The request body must be a JSON object.".to_owned(),
        }),
        Err(_) => Err(InvalidRequest {
            message: UNPARSABLE.to_owned(),
        }),
    }
}

/// `model`: required, a non-empty string.
fn model(obj: &Object) -> Result<String, InvalidRequest> {
    match present(obj, "model") {
        None => Err(missing("model")),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(at("model", "String should have at least 1 character")),
        Some(_) => Err(expected("model", "a valid string")),
    }
}

/// `stop_sequences`: an array of strings; empty ones dropped, since an empty stop sequence
/// would end every answer before its first character.
fn stop_sequences(obj: &Object) -> Result<Vec<String>, InvalidRequest> {
    let items = match present(obj, "stop_sequences") {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(expected("stop_sequences", "a valid list")),
    };
    let mut stop = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::String(s) if s.is_empty() => {}
            Value::String(s) => stop.push(s.clone()),
            _ => return Err(expected(&format!("stop_sequences.{i}"), "a valid string")),
        }
    }
    Ok(stop)
}

/// The fields that are accepted and ignored (see the module docs), still type-checked: a wrong
/// type is a client bug worth hearing about. And `mcp_servers`, refused when non-empty.
fn check_ignored(obj: &Object) -> Result<(), InvalidRequest> {
    opt_number_in(obj, "temperature", 0.0, 1.0)?;
    opt_number_in(obj, "top_p", 0.0, 1.0)?;
    opt_int(obj, "top_k", "", 0)?;
    opt_object(obj, "metadata", "")?;
    opt_object(obj, "context_management", "")?;
    if present(obj, "service_tier").is_some_and(|v| !v.is_string()) {
        return Err(expected("service_tier", "a valid string"));
    }
    match present(obj, "mcp_servers") {
        None => Ok(()),
        Some(Value::Array(servers)) if servers.is_empty() => Ok(()),
        Some(Value::Array(_)) => Err(at(
            "mcp_servers",
            "MCP servers are not supported: Anthropic's servers would connect to them, and this \
             proxy cannot. Declare the MCP tools as custom tools instead (as Claude Code does).",
        )),
        Some(_) => Err(expected("mcp_servers", "a valid list")),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
