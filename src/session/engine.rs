//! [`Engine`]: resolves a request to an upstream chat and parent, starts the upstream
//! stream, and records the exchange and the new conversation state when it ends.

use std::time::{Duration, Instant};

use crate::openai::{self, Message, Role};
use crate::qwen::{ChatType, CompletionRequest, CompletionStream, QwenClient, QwenError};
use crate::store::{self, ConvNode, NewRequest, NewResponse, NewSession, Store, StoredMessage};

use super::fingerprint::Chain;

/// How long a session title may be.
const TITLE_CHARS: usize = 60;

/// The conversation engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    client: QwenClient,
    store: Store,
    session_timeout: Option<Duration>,
    source: &'static str,
}

/// What the caller knows about a request, for the store.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    /// Our request id (also the `x-request-id`).
    pub id: String,
    /// `chat.completions`, `completions` or `chat`.
    pub endpoint: &'static str,
    pub stream: bool,
    /// Name or index of the API key used, never the key.
    pub api_key_id: Option<String>,
    /// The OpenAI body without `messages`.
    pub params: serde_json::Value,
    /// When the request arrived.
    pub received: Instant,
    /// The same, as unix ms.
    pub received_at_ms: i64,
}

/// One turn to run.
#[derive(Debug, Clone)]
pub struct TurnRequest {
    /// The upstream model id (virtual suffixes already resolved).
    pub model: String,
    /// The client's whole history, ending with the new message(s).
    pub messages: Vec<Message>,
    pub thinking: bool,
    pub chat_type: ChatType,
    pub meta: RequestMeta,
}

/// A started turn: the upstream stream plus what is needed to record it.
pub struct Turn {
    pub session_id: String,
    pub chat_id: String,
    pub parent_id: Option<String>,
    /// Whether an existing upstream chat was continued (false: a new chat with the history
    /// folded in).
    pub continued: bool,
    pub stream: CompletionStream,
    /// ms from receipt to the first upstream event.
    pub upstream_first_byte_ms: i64,
    meta: RequestMeta,
    model: String,
    chain: Chain,
    message_count: usize,
}

/// How an exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    Error,
    /// The client went away.
    Cancelled,
    /// The upstream failed after some of the answer was delivered.
    Partial,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Error => "error",
            Status::Cancelled => "cancelled",
            Status::Partial => "partial",
        }
    }
}

/// The outcome of a turn, as delivered to the client.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The id the client saw (`chatcmpl-…`).
    pub response_id: String,
    /// The upstream `response_id` (next turn's parent).
    pub upstream_response_id: Option<String>,
    pub status: Status,
    /// Error class and message when not ok.
    pub error: Option<(String, String)>,
    /// The answer exactly as the client received it (after stop/max_tokens cuts): this is
    /// what the client will send back next turn.
    pub content: String,
    pub reasoning: String,
    pub finish_reason: Option<String>,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub reasoning_tokens: u64,
    pub first_token_ms: Option<i64>,
}

impl Engine {
    pub fn new(
        client: QwenClient,
        store: Store,
        session_timeout: Option<Duration>,
        source: &'static str,
    ) -> Engine {
        Engine {
            client,
            store,
            session_timeout,
            source,
        }
    }

