//! The body of `POST /v1/responses`, parsed and validated in one pass into a
//! [`ResponsesRequest`].
//!
//! As in [`crate::openai`], parsing goes through [`serde_json::Value`] by hand so that every
//! rejection names its parameter the way OpenAI does (`input[3].call_id`, `tools[1].name`,
//! `text.format.schema`), and so that unknown fields are ignored while known ones are checked
//! strictly. As there, the `input` array is read one item at a time while the body is
//! parsed, never held as one JSON tree. Nothing here panics on input: invalid UTF-8, wrong
//! types and nesting beyond serde_json's recursion limit all become an [`InvalidRequest`].
//!
//! Accepted and ignored (type-checked), because none changes what a correct answer is:
//! `include`, `metadata`, `truncation`, `user`, `prompt_cache_key`, `prompt_cache_retention`,
//! `client_metadata`, `service_tier`, `safety_identifier`, `temperature` (0 to 2), `top_p`
//! (0 to 1), `max_tool_calls`, `stream_options`, `context_management`, `top_logprobs: 0`,
//! `text.verbosity`, `reasoning.summary`. Refused, because the answer would silently differ
//! from the one asked for: `background: true` (there is no job queue), `conversation` (OpenAI's
//! server-side conversations; `previous_response_id` is the supported way), `prompt` (stored
//! prompt templates live at OpenAI), `top_logprobs` above 0.

use serde_json::{Map, Value, json};

use super::fields::{
    Object, missing, opt_bool, opt_int, opt_number_in, opt_object, opt_str, present, wrong_type,
};
use super::{input, tools};
use crate::openai::{InvalidRequest, body};
use crate::session::{Message, OutputFormat, Role, ToolChoice, ToolSpec};

/// A validated Responses request, in the engine's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ResponsesRequest {
    /// The model name as asked for (aliases are the proxy's business).
    pub model: String,
    /// `instructions` first as a [`Role::System`] message (when non-empty), then the input
    /// items in order (the mapping is in `src/responses/input.rs`).
    pub messages: Vec<Message>,
    /// `instructions` as given, `None` when absent or empty. When `Some`, it is
    /// `messages[0]`; [`ResponsesRequest::input`] is the rest.
    pub instructions: Option<String>,
    /// Starts with `resp_`. Whether it exists is the store's question, not the parser's.
    pub previous_response_id: Option<String>,
    /// Default true.
    pub store: bool,
    pub stream: bool,
    pub max_output_tokens: Option<u32>,
    /// From `reasoning.effort`: `low` / `medium` / `high` (and `xhigh`, `max`) → on, `none` /
    /// `minimal` → off, absent → `None` (the model name decides).
    pub thinking: Option<bool>,
    /// The `function` tools, which are emulated.
    pub tools: Vec<ToolSpec>,
    /// Every other declared tool, which is not offered to the model: its `name` when it has
    /// one (`custom`, `namespace`), else its `type` (`web_search`, `file_search`, …). For logs
    /// and docs; the response echoes the tools as given (in [`ResponsesRequest::echo`]).
    pub unserved_tools: Vec<String>,
    /// `auto` (default), `none`, `required`, or `{"type": "function", "name"}`. A forced web
    /// search reads as `auto` with [`ResponsesRequest::search`] set.
    pub tool_choice: ToolChoice,
    /// The upstream's search mode for this turn: `tool_choice` forced `web_search` (or
    /// `web_search_preview`).
    pub search: bool,
    /// Default true.
    pub parallel_tool_calls: bool,
    /// `text.format`.
    pub format: OutputFormat,
    /// The request fields a response object echoes, defaults filled in the way OpenAI fills
    /// them: `instructions`, `tools` (as given), `tool_choice`, `parallel_tool_calls`,
    /// `text`, `store`, `metadata`, `temperature`, `top_p`, `truncation`, `user`,
    /// `reasoning`, `max_output_tokens`, `max_tool_calls`, `previous_response_id`,
    /// `background`, `service_tier`, `prompt_cache_key`, `safety_identifier`, `top_logprobs`.
    pub echo: Value,
    /// The body without `input` and `instructions`, for the store.
    pub params: Value,
}

impl ResponsesRequest {
    /// The messages of `input`: [`ResponsesRequest::messages`] without the instructions.
    pub fn input(&self) -> &[Message] {
        let skip = usize::from(self.instructions.is_some()).min(self.messages.len());
        &self.messages[skip..]
    }
}

const UNPARSABLE: &str = "We could not parse the JSON body of your request. (HINT: This likely \
    means you aren't using your HTTP library correctly. The API expects a JSON payload, but what \
    was sent was not valid JSON.)";

