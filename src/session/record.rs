//! What the engine writes for an exchange: the request as received and sent upstream, the
//! response as it ended (an answer, a failure before any answer, a refusal), and the
//! conversation node that lets the next turn continue the chat. The deciding lives in
//! [`super::engine`], [`super::route`] and [`super::status`]; this file is what gets kept.

use std::time::Instant;

use serde_json::Value;

use crate::accounts::Lease;
use crate::qwen::QwenError;
use crate::store::{ConvNode, NewRequest, NewResponse, StoredMessage, StoredToolCall};

use super::engine::{Engine, Target};
use super::request::{RequestMeta, TurnRequest};
use super::route::Turn;
use super::{Message, Role, Status, ToolCall, Usage};

/// How an answer ended, as the store keeps it.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    /// The upstream `response_id` (next turn's parent).
    pub upstream_response_id: Option<String>,
    pub status: Status,
    /// Error class and message when not ok.
    pub error: Option<(String, String)>,
    /// The answer exactly as the client received it (after stop/max_tokens cuts): this is
    /// what the client will send back next turn.
    pub content: String,
    pub reasoning: String,
    /// The tool calls the client received, in order (design.md §9).
    pub tool_calls: Vec<ToolCall>,
    /// What each upstream turn was, when the exchange needed a corrective one; `None` for
    /// the usual single turn. Stored as is.
    pub upstream_turns: Option<Value>,
    pub finish_reason: Option<String>,
    pub usage: Usage,
    pub first_token_ms: Option<i64>,
}

impl Engine {
    /// Records a request that failed upstream before any answer.
    pub(super) async fn record_failure(
        &self,
        req: &TurnRequest,
        target: &Target,
        session_id: Option<&str>,
        account: Option<&Lease>,
        err: &QwenError,
    ) {
        let row = RequestRow {
            meta: &req.meta,
            model: &target.model,
            session_id,
            message_count: req.messages.len(),
            new_messages: &req.messages,
            prior_request_id: None,
            upstream: None,
            account: account.map(Lease::name),
        };
        self.store_write(self.store.record_request(row.build()).await);
        let response = error_response(&req.meta, session_id, err.kind().as_str(), err.to_string());
        self.store_write(self.store.record_response(response).await);
    }

    /// Records a request refused before reaching the upstream. Its model is the name the
    /// client asked for (`model`), and its messages are not kept.
    pub(super) async fn record_refusal(
        &self,
        meta: &RequestMeta,
        model: &str,
        kind: &str,
        message: String,
    ) {
        let row = RequestRow {
            meta,
            model,
            session_id: None,
            message_count: 0,
            new_messages: &[],
            prior_request_id: None,
            upstream: None,
            account: None,
        };
        self.store_write(self.store.record_request(row.build()).await);
        let response = error_response(meta, None, kind, message);
        self.store_write(self.store.record_response(response).await);
    }

    /// Records how the turn ended and, when it succeeded, remembers the history the client
    /// will send next. Returns once the response is committed (design.md §5: before the
    /// client gets its last byte).
    pub(super) async fn finish(&self, turn: Turn, outcome: Outcome) {
        let now = crate::time::unix_now_ms();
        if outcome.status == Status::Ok
            && let Some(response_id) = &outcome.upstream_response_id
        {
            let mut chain = turn.chain;
            chain.push(&Message {
                tool_calls: outcome.tool_calls.clone(),
                ..Message::text(Role::Assistant, outcome.content.clone())
            });
            self.store_write(
                self.store
                    .remember(ConvNode {
                        fingerprint: chain.full(),
                        session_id: turn.session_id.clone(),
                        chat_id: turn.chat_id.clone(),
                        response_id: response_id.clone(),
                        model: turn.model.clone(),
                        request_id: Some(turn.meta.id.clone()),
                        message_count: turn.message_count as i64 + 1,
                        last_used_at: now,
                        account: Some(turn.lease.name().to_owned()),
                    })
                    .await,
            );
        }
        let (error_kind, error_message) = outcome.error.unzip();
        let response = NewResponse {
            id: turn.meta.response_id.clone(),
            request_id: turn.meta.id.clone(),
            session_id: Some(turn.session_id.clone()),
            response_id: outcome.upstream_response_id,
            status: outcome.status.as_str().to_owned(),
            error_kind,
            error_message,
            content: outcome.content,
            reasoning: outcome.reasoning,
            tool_calls: stored_calls(&outcome.tool_calls),
            upstream_turns: outcome.upstream_turns,
            finish_reason: outcome.finish_reason,
            prompt_tokens: outcome.usage.prompt_tokens as i64,
            completion_tokens: outcome.usage.completion_tokens as i64,
            reasoning_tokens: outcome.usage.reasoning_tokens as i64,
            upstream_first_byte_ms: Some(turn.upstream_first_byte_ms),
            first_token_ms: outcome.first_token_ms,
            duration_ms: elapsed_ms(turn.meta.received),
            created_at: now,
        };
        self.store_write(self.store.record_response(response).await);
    }
}