    /// The upstream client.
    pub fn client(&self) -> &QwenClient {
        &self.client
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Resolves the request to an upstream chat and starts the answer. Failures before the
    /// first upstream event are recorded here and returned.
    pub async fn start(&self, req: TurnRequest) -> Result<Turn, QwenError> {
        let chain = Chain::new(&req.model, &req.messages);
        let n = req.messages.len();
        let now = crate::unix_now_ms();

        if let Some(node) = self.find_continuation(&req, &chain, now).await {
            let k = usize::try_from(node.message_count).unwrap_or(0).min(n);
            let content = openai::fold::fold_new_turn(&[], &req.messages[k..]);
            let upstream = CompletionRequest {
                chat_id: node.chat_id.clone(),
                parent_id: Some(node.response_id.clone()),
                model: req.model.clone(),
                content,
                thinking: req.thinking,
                chat_type: req.chat_type,
            };
            match self.client.complete(&upstream).await {
                Ok(stream) => {
                    self.store_write(self.store.touch_node(node.fingerprint, now).await);
                    let turn = Turn {
                        session_id: node.session_id.clone(),
                        chat_id: node.chat_id.clone(),
                        parent_id: upstream.parent_id.clone(),
                        continued: true,
                        upstream_first_byte_ms: elapsed_ms(req.meta.received),
                        stream,
                        meta: req.meta.clone(),
                        model: req.model.clone(),
                        message_count: n,
                        chain,
                    };
                    let row = request_row(&turn, &req, node.request_id.clone(), k);
                    self.store_write(self.store.record_request(row).await);
                    return Ok(turn);
                }
                // The upstream forgot the chat (deleted, expired there): start over below.
                Err(QwenError::NotFound { detail }) => {
                    tracing::info!(chat_id = %node.chat_id, %detail, "upstream lost the chat; opening a new one");
                }
                Err(err) => {
                    self.record_failure(&req, Some(&node.session_id), &err)
                        .await;
                    return Err(err);
                }
            }
        }

        match self.start_new_chat(&req, chain).await {
            Ok(turn) => Ok(turn),
            Err(err) => {
                self.record_failure(&req, None, &err).await;
                Err(err)
            }
        }
    }

    /// The longest remembered, fresh prefix of this request that leaves new messages to send.
    async fn find_continuation(
        &self,
        req: &TurnRequest,
        chain: &Chain,
        now: i64,
    ) -> Option<ConvNode> {
        let n = req.messages.len();
        // Only a prefix ending in an assistant answer can have been remembered.
        let candidates: Vec<store::Fingerprint> = (1..n)
            .filter(|&k| req.messages[k - 1].role == Role::Assistant)
            .map(|k| chain.prefixes()[k])
            .collect();
        if candidates.is_empty() {
            return None;
        }
        let node = match self.store.lookup_prefix(&candidates).await {
            Ok(node) => node?,
            Err(err) => {
                tracing::warn!("conversation lookup failed, starting a new chat: {err}");
                return None;
            }
        };
        if node.model != req.model {
            return None;
        }
        if let Some(timeout) = self.session_timeout {
            let idle = now.saturating_sub(node.last_used_at);
            if idle > i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX) {
                tracing::debug!(session = %node.session_id, "conversation expired; starting a new chat");
                return None;
            }
        }
        Some(node)
    }

    async fn start_new_chat(&self, req: &TurnRequest, chain: Chain) -> Result<Turn, QwenError> {
        let chat_id = self.client.new_chat(&req.model).await?;
        let upstream = CompletionRequest {
            chat_id: chat_id.clone(),
            parent_id: None,
            model: req.model.clone(),
            content: openai::fold::fold_messages(&req.messages),
            thinking: req.thinking,
            chat_type: req.chat_type,
        };
        let stream = self.client.complete(&upstream).await?;
        let session_id = uuid::Uuid::new_v4().to_string();
        let title = req
            .messages
            .iter()
            .find(|m| m.role == Role::User)
            .map(|m| shorten(&m.content, TITLE_CHARS))
            .unwrap_or_default();
        self.store_write(
            self.store
                .create_session(NewSession {
                    id: session_id.clone(),
                    chat_id: chat_id.clone(),
                    model: req.model.clone(),
                    title,
                    source: self.source.to_owned(),
                    created_at: req.meta.received_at_ms,
                })
                .await,
        );
        let turn = Turn {
            session_id,
            chat_id,
            parent_id: None,
            continued: false,
            upstream_first_byte_ms: elapsed_ms(req.meta.received),
            stream,
            meta: req.meta.clone(),
            model: req.model.clone(),
            message_count: req.messages.len(),
            chain,
        };
        let row = request_row(&turn, req, None, 0);
        self.store_write(self.store.record_request(row).await);
        Ok(turn)
    }

