//! [`Engine`]: the one door to the upstream and the store for everything a request or a
//! chat turn does. It resolves the model, decides where a turn goes upstream (continue a
//! remembered chat or open a new one), starts the upstream stream and hands back an
//! [`Answer`]; it records every request, including the ones refused or failed on the way,
//! and, through the answer, how each one ended.

use std::sync::Arc;
use std::time::Duration;

use crate::qwen::{ChatType, CompletionRequest, CompletionStream, Model, QwenClient, QwenError};
use crate::store::{self, ConvNode, NewRequest, NewResponse, NewSession, Store};

use super::fingerprint::Chain;
use super::models::{assume_model, resolve_model};
use super::record::{RequestRow, elapsed_ms, error_response, refused_params};
use super::request::{OutputFormat, Refusal, RequestMeta, ToolChoice, TurnRequest};
use super::{Answer, Role, Status, Usage, fold};

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

/// Why a turn did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Refused before reaching the upstream (recorded).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The upstream failed before the first event (recorded).
    #[error(transparent)]
    Upstream(#[from] QwenError),
}

/// A started turn: the upstream stream plus what is needed to record it.
pub(super) struct Turn {
    pub session_id: String,
    chat_id: String,
    pub stream: CompletionStream,
    /// ms from receipt to the first upstream event.
    upstream_first_byte_ms: i64,
    meta: RequestMeta,
    /// The upstream model id.
    model: String,
    chain: Chain,
    message_count: usize,
}

impl Turn {
    /// ms since the request arrived.
    pub fn elapsed_ms(&self) -> i64 {
        elapsed_ms(self.meta.received)
    }
}

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
    pub finish_reason: Option<String>,
    pub usage: Usage,
    pub first_token_ms: Option<i64>,
}

/// Where a turn goes upstream, once the model is resolved.
struct Target {
    model: String,
    thinking: bool,
    chat_type: ChatType,
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

    /// The upstream's models (cached for `MODELS_CACHE_DURATION`).
    pub async fn models(&self) -> Result<Arc<Vec<Model>>, QwenError> {
        self.client.list_models().await
    }

    /// The store, for read-only queries (the data API, `/health`, session listings).
    /// Everything a turn writes goes through the engine itself.
    pub fn archive(&self) -> &Store {
        &self.store
    }

    /// Records a request the front-end refused before it became a turn (an invalid body).
    pub async fn reject(&self, meta: &RequestMeta, body: &[u8], message: String) {
        let params = refused_params(body);
        let meta = RequestMeta {
            stream: params.get("stream").and_then(|v| v.as_bool()) == Some(true),
            params,
            ..meta.clone()
        };
        self.record_refusal(&meta, "invalid_request", message).await;
    }

    /// Resolves the request to an upstream chat and starts the answer. Refusals and failures
    /// before the first upstream event are recorded here and returned.
    pub async fn start(&self, req: TurnRequest) -> Result<Answer, StartError> {
        self.check(&req).await?;
        let target = self.resolve(&req).await?;
        let limits = req.limits.clone();
        let turn = self.begin(req, target).await?;
        Ok(Answer::new(self.clone(), turn, &limits))
    }

    /// Refuses what the engine cannot honour yet: tools and output formats are parsed by
    /// their wire formats but not emulated, and are never silently dropped.
    async fn check(&self, req: &TurnRequest) -> Result<(), Refusal> {
        let unsupported = if !req.tools.is_empty() {
            Some("tools")
        } else if req.tool_choice != ToolChoice::Auto {
            Some("tool_choice")
        } else if req.format != OutputFormat::Text {
            Some("format")
        } else {
            None
        };
        match unsupported {
            Some(field) => {
                let refusal = Refusal::Unsupported(field);
                self.record_refusal(&req.meta, "invalid_request", refusal.to_string())
                    .await;
                Err(refusal)
            }
            None => Ok(()),
        }
    }

    /// The upstream model and switches for the requested name. When the upstream cannot
    /// list its models right now, the name is tried as an upstream id rather than failing
    /// ([`assume_model`]).
    async fn resolve(&self, req: &TurnRequest) -> Result<Target, Refusal> {
        let resolved = match self.models().await {
            Ok(models) => match resolve_model(&req.model, &models) {
                Some(resolved) => resolved,
                None => {
                    let refusal = Refusal::UnknownModel(req.model.clone());
                    self.record_refusal(&req.meta, "model_not_found", refusal.to_string())
                        .await;
                    return Err(refusal);
                }
            },
            Err(_) => assume_model(&req.model),
        };
        Ok(Target {
            thinking: req.thinking.unwrap_or(resolved.thinking),
            chat_type: if resolved.search {
                ChatType::Search
            } else {
                ChatType::Text
            },
            model: resolved.upstream,
        })
    }

    /// Continues a remembered chat when there is one, else opens a new one.
    async fn begin(&self, req: TurnRequest, target: Target) -> Result<Turn, QwenError> {
        let chain = Chain::new(&target.model, &req.messages);
        let now = crate::unix_now_ms();

        if let Some(node) = self.find_continuation(&req, &target, &chain, now).await {
            match self.continue_chat(&req, &target, &node).await {
                Ok(stream) => {
                    self.store_write(self.store.touch_node(node.fingerprint, now).await);
                    let k = prefix_len(&node, req.messages.len());
                    let turn = self.turn(
                        &req,
                        &target,
                        node.session_id.clone(),
                        node.chat_id.clone(),
                        stream,
                        chain,
                    );
                    let row = request_row(
                        &turn,
                        &req,
                        node.request_id.clone(),
                        k,
                        Some(&node.response_id),
                    );
                    self.record_request(row).await;
                    return Ok(turn);
                }
                // The upstream forgot the chat (deleted, expired there): start over below.
                Err(QwenError::NotFound { detail }) => {
                    tracing::info!(chat_id = %node.chat_id, %detail, "upstream lost the chat; opening a new one");
                }
                Err(err) => {
                    self.record_failure(&req, &target, Some(&node.session_id), &err)
                        .await;
                    return Err(err);
                }
            }
        }

        match self.start_new_chat(&req, &target, chain).await {
            Ok(turn) => Ok(turn),
            Err(err) => {
                self.record_failure(&req, &target, None, &err).await;
                Err(err)
            }
        }
    }

