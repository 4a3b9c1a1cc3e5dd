//! The engine's neutral turn request: what every wire format (OpenAI chat and legacy
//! completions today; Anthropic Messages and OpenAI Responses next) turns its own request
//! into. It carries the whole conversation plus every control that changes the meaning of
//! an answer (thinking, search, limits, tools, an output format), so a new wire format is a
//! new encoder module and nothing here changes.

use std::time::Instant;

use serde_json::Value;

use super::Message;

/// One turn to run.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    /// The model name as the client asked for it; the engine resolves it (virtual
    /// `-thinking`/`-search` variants included).
    pub model: String,
    /// The client's whole history, ending with the new message(s).
    pub messages: Vec<Message>,
    /// Thinking asked for explicitly; `None` follows the model name.
    pub thinking: Option<bool>,
    /// The upstream's web search asked for explicitly (a Responses request forcing its
    /// `web_search` tool); `None` follows the model name (`-search` variants).
    pub search: Option<bool>,
    /// `max_tokens` and stop sequences, applied to the answer text.
    pub limits: Limits,
    /// Tool definitions offered to the model (design.md §9).
    pub tools: Vec<ToolSpec>,
    pub tool_choice: ToolChoice,
    /// Several calls in one answer allowed (OpenAI's `parallel_tool_calls`, default true).
    pub parallel_tool_calls: bool,
    /// A constraint on the answer's shape (structured outputs, design.md §9).
    pub format: OutputFormat,
    pub meta: RequestMeta,
}

/// Limits on the answer text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Limits {
    /// Estimated tokens of answer text; `None` is unlimited.
    pub max_tokens: Option<u32>,
    /// The answer ends before the first of these.
    pub stop: Vec<String>,
}

/// A tool the model may call: a name, what it does, and a JSON Schema of its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub description: Option<String>,
    pub parameters: Value,
}

/// Whether and which tool the model must call.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ToolChoice {
    /// The model decides.
    #[default]
    Auto,
    /// No tool calls.
    None,
    /// At least one tool call.
    Required,
    /// This tool.
    Named(String),
}

/// What shape the answer text must have.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum OutputFormat {
    /// Free text.
    #[default]
    Text,
    /// One JSON object.
    JsonObject,
    /// One JSON value valid against `schema`.
    JsonSchema { name: String, schema: Value },
}

/// What the front-end knows about a request, for the store.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// Our request id, always generated (the store's key).
    pub id: String,
    /// The `x-request-id` the client sent, kept as given (clients may repeat one).
    pub client_request_id: Option<String>,
    /// The id the client sees for the answer (`chatcmpl-…`, `cmpl-…`).
    pub response_id: String,
    /// `chat.completions`, `completions` or `chat`.
    pub endpoint: &'static str,
    pub stream: bool,
    /// Name or index of the API key used, never the key.
    pub api_key_id: Option<String>,
    /// The wire body without its messages, serialized once for the store (the engine's turn
    /// and the request row share it).
    pub params: crate::store::Params,
    /// When the request arrived.
    pub received: Instant,
    /// The same, as unix ms.
    pub received_at_ms: i64,
}

/// Why the engine refused a turn before reaching the upstream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The model name matches nothing the upstream offers.
    #[error("The model `{0}` does not exist")]
    UnknownModel(String),
}