/// The request row of a turn that reached the upstream, or failed or was refused on the way.
pub(super) struct RequestRow<'a> {
    pub meta: &'a RequestMeta,
    pub model: &'a str,
    pub session_id: Option<&'a str>,
    /// Every message of the request (only `new_messages` are stored).
    pub message_count: usize,
    /// The messages the store has not seen in this session.
    pub new_messages: &'a [Message],
    pub prior_request_id: Option<String>,
    /// The upstream body as sent, with its chat and parent.
    pub upstream: Option<(Value, &'a str, Option<&'a str>)>,
    /// The account it went to.
    pub account: Option<&'a str>,
}

impl RequestRow<'_> {
    pub fn build(self) -> NewRequest {
        let (upstream_request, chat_id, parent_id) = match self.upstream {
            Some((body, chat, parent)) => {
                (Some(body), Some(chat.to_owned()), parent.map(str::to_owned))
            }
            None => (None, None, None),
        };
        NewRequest {
            id: self.meta.id.clone(),
            session_id: self.session_id.map(str::to_owned),
            endpoint: self.meta.endpoint.to_owned(),
            model: self.model.to_owned(),
            stream: self.meta.stream,
            api_key_id: self.meta.api_key_id.clone(),
            client_request_id: self.meta.client_request_id.clone(),
            prior_request_id: self.prior_request_id,
            message_count: self.message_count as i64,
            new_messages: stored(self.new_messages),
            // One reference: the text was serialized when the request arrived.
            params: self.meta.params.clone(),
            upstream_request,
            chat_id,
            parent_id,
            account: self.account.map(str::to_owned),
            received_at: self.meta.received_at_ms,
        }
    }
}

/// The response row of a request that ended in an error before any answer.
pub(super) fn error_response(
    meta: &RequestMeta,
    session_id: Option<&str>,
    kind: &str,
    message: String,
) -> NewResponse {
    NewResponse {
        id: format!("err-{}", meta.id),
        request_id: meta.id.clone(),
        session_id: session_id.map(str::to_owned),
        status: Status::Error.as_str().to_owned(),
        error_kind: Some(kind.to_owned()),
        error_message: Some(message),
        duration_ms: elapsed_ms(meta.received),
        created_at: crate::time::unix_now_ms(),
        ..NewResponse::default()
    }
}

/// The wire body of a request refused before it could be parsed, for the store: the JSON
/// without its messages, or a bounded, valid-UTF-8 excerpt when it is not JSON.
pub(super) fn refused_params(body: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(body) {
        Ok(mut params) => {
            if let Some(obj) = params.as_object_mut() {
                obj.remove("messages");
            }
            params
        }
        Err(_) => {
            Value::String(String::from_utf8_lossy(&body[..body.len().min(4096)]).into_owned())
        }
    }
}

fn stored(messages: &[Message]) -> Vec<StoredMessage> {
    messages
        .iter()
        .map(|m| StoredMessage {
            role: m.role.as_str().to_owned(),
            content: m.content.clone(),
            tool_calls: stored_calls(&m.tool_calls),
            tool_call_id: m.tool_call_id.clone(),
            name: m.name.clone(),
        })
        .collect()
}

fn stored_calls(calls: &[ToolCall]) -> Vec<StoredToolCall> {
    calls
        .iter()
        .map(|c| StoredToolCall {
            id: c.id.clone(),
            name: c.name.clone(),
            arguments: c.arguments.clone(),
        })
        .collect()
}

impl From<StoredMessage> for Message {
    /// A stored message back in the engine's vocabulary (the inverse of what the engine
    /// stores): continuing a stored response and resuming a session both start from here.
    /// Its texts are moved, not copied: a stored history is hundreds of KB for an agent.
    fn from(stored: StoredMessage) -> Message {
        let role = match stored.role.as_str() {
            "tool" | "function" => Role::Tool,
            other => Role::parse(other).unwrap_or(Role::User),
        };
        Message {
            tool_calls: stored
                .tool_calls
                .into_iter()
                .map(|c| ToolCall {
                    id: c.id,
                    name: c.name,
                    arguments: c.arguments,
                })
                .collect(),
            tool_call_id: stored.tool_call_id,
            name: stored.name,
            ..Message::text(role, stored.content)
        }
    }
}

impl From<&StoredMessage> for Message {
    fn from(stored: &StoredMessage) -> Message {
        Message::from(stored.clone())
    }
}

pub(super) fn elapsed_ms(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}