    /// Records a request that failed before any answer.
    async fn record_failure(&self, req: &TurnRequest, session_id: Option<&str>, err: &QwenError) {
        let request = NewRequest {
            id: req.meta.id.clone(),
            session_id: session_id.map(str::to_owned),
            endpoint: req.meta.endpoint.to_owned(),
            model: req.model.clone(),
            stream: req.meta.stream,
            api_key_id: req.meta.api_key_id.clone(),
            prior_request_id: None,
            message_count: req.messages.len() as i64,
            new_messages: stored(&req.messages),
            params: req.meta.params.clone(),
            upstream_request: None,
            chat_id: None,
            parent_id: None,
            received_at: req.meta.received_at_ms,
        };
        self.store_write(self.store.record_request(request).await);
        let response = NewResponse {
            id: format!("err-{}", req.meta.id),
            request_id: req.meta.id.clone(),
            session_id: session_id.map(str::to_owned),
            status: Status::Error.as_str().to_owned(),
            error_kind: Some(err.kind().as_str().to_owned()),
            error_message: Some(err.to_string()),
            duration_ms: elapsed_ms(req.meta.received),
            created_at: crate::unix_now_ms(),
            ..NewResponse::default()
        };
        self.store_write(self.store.record_response(response).await);
    }

    /// Records how the turn ended and, when it succeeded, remembers the history the client
    /// will send next. Returns once the response is committed (design.md §5: before the
    /// client gets its last byte).
    pub async fn finish(&self, turn: Turn, outcome: Outcome) {
        let now = crate::unix_now_ms();
        if outcome.status == Status::Ok
            && let Some(response_id) = &outcome.upstream_response_id
        {
            let mut chain = turn.chain;
            chain.push(Role::Assistant, &outcome.content);
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
                    })
                    .await,
            );
        }
        let (error_kind, error_message) = outcome.error.clone().unzip();
        let response = NewResponse {
            id: outcome.response_id,
            request_id: turn.meta.id.clone(),
            session_id: Some(turn.session_id.clone()),
            response_id: outcome.upstream_response_id,
            status: outcome.status.as_str().to_owned(),
            error_kind,
            error_message,
            content: outcome.content,
            reasoning: outcome.reasoning,
            finish_reason: outcome.finish_reason,
            prompt_tokens: outcome.prompt_tokens as i64,
            completion_tokens: outcome.completion_tokens as i64,
            reasoning_tokens: outcome.reasoning_tokens as i64,
            upstream_first_byte_ms: Some(turn.upstream_first_byte_ms),
            first_token_ms: outcome.first_token_ms,
            duration_ms: elapsed_ms(turn.meta.received),
            created_at: now,
        };
        self.store_write(self.store.record_response(response).await);
    }

    /// Store failures never fail a chat: they are logged (without content) and the answer
    /// still reaches the user.
    fn store_write(&self, result: store::Result<()>) {
        if let Err(err) = result {
            tracing::warn!("could not record to the database: {err}");
        }
    }
}

fn request_row(
    turn: &Turn,
    req: &TurnRequest,
    prior_request_id: Option<String>,
    prefix_len: usize,
) -> NewRequest {
    NewRequest {
        id: req.meta.id.clone(),
        session_id: Some(turn.session_id.clone()),
        endpoint: req.meta.endpoint.to_owned(),
        model: req.model.clone(),
        stream: req.meta.stream,
        api_key_id: req.meta.api_key_id.clone(),
        prior_request_id,
        message_count: req.messages.len() as i64,
        new_messages: stored(&req.messages[prefix_len.min(req.messages.len())..]),
        params: req.meta.params.clone(),
        upstream_request: Some(turn.stream.sent_body.clone()),
        chat_id: Some(turn.chat_id.clone()),
        parent_id: turn.parent_id.clone(),
        received_at: req.meta.received_at_ms,
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

fn elapsed_ms(since: Instant) -> i64 {
    i64::try_from(since.elapsed().as_millis()).unwrap_or(i64::MAX)
}

/// The first `max` characters of the first line, with an ellipsis when cut.
pub fn shorten(text: &str, max: usize) -> String {
    let line = text.trim().lines().next().unwrap_or("");
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max || text.trim().lines().count() > 1 {
        out.push('…');
    }
    out
}