/// Parses and validates a `POST /v1/responses` body.
pub fn parse_responses_request(body: &[u8]) -> Result<ResponsesRequest, InvalidRequest> {
    let mut history = input::History::default();
    let (obj, streamed) = match body::parse_object(body, "input", |i, v| history.item(i, v)) {
        Ok(parsed) => parsed,
        Err(Some(_)) => return Err(InvalidRequest::new(UNPARSABLE, None)),
        Err(None) => (parse_object(body)?, None),
    };
    validate(obj, |obj, continues| match streamed {
        Some(items) => history.finish(items.map(|read| read.len()), continues),
        None => input::parse_input(present(obj, "input"), continues),
    })
}

/// The same request read from the whole body as one JSON tree, the way it was before the
/// input was read as the body is parsed: what `parse_responses_request` must equal.
#[cfg(test)]
pub(super) fn parse_whole(body: &[u8]) -> Result<ResponsesRequest, InvalidRequest> {
    let obj = parse_object(body)?;
    validate(obj, |obj, continues| {
        input::parse_input(present(obj, "input"), continues)
    })
}

/// Every field of the body but `input`, which `read_input` gives once it is known whether
/// the request continues a response (so that errors come in the same order however the
/// input was read).
fn validate(
    mut obj: Object,
    read_input: impl FnOnce(&Object, bool) -> Result<Vec<Message>, InvalidRequest>,
) -> Result<ResponsesRequest, InvalidRequest> {
    let model = model(&obj)?;
    check_unsupported(&obj)?;
    let previous_response_id = previous_response_id(&obj)?;
    let instructions = opt_str(&obj, "instructions", "")?.map(str::to_owned);
    let mut messages = Vec::new();
    if let Some(text) = instructions.as_deref().filter(|t| !t.is_empty()) {
        messages.push(Message::text(Role::System, text));
    }
    messages.extend(read_input(&obj, previous_response_id.is_some())?);
    let store = opt_bool(&obj, "store", "")?.unwrap_or(true);
    let stream = opt_bool(&obj, "stream", "")?.unwrap_or(false);
    let max_output_tokens =
        opt_int(&obj, "max_output_tokens", 1)?.map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    let thinking = tools::parse_reasoning(&obj)?;
    let declared = tools::parse_tools(&obj)?;
    let (tool_choice, search) = tools::parse_tool_choice(&obj, &declared)?;
    let parallel_tool_calls = opt_bool(&obj, "parallel_tool_calls", "")?.unwrap_or(true);
    let format = tools::parse_text(&obj)?;
    check_ignored(&obj)?;
    let echo = echo(&obj, store, parallel_tool_calls);
    obj.remove("input");
    obj.remove("instructions");
    Ok(ResponsesRequest {
        model,
        messages,
        instructions: instructions.filter(|t| !t.is_empty()),
        previous_response_id,
        store,
        stream,
        max_output_tokens,
        thinking,
        tools: declared.functions,
        unserved_tools: declared.unserved,
        tool_choice,
        search,
        parallel_tool_calls,
        format,
        echo,
        params: Value::Object(obj),
    })
}

fn parse_object(body: &[u8]) -> Result<Object, InvalidRequest> {
    // serde_json rejects invalid UTF-8, trailing data and nesting deeper than 128 levels with an
    // error, never a panic or a stack overflow.
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(other) => Err(InvalidRequest::new(
            format!(
                "The request body must be a JSON object, but got {} instead.",
                super::fields::type_name(&other)
            ),
            None,
        )),
        Err(_) => Err(InvalidRequest::new(UNPARSABLE, None)),
    }
}

/// `model`: required, a non-empty string.
fn model(obj: &Object) -> Result<String, InvalidRequest> {
    match present(obj, "model") {
        None => Err(missing("model")),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) => Err(InvalidRequest::at(
            "model",
            "Invalid 'model': expected a non-empty string.",
        )),
        Some(other) => Err(wrong_type("model", "a string", other)),
    }
}

/// `previous_response_id`: a response id, which starts with `resp_`.
fn previous_response_id(obj: &Object) -> Result<Option<String>, InvalidRequest> {
    const PARAM: &str = "previous_response_id";
    match opt_str(obj, PARAM, "")? {
        None => Ok(None),
        Some(id) if id.starts_with("resp_") => Ok(Some(id.to_owned())),
        Some(id) => Err(InvalidRequest::at(
            PARAM,
            format!("Invalid '{PARAM}': '{id}'. Expected an ID that begins with 'resp_'."),
        )),
    }
}

