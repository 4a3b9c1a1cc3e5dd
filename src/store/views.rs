//! What reads return: the shapes of the data endpoints (design.md §3.3), of
//! `qwenctl sessions` and of `qwenctl stats`.
//!
//! Field names are snake_case and stable because the acceptance suite and users' scripts read
//! them; timestamps are unix milliseconds. Every type here is only ever built by the store.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{StoredMessage, StoredToolCall};

/// A session with its totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionSummary {
    /// Always `session`.
    pub object: &'static str,
    pub id: String,
    pub chat_id: String,
    pub model: String,
    pub title: String,
    pub source: String,
    /// The name of the API key that owns it (that of its first request); `null` when keyless.
    pub api_key_id: Option<String>,
    /// The upstream account that opened its chat; `null` for sessions older than accounts.
    pub account: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Number of requests recorded in the session.
    pub turns: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub total_tokens: i64,
    /// Tool calls the session's answers made (0 for a session without tools).
    pub tool_calls: i64,
}

/// The size of the database in bytes (`page_count × page_size`) and, of that, the free
/// pages a `VACUUM` would give back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DbSize {
    pub bytes: i64,
    pub free_bytes: i64,
}

/// Counts, token sums and average timings over a set of requests and their responses.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Statistics {
    /// Requests matching the filter.
    pub total_requests: i64,
    /// Of those, the ones with a recorded response.
    pub total_responses: i64,
    /// Responses with status `ok`.
    pub ok: i64,
    /// Responses with status `error`.
    pub errors: i64,
    /// Responses with status `partial` (the stream broke after it began).
    pub partial: i64,
    /// Responses with status `cancelled` (the client went away).
    pub cancelled: i64,
    pub total_tokens: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub reasoning_tokens: i64,
    /// Mean over responses; 0 when there are none, so clients can always do arithmetic.
    pub avg_duration_ms: f64,
    /// Mean over responses that produced a token; 0 when there are none.
    pub avg_first_token_ms: f64,
}

/// [`Statistics`] of one session.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionStats {
    pub session_id: String,
    #[serde(flatten)]
    pub statistics: Statistics,
}

/// A request without its bodies.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestSummary {
    /// Always `request`.
    pub object: &'static str,
    pub id: String,
    pub session_id: Option<String>,
    pub endpoint: String,
    pub model: String,
    pub stream: bool,
    pub api_key_id: Option<String>,
    /// The `x-request-id` the client sent; `null` when it sent none.
    pub client_request_id: Option<String>,
    pub prior_request_id: Option<String>,
    /// Messages in the client's request (the full history it sent).
    pub message_count: i64,
    pub chat_id: Option<String>,
    pub parent_id: Option<String>,
    /// The upstream account that served it; `null` when it reached none.
    pub account: Option<String>,
    pub received_at: i64,
    /// Status of its response, `null` while none is recorded.
    pub status: Option<String>,
}

/// A request with the outcome of its response: an item of `GET /v1/requests` plus the
/// response's figures (`null` while none is recorded). What `GET /v1/events` sends.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Exchange {
    #[serde(flatten)]
    pub request: RequestSummary,
    /// The data API's id of the response (`GET /v1/responses/{id}`).
    pub response_id: Option<String>,
    pub error_kind: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub reasoning_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
    /// Tool calls the answer made.
    pub tool_calls: i64,
    pub first_token_ms: Option<i64>,
    pub duration_ms: Option<i64>,
    /// When the response was recorded.
    pub completed_at: Option<i64>,
}

/// A request with its bodies and its full message list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestDetail {
    #[serde(flatten)]
    pub summary: RequestSummary,
    /// The OpenAI request body without `messages`.
    pub params: serde_json::Value,
    /// The upstream body as sent.
    pub upstream_request: Option<serde_json::Value>,
    /// The messages stored with this request (those after the continued prefix).
    pub new_messages: Vec<StoredMessage>,
    /// The whole history the client sent, rebuilt through `prior_request_id`.
    pub messages: Vec<StoredMessage>,
}

/// A response row, with the model of its request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResponseRow {
    /// Always `response`.
    pub object: &'static str,
    pub id: String,
    pub request_id: String,
    pub session_id: Option<String>,
    pub model: String,
    /// The name of the API key of its request.
    pub api_key_id: Option<String>,
    pub response_id: Option<String>,
    pub status: String,
    pub error_kind: Option<String>,
    pub error_message: Option<String>,
    pub content: String,
    pub reasoning: String,
    /// The tool calls the client received; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<StoredToolCall>,
    /// Each upstream turn of an exchange that needed a corrective one; absent for the usual
    /// single turn.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_turns: Option<serde_json::Value>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub reasoning_tokens: i64,
    pub total_tokens: i64,
    pub upstream_first_byte_ms: Option<i64>,
    pub first_token_ms: Option<i64>,
    pub duration_ms: i64,
    pub created_at: i64,
    /// When the Responses API's `DELETE` withdrew it; absent while it is retrievable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub withdrawn_at: Option<i64>,
}

