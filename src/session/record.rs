//! The rows the engine writes for an exchange: the request as received and sent upstream,
//! and the response as it ended. Pure builders, so [`super::engine`] reads as the decisions
//! it makes and this file as what gets kept.

use std::time::Instant;

use serde_json::Value;

use crate::store::{NewRequest, NewResponse, StoredMessage};

use super::request::RequestMeta;
use super::{Message, Status};

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
            prior_request_id: self.prior_request_id,
            message_count: self.message_count as i64,
            new_messages: stored(self.new_messages),
            params: self.meta.params.clone(),
            upstream_request,
            chat_id,
            parent_id,
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
        created_at: crate::unix_now_ms(),
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
        })
        .collect()
}

pub(super) fn elapsed_ms(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}
