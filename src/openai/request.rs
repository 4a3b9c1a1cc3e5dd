//! Request bodies of `POST /v1/chat/completions` and `POST /v1/completions`, parsed and
//! validated in one pass.
//!
//! Parsing goes through [`serde_json::Value`] by hand rather than `#[derive(Deserialize)]`
//! because every rejection must name its parameter (`messages[2].role`, `stop`, …) the way the
//! OpenAI API does, and because unknown fields must be ignored while known ones are checked
//! strictly. Nothing here panics on input: invalid UTF-8, wrong types and nesting beyond
//! serde_json's recursion limit (128) all become an [`InvalidRequest`].

use serde_json::Value;

use super::params::{self, Object, missing, present, type_name, wrong_type};
use super::{body, messages, tools};
pub use crate::session::Message;
use crate::session::{OutputFormat, ToolChoice, ToolSpec};

/// Why a request body was refused: becomes a 400 `invalid_request_error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct InvalidRequest {
    /// Human-readable reason, worded like OpenAI's own.
    pub message: String,
    /// The offending parameter (`model`, `messages[0].content`, …), when there is one.
    pub param: Option<String>,
}

impl InvalidRequest {
    /// A rejection with an optional parameter name.
    pub fn new(message: impl Into<String>, param: Option<&str>) -> Self {
        InvalidRequest {
            message: message.into(),
            param: param.map(str::to_owned),
        }
    }

    /// A rejection of one parameter.
    pub(crate) fn at(param: impl Into<String>, message: impl Into<String>) -> Self {
        InvalidRequest {
            message: message.into(),
            param: Some(param.into()),
        }
    }
}

/// A validated `POST /v1/chat/completions` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ChatRequest {
    pub model: String,
    pub messages: Vec<Message>,
    pub stream: bool,
    /// `stream_options.include_usage`; only meaningful when `stream` is set.
    pub include_usage: bool,
    /// `max_completion_tokens`, else `max_tokens`.
    pub max_tokens: Option<u32>,
    /// Stop sequences, empty ones dropped.
    pub stop: Vec<String>,
    /// `enable_thinking`, else derived from `reasoning_effort`; `None` when neither is given.
    pub thinking: Option<bool>,
    pub user: Option<String>,
    /// `tools`, else the deprecated `functions`; empty when neither is given.
    pub tools: Vec<ToolSpec>,
    /// `tool_choice`, else the deprecated `function_call`; checked against `tools`.
    pub tool_choice: ToolChoice,
    /// `parallel_tool_calls`, default true.
    pub parallel_tool_calls: bool,
    /// `response_format`.
    pub format: OutputFormat,
    /// The whole body without `messages`, for the store.
    pub params: Value,
}

/// A validated legacy `POST /v1/completions` body.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletionRequest {
    pub model: String,
    /// The one prompt (a string, or an array holding exactly one string).
    pub prompt: String,
    pub stream: bool,
    /// `stream_options.include_usage`; only meaningful when `stream` is set.
    pub include_usage: bool,
    /// No default: unlike OpenAI's 16, an absent `max_tokens` means no limit.
    pub max_tokens: Option<u32>,
    pub stop: Vec<String>,
    /// Prepend the prompt to the returned text.
    pub echo: bool,
    /// The whole body without `prompt`, for the store.
    pub params: Value,
}

const UNPARSABLE: &str = "We could not parse the JSON body of your request. (HINT: This likely \
    means you aren't using your HTTP library correctly. The API expects a JSON payload, but what \
    was sent was not valid JSON.)";

/// Parses and validates a chat completion request body. The messages are made one by one
/// as the body is parsed, never all held as JSON values at once (see `body.rs`).
pub fn parse_chat_request(body: &[u8]) -> Result<ChatRequest, InvalidRequest> {
    let mut parser = messages::Parser::default();
    let (obj, parsed) = match body::parse_object(body, "messages", |i, v| parser.message(i, v)) {
        Ok(parsed) => parsed,
        Err(Some(_)) => return Err(InvalidRequest::new(UNPARSABLE, None)),
        Err(None) => (parse_object(body)?, None),
    };
    chat_request(obj, parsed)
}

/// The same request read from the whole body as one JSON tree, each message from its
/// `Value`: what `parse_chat_request` must equal.
#[cfg(test)]
pub(super) fn parse_whole(body: &[u8]) -> Result<ChatRequest, InvalidRequest> {
    chat_request(parse_object(body)?, None)
}

/// The request of a body's fields, the messages as the body parser made them (`parsed`),
/// or read from `obj` when it did not.
fn chat_request(
    mut obj: Object,
    parsed: Option<Result<Vec<Message>, InvalidRequest>>,
) -> Result<ChatRequest, InvalidRequest> {
    let model = params::model(&obj)?;
    let messages = match parsed {
        Some(made) => messages::nonempty(made?)?,
        None => messages::parse_messages(obj.get("messages"))?,
    };
    let (stream, include_usage) = params::stream(&obj)?;
    params::check_n(&obj)?;
    let max_tokens = params::max_tokens(&obj)?;
    let stop = params::stop(&obj)?;
    params::check_sampling(&obj)?;
    params::check_ignored(&obj)?;
    params::check_unsupported(&obj)?;
    let thinking = params::thinking(&obj)?;
    let user = params::opt_string(&obj, "user")?;
    let tools = tools::tool_params(&obj)?;
    let format = tools::response_format(&obj)?;
    obj.remove("messages");
    Ok(ChatRequest {
        model,
        messages,
        stream,
        include_usage,
        max_tokens,
        stop,
        thinking,
        user,
        tools: tools.tools,
        tool_choice: tools.tool_choice,
        parallel_tool_calls: tools.parallel_tool_calls,
        format,
        params: Value::Object(obj),
    })
}

/// Parses and validates a legacy completion request body.
pub fn parse_completion_request(body: &[u8]) -> Result<CompletionRequest, InvalidRequest> {
    let mut obj = parse_object(body)?;
    let model = params::model(&obj)?;
    let prompt = parse_prompt(present(&obj, "prompt"))?;
    let (stream, include_usage) = params::stream(&obj)?;
    params::check_n(&obj)?;
    let max_tokens = params::max_tokens(&obj)?;
    let stop = params::stop(&obj)?;
    params::check_sampling(&obj)?;
    params::check_legacy_unsupported(&obj)?;
    let echo = params::opt_bool(&obj, "echo")?.unwrap_or(false);
    obj.remove("prompt");
    Ok(CompletionRequest {
        model,
        prompt,
        stream,
        include_usage,
        max_tokens,
        stop,
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
                type_name(&other)
            ),
            None,
        )),
        Err(_) => Err(InvalidRequest::new(UNPARSABLE, None)),
    }
}

fn parse_prompt(value: Option<&Value>) -> Result<String, InvalidRequest> {
    const ONE_PROMPT: &str = "Invalid 'prompt': only a single string prompt is supported (not token arrays or several prompts).";
    match value {
        None => Err(missing("prompt")),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Array(items)) => match items.as_slice() {
            [Value::String(s)] => Ok(s.clone()),
            _ => Err(InvalidRequest::at("prompt", ONE_PROMPT)),
        },
        Some(other) => Err(wrong_type(
            "prompt",
            "a string or an array of strings",
            other,
        )),
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
