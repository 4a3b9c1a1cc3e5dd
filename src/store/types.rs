//! What callers hand to the store: the rows of a conversation as the proxy and the chat
//! engine know them when they happen.
//!
//! These are plain data with no behaviour, so the session engine and the proxy can build
//! them without knowing any SQL. The shapes returned by reads live in `views`.

/// A 128-bit fingerprint of a message list (see `session::fingerprint`).
pub type Fingerprint = [u8; 16];

/// A session row: one upstream chat.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NewSession {
    pub id: String,
    pub chat_id: String,
    pub model: String,
    /// First user message, shortened.
    pub title: String,
    /// `serve` or `chat`.
    pub source: String,
    /// The name of the API key of its first request (its owner); `None` when keyless.
    pub api_key_id: Option<String>,
    /// The upstream account that opened its chat (its name, nothing secret).
    pub account: Option<String>,
    /// Unix ms.
    pub created_at: i64,
}

/// One message of a request, stored once: a row is reused only when every field is equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StoredMessage {
    pub role: String,
    /// The text; `""` for an assistant message that only carried tool calls.
    pub content: String,
    /// The calls an assistant message made, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<StoredToolCall>,
    /// The call a `tool` message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The tool a `tool` message answers for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl StoredMessage {
    /// A message of plain text.
    pub fn text(role: impl Into<String>, content: impl Into<String>) -> StoredMessage {
        StoredMessage {
            role: role.into(),
            content: content.into(),
            ..StoredMessage::default()
        }
    }
}

/// One tool call as the store keeps it (the store's own copy of `session::ToolCall`, so the
/// store depends on nothing above it). Serialised as `{"id", "name", "arguments"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct StoredToolCall {
    pub id: String,
    pub name: String,
    /// The arguments as the JSON text the client received or sent.
    pub arguments: String,
}

/// What is known of a request when it arrives.
#[derive(Debug, Clone)]
pub struct NewRequest {
    pub id: String,
    /// The session it belongs to. An id the store does not know is recorded as none, so a
    /// session deleted mid-request cannot make the request row fail.
    pub session_id: Option<String>,
    /// `chat.completions`, `completions` or `chat` (the CLI).
    pub endpoint: String,
    pub model: String,
    pub stream: bool,
    /// Name or index of the API key used, never the key.
    pub api_key_id: Option<String>,
    /// The `x-request-id` the client sent, if any (not unique; `id` is always ours).
    pub client_request_id: Option<String>,
    /// The request that produced the history prefix this one continues (conversation index),
    /// so only `new_messages` need storing.
    pub prior_request_id: Option<String>,
    /// Number of messages in the client's request.
    pub message_count: i64,
    /// The messages after the continued prefix (all of them for a new conversation).
    pub new_messages: Vec<StoredMessage>,
    /// The wire body without its messages (or an excerpt of the raw body when it did not
    /// parse), serialized once when the request arrived; its large members are stored once
    /// per distinct value.
    pub params: super::Params,
    /// The upstream body as sent (no headers, no secrets), when one was sent.
    pub upstream_request: Option<serde_json::Value>,
    pub chat_id: Option<String>,
    pub parent_id: Option<String>,
    /// The upstream account that served it (its name, nothing secret).
    pub account: Option<String>,
    /// Unix ms.
    pub received_at: i64,
}

/// The outcome of a request.
#[derive(Debug, Clone, Default)]
pub struct NewResponse {
    /// The id returned to the client (`chatcmpl-…`/`cmpl-…`).
    pub id: String,
    pub request_id: String,
    pub session_id: Option<String>,
    /// Upstream `response_id`.
    pub response_id: Option<String>,
    /// `ok`, `error`, `cancelled` or `partial`.
    pub status: String,
    /// Error class (`ErrorKind::as_str()` or `invalid_request`), when status is not ok.
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub content: String,
    pub reasoning: String,
    /// The tool calls the client received, in order.
    pub tool_calls: Vec<StoredToolCall>,
    /// What each upstream turn was, for an exchange that needed more than one (a corrective
    /// message, design.md §9); `None` for the usual single turn. Kept as opaque JSON.
    pub upstream_turns: Option<serde_json::Value>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: i64,
    /// Includes the reasoning tokens, as in OpenAI's `usage`; the store's `total_tokens` is
    /// `prompt_tokens + completion_tokens`.
    pub completion_tokens: i64,
    pub reasoning_tokens: i64,
    /// Milliseconds from receipt.
    pub upstream_first_byte_ms: Option<i64>,
    pub first_token_ms: Option<i64>,
    pub duration_ms: i64,
    /// Unix ms.
    pub created_at: i64,
}

/// A remembered conversation state: the history the client will send next → where it lives
/// upstream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvNode {
    pub fingerprint: Fingerprint,
    pub session_id: String,
    pub chat_id: String,
    pub response_id: String,
    pub model: String,
    /// The request whose answer completed this history.
    pub request_id: Option<String>,
    pub message_count: i64,
    /// Unix ms.
    pub last_used_at: i64,
    /// The account that owns the chat (read from its session; not written with the node).
    pub account: Option<String>,
}