/// What this proxy cannot honour and a client would rely on (see the module docs).
fn check_unsupported(obj: &Object) -> Result<(), InvalidRequest> {
    if opt_bool(obj, "background", "")? == Some(true) {
        return Err(InvalidRequest::at(
            "background",
            "background responses are not supported: this proxy answers while the request is \
             open. Send the request without 'background' (stream it for long answers).",
        ));
    }
    if present(obj, "conversation").is_some() {
        return Err(InvalidRequest::at(
            "conversation",
            "conversations are not supported: use 'previous_response_id' to continue a \
             response, or send the whole history in 'input'.",
        ));
    }
    if present(obj, "prompt").is_some() {
        return Err(InvalidRequest::at(
            "prompt",
            "prompt templates are not supported: they are stored at OpenAI. Send the prompt as \
             'instructions' and 'input'.",
        ));
    }
    if let Some(n) = opt_int(obj, "top_logprobs", 0)?
        && n > 0
    {
        return Err(InvalidRequest::at(
            "top_logprobs",
            "top_logprobs is not supported: the upstream does not expose token probabilities.",
        ));
    }
    Ok(())
}

/// The accepted-and-ignored fields of the module docs, still type-checked: a wrong type is a
/// client bug worth hearing about.
fn check_ignored(obj: &Object) -> Result<(), InvalidRequest> {
    opt_number_in(obj, "temperature", 0.0, 2.0)?;
    opt_number_in(obj, "top_p", 0.0, 1.0)?;
    opt_int(obj, "max_tool_calls", 0)?;
    for key in ["metadata", "client_metadata", "stream_options"] {
        opt_object(obj, key, "")?;
    }
    for key in [
        "user",
        "prompt_cache_key",
        "prompt_cache_retention",
        "service_tier",
        "safety_identifier",
    ] {
        opt_str(obj, key, "")?;
    }
    if let Some(truncation) = opt_str(obj, "truncation", "")?
        && !["auto", "disabled"].contains(&truncation)
    {
        return Err(super::fields::one_of(
            "truncation",
            truncation,
            &["auto", "disabled"],
        ));
    }
    for key in ["include", "context_management"] {
        match present(obj, key) {
            None => {}
            Some(Value::Array(items)) => {
                if key == "include"
                    && let Some(item) = items.iter().find(|item| !item.is_string())
                {
                    return Err(wrong_type(key, "an array of strings", item));
                }
            }
            Some(other) => return Err(wrong_type(key, "an array", other)),
        }
    }
    Ok(())
}

/// The fields a response object echoes (see [`ResponsesRequest::echo`]). The values were
/// validated before; defaults are OpenAI's.
fn echo(obj: &Object, store: bool, parallel_tool_calls: bool) -> Value {
    let given = |key: &str, default: Value| present(obj, key).cloned().unwrap_or(default);
    let mut text = match present(obj, "text") {
        Some(Value::Object(text)) => text.clone(),
        _ => Map::new(),
    };
    if !text.get("format").is_some_and(Value::is_object) {
        text.insert("format".to_owned(), json!({"type": "text"}));
    }
    if !text.get("verbosity").is_some_and(Value::is_string) {
        text.insert("verbosity".to_owned(), json!("medium"));
    }
    let mut reasoning = match present(obj, "reasoning") {
        Some(Value::Object(reasoning)) => reasoning.clone(),
        _ => Map::new(),
    };
    for key in ["effort", "summary"] {
        reasoning.entry(key).or_insert(Value::Null);
    }
    // Built from the values themselves: `json!` would copy each one (the tools are tens of
    // KB for an agent) into a new tree.
    let fields = [
        ("instructions", given("instructions", Value::Null)),
        ("tools", given("tools", json!([]))),
        ("tool_choice", given("tool_choice", json!("auto"))),
        ("parallel_tool_calls", Value::Bool(parallel_tool_calls)),
        ("text", Value::Object(text)),
        ("store", Value::Bool(store)),
        ("metadata", given("metadata", json!({}))),
        ("temperature", given("temperature", json!(1.0))),
        ("top_p", given("top_p", json!(1.0))),
        ("truncation", given("truncation", json!("disabled"))),
        ("user", given("user", Value::Null)),
        ("reasoning", Value::Object(reasoning)),
        ("max_output_tokens", given("max_output_tokens", Value::Null)),
        ("max_tool_calls", given("max_tool_calls", Value::Null)),
        (
            "previous_response_id",
            given("previous_response_id", Value::Null),
        ),
        ("background", Value::Bool(false)),
        ("service_tier", json!("default")),
        ("prompt_cache_key", given("prompt_cache_key", Value::Null)),
        ("safety_identifier", given("safety_identifier", Value::Null)),
        ("top_logprobs", given("top_logprobs", json!(0))),
    ];
    Value::Object(
        fields
            .into_iter()
            .map(|(key, value)| (key.to_owned(), value))
            .collect(),
    )
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