    async fn continue_chat(
        &self,
        req: &TurnRequest,
        target: &Target,
        node: &ConvNode,
    ) -> Result<CompletionStream, QwenError> {
        let k = prefix_len(node, req.messages.len());
        let upstream = CompletionRequest {
            chat_id: node.chat_id.clone(),
            parent_id: Some(node.response_id.clone()),
            model: target.model.clone(),
            content: fold::fold_new_turn(&[], &req.messages[k..]),
            thinking: target.thinking,
            chat_type: target.chat_type,
        };
        self.client.complete(&upstream).await
    }

    /// The longest remembered, fresh prefix of this request that leaves new messages to send.
    async fn find_continuation(
        &self,
        req: &TurnRequest,
        target: &Target,
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
        if node.model != target.model {
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

    async fn start_new_chat(
        &self,
        req: &TurnRequest,
        target: &Target,
        chain: Chain,
    ) -> Result<Turn, QwenError> {
        let chat_id = self.client.new_chat(&target.model).await?;
        let upstream = CompletionRequest {
            chat_id: chat_id.clone(),
            parent_id: None,
            model: target.model.clone(),
            content: fold::fold_messages(&req.messages),
            thinking: target.thinking,
            chat_type: target.chat_type,
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
                    model: target.model.clone(),
                    title,
                    source: self.source.to_owned(),
                    created_at: req.meta.received_at_ms,
                })
                .await,
        );
        let turn = self.turn(req, target, session_id, chat_id, stream, chain);
        self.record_request(request_row(&turn, req, None, 0, None))
            .await;
        Ok(turn)
    }

    fn turn(
        &self,
        req: &TurnRequest,
        target: &Target,
        session_id: String,
        chat_id: String,
        stream: CompletionStream,
        chain: Chain,
    ) -> Turn {
        Turn {
            session_id,
            chat_id,
            upstream_first_byte_ms: elapsed_ms(req.meta.received),
            stream,
            meta: req.meta.clone(),
            model: target.model.clone(),
            message_count: req.messages.len(),
            chain,
        }
    }

    /// Records the request of a started turn.
    async fn record_request(&self, row: NewRequest) {
        self.store_write(self.store.record_request(row).await);
    }

    /// Records a request that failed upstream before any answer.
    async fn record_failure(
        &self,
        req: &TurnRequest,
        target: &Target,
        session_id: Option<&str>,
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
        };
        self.store_write(self.store.record_request(row.build()).await);
        let response = error_response(&req.meta, session_id, err.kind().as_str(), err.to_string());
        self.store_write(self.store.record_response(response).await);
    }

    /// Records a request refused before reaching the upstream. Its model is the name the
    /// client asked for, and its messages are not kept.
    async fn record_refusal(&self, meta: &RequestMeta, kind: &str, message: String) {
        let model = meta
            .params
            .get("model")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let row = RequestRow {
            meta,
            model,
            session_id: None,
            message_count: 0,
            new_messages: &[],
            prior_request_id: None,
            upstream: None,
        };
        self.store_write(self.store.record_request(row.build()).await);
        let response = error_response(meta, None, kind, message);
        self.store_write(self.store.record_response(response).await);
    }

    /// Records how the turn ended and, when it succeeded, remembers the history the client
    /// will send next. Returns once the response is committed (design.md §5: before the
    /// client gets its last byte).
    pub(super) async fn finish(&self, turn: Turn, outcome: Outcome) {
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

    /// Forgets conversations idle since before `cutoff_ms` (unix ms), for an in-memory store
    /// that would otherwise grow with every exchange.
    pub async fn forget_idle(&self, cutoff_ms: i64) {
        if let Err(err) = self.store.prune(cutoff_ms).await {
            tracing::warn!("cannot prune the in-memory store: {err}");
        }
    }

    /// Waits until everything recorded so far is committed.
    pub async fn flush(&self) {
        if let Err(err) = self.store.flush().await {
            tracing::warn!("could not flush the database: {err}");
        }
    }

    /// Store failures never fail a chat: they are logged (without content) and the answer
    /// still reaches the user.
    fn store_write(&self, result: store::Result<()>) {
        if let Err(err) = result {
            tracing::warn!("could not record to the database: {err}");
        }
    }
}

/// The request row of a started turn: only the messages after the remembered prefix are
/// new to the store.
fn request_row(
    turn: &Turn,
    req: &TurnRequest,
    prior_request_id: Option<String>,
    prefix_len: usize,
    parent_id: Option<&str>,
) -> NewRequest {
    RequestRow {
        meta: &req.meta,
        model: &turn.model,
        session_id: Some(&turn.session_id),
        message_count: req.messages.len(),
        new_messages: &req.messages[prefix_len.min(req.messages.len())..],
        prior_request_id,
        upstream: Some((turn.stream.sent_body.clone(), &turn.chat_id, parent_id)),
    }
    .build()
}

/// How many of the request's messages the remembered node already covers.
fn prefix_len(node: &ConvNode, n: usize) -> usize {
    usize::try_from(node.message_count).unwrap_or(0).min(n)
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
