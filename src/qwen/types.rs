//! Upstream wire types: the completion request body of PROTOCOL.md §4, the typed events a
//! completion stream yields, and the model list entries.

use serde::{Deserialize, Serialize};

/// What kind of upstream chat a turn is (`chat_type` in the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChatType {
    /// Plain text chat (`t2t`).
    #[default]
    #[serde(rename = "t2t")]
    Text,
    /// Web search (`search`).
    Search,
}

impl ChatType {
    /// The upstream spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChatType::Text => "t2t",
            ChatType::Search => "search",
        }
    }
}

/// One turn to send upstream: exactly one new user message in an existing chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    /// The upstream chat (from `POST /api/v2/chats/new`).
    pub chat_id: String,
    /// The previous answer's `response_id`, or `None` for the first turn of a chat.
    pub parent_id: Option<String>,
    /// Upstream model id, e.g. `qwen3-max`.
    pub model: String,
    /// The user text (already folded: system prompt and/or history when needed).
    pub content: String,
    /// Ask for reasoning output (`feature_config.thinking_enabled`).
    pub thinking: bool,
    /// `t2t` or `search`.
    pub chat_type: ChatType,
}

/// The first event of every completion stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Created {
    pub chat_id: String,
    /// Server id of the stored user message (not the request's parent).
    pub parent_id: Option<String>,
    /// Id of the assistant message being generated: the next turn's `parent_id`.
    pub response_id: String,
}

/// Token usage as the upstream reports it (cumulative over the stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub reasoning_tokens: u64,
    pub cached_tokens: u64,
}

/// One web search hit (`extra.web_search_info[]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SearchResult {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub snippet: String,
    #[serde(default)]
    pub hostname: String,
}

/// A typed event from a completion stream. Errors are not events: the stream yields them as
/// `Err(QwenError)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QwenEvent {
    /// `response.created`: ids of this turn.
    Created(Created),
    /// New answer text (a delta, never a repeat).
    Answer(String),
    /// New reasoning text (a delta: `think` deltas as they come, `thinking_summary` snapshots
    /// diffed against what was already yielded).
    Thinking(String),
    /// The (cumulative) list of search results so far.
    WebSearch(Vec<SearchResult>),
    /// Cumulative usage; the last one seen is the total.
    Usage(Usage),
    /// The answer phase finished: the turn is complete.
    Finished,
    /// `response.info` keep-alive: the upstream is still working.
    KeepAlive,
}

/// What a model can do, derived from its `info.meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Capabilities {
    pub thinking: bool,
    pub vision: bool,
    pub search: bool,
}

/// One entry of the upstream model list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// Upstream id, e.g. `qwen3-max`.
    pub id: String,
    /// Display name, e.g. `Qwen3-Max`.
    pub name: String,
    /// `info.meta.max_context_length`, when given.
    pub context_length: Option<u64>,
    pub capabilities: Capabilities,
    /// `info.created_at` (unix seconds), 0 when absent.
    pub created: i64,
}