/// Where a session stands in creation order, newest first: what `sessions export --all`
/// pages by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    pub created_at: i64,
    pub id: String,
}

/// What an export needs of a session, read in one pass: its transcript and its
/// conversation (the full history of its latest answered request plus that answer).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionExport {
    pub transcript: Transcript,
    pub conversation: Vec<StoredMessage>,
}

/// A session as a readable conversation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transcript {
    pub session: SessionSummary,
    pub turns: Vec<Turn>,
}

/// One request of a transcript and what came back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turn {
    pub request_id: String,
    pub received_at: i64,
    pub model: String,
    /// The messages this turn added.
    pub messages: Vec<StoredMessage>,
    /// The answer; `null` fields while no response is recorded.
    pub content: Option<String>,
    pub reasoning: Option<String>,
    /// The tool calls the answer made; absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<StoredToolCall>,
    /// Each upstream turn, when the answer needed a corrective one; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upstream_turns: Option<serde_json::Value>,
    pub status: Option<String>,
    pub finish_reason: Option<String>,
    pub prompt_tokens: Option<i64>,
    pub completion_tokens: Option<i64>,
    pub total_tokens: Option<i64>,
}

/// `usage_stats` output: one group per model, day or hour, or a single `all` group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UsageReport {
    pub since_ms: Option<i64>,
    /// `all`, `model`, `day` or `hour`.
    pub group_by: &'static str,
    pub groups: Vec<UsageGroup>,
}

impl UsageReport {
    /// Responses not `ok` by error class over every group: the classified error kinds the
    /// store records (`rate_limited`, `upstream`, `timeout`, …), or the status (`partial`,
    /// `cancelled`, `error`) where none was recorded.
    pub fn errors_by_kind(&self) -> BTreeMap<String, i64> {
        let mut all = BTreeMap::new();
        for group in &self.groups {
            for (kind, n) in &group.errors_by_kind {
                *all.entry(kind.clone()).or_default() += n;
            }
        }
        all
    }
}

/// Figures of one group of requests.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UsageGroup {
    /// The model, the day (`YYYY-MM-DD`, UTC), the hour (`YYYY-MM-DDTHH:00:00Z`) or `all`.
    pub key: String,
    pub requests: i64,
    pub ok: i64,
    /// Responses with status `error` (as [`Statistics::errors`]).
    pub errors: i64,
    /// Responses not `ok`, by error kind (or by status when no kind was recorded).
    pub errors_by_kind: BTreeMap<String, i64>,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub reasoning_tokens: i64,
    pub total_tokens: i64,
    pub duration_ms: Distribution,
    pub first_token_ms: Distribution,
}

/// Mean and percentiles of a timing; all `null` without samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Distribution {
    pub samples: i64,
    pub avg: Option<f64>,
    pub p50: Option<i64>,
    pub p90: Option<i64>,
    pub p95: Option<i64>,
    pub p99: Option<i64>,
}

impl Distribution {
    /// Nearest-rank percentiles over `values` (sorted here).
    pub(crate) fn of(mut values: Vec<i64>) -> Distribution {
        if values.is_empty() {
            return Distribution::default();
        }
        values.sort_unstable();
        let n = values.len();
        let rank = |p: usize| values[(n * p).div_ceil(100).clamp(1, n) - 1];
        // Timing sums stay far below 2^53 ms, so the float mean is exact enough.
        let sum: i64 = values.iter().sum();
        let avg = sum as f64 / n as f64;
        Distribution {
            samples: i64::try_from(n).unwrap_or(i64::MAX),
            avg: Some(avg),
            p50: Some(rank(50)),
            p90: Some(rank(90)),
            p95: Some(rank(95)),
            p99: Some(rank(99)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Distribution;

    #[test]
    fn percentiles_use_nearest_rank() {
        let d = Distribution::of((1..=100).rev().collect());
        assert_eq!((d.p50, d.p95, d.samples), (Some(50), Some(95), 100));
        assert_eq!((d.p90, d.p99), (Some(90), Some(99)));
        assert_eq!(d.avg, Some(50.5));
        let one = Distribution::of(vec![7]);
        assert_eq!((one.p50, one.p95), (Some(7), Some(7)));
        assert_eq!(Distribution::of(Vec::new()).avg, None);
    }
}
