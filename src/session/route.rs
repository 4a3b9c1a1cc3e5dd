//! Where a turn goes upstream (design.md §4): continue the chat of the longest remembered,
//! fresh prefix of the history, sending only the messages after it, or open a new chat with
//! the whole history folded into its first message; and on which account (design.md §12):
//! the one that owns the chat, or another one, with a new chat, when it cannot answer. Also
//! what a started [`Turn`] carries until its answer is recorded.

use crate::accounts::Lease;
use crate::qwen::{ChatType, CompletionRequest, CompletionStream, ErrorKind, QwenError};
use crate::store::{self, ConvNode, NewRequest, NewSession};

use super::engine::{Engine, Target};
use super::fingerprint::Chain;
use super::record::{RequestRow, elapsed_ms};
use super::request::{RequestMeta, TurnRequest};
use super::tools::prompt;
use super::{Role, fold};
use crate::output::{Fit, shorten};

/// How long a session title may be.
const TITLE_CHARS: usize = 60;

/// A started turn: the upstream stream plus what is needed to record it.
pub(super) struct Turn {
    /// The account the turn went to (its chat belongs to it).
    pub lease: Lease,
    pub session_id: String,
    pub chat_id: String,
    pub stream: CompletionStream,
    /// ms from receipt to the first upstream event.
    pub upstream_first_byte_ms: i64,
    pub meta: RequestMeta,
    /// The upstream model id.
    pub model: String,
    pub chain: Chain,
    pub message_count: usize,
    /// Switches of the upstream turn, for a corrective turn in the same chat.
    pub thinking: bool,
    pub chat_type: ChatType,
}

impl Turn {
    /// ms since the request arrived.
    pub fn elapsed_ms(&self) -> i64 {
        elapsed_ms(self.meta.received)
    }
}

/// How many of the newest prefixes ending in an answer are looked up before the rest.
const NEWEST_FIRST: usize = 4;

impl Engine {
    /// Continues a remembered chat when there is one, else opens a new one, on an account
    /// of the pool (design.md §12): a conversation stays on the account that owns its chat;
    /// when that account is cooling down or failing, the turn opens a new chat with the
    /// folded history on another one, and a turn that meets a rate limit or a refused
    /// account before its first byte is tried on the next account. With a single account
    /// every failure is the client's at once, exactly as without accounts.
    pub(super) async fn begin(&self, req: &TurnRequest, target: Target) -> Result<Turn, QwenError> {
        let chain = Chain::new(&target.model, &req.tools, &req.messages);
        let now = crate::time::unix_now_ms();
        let mut node = self.find_continuation(req, &target, &chain, now).await;
        self.adopt_cooldowns().await;
        let mut tried: Vec<String> = Vec::new();
        let mut last: Option<Lease> = None;
        loop {
            let owner = node.as_ref().and_then(|n| n.account.as_deref());
            let lease = match self.accounts.acquire(owner, &tried) {
                Ok(lease) => lease,
                Err(unavailable) => {
                    let err = unavailable.into_error();
                    self.record_failure(req, &target, None, last.as_ref(), &err)
                        .await;
                    return Err(err);
                }
            };
            if let Some(n) = &node
                && let Some(owner) = n.account.as_deref()
                && owner != lease.name()
            {
                tracing::info!(
                    session = %n.session_id,
                    "account `{owner}` is unavailable: the conversation moves to account `{}` \
                     in a new chat",
                    lease.name()
                );
                node = None;
            }
            let attempt = match &node {
                Some(n) => {
                    self.continue_on(req, &target, n, &lease, chain.clone())
                        .await
                }
                None => {
                    self.start_new_chat(req, &target, &lease, chain.clone())
                        .await
                }
            };
            if attempt.is_err() {
                self.share_cooldown(&lease).await;
            }
            match attempt {
                Ok(turn) => return Ok(turn),
                // The upstream forgot the chat (deleted, expired there): start over.
                Err(QwenError::NotFound { detail }) if node.is_some() => {
                    if let Some(n) = node.take() {
                        tracing::info!(chat_id = %n.chat_id, %detail, "upstream lost the chat; opening a new one");
                    }
                }
                Err(err) if moves_on(&err) && self.accounts.len() > 1 => {
                    tracing::info!(
                        account = lease.name(),
                        kind = err.kind().as_str(),
                        "account `{}` failed before the first byte ({err}); trying another account",
                        lease.name()
                    );
                    tried.push(lease.name().to_owned());
                    last = Some(lease);
                }
                Err(err) => {
                    let session = node.as_ref().map(|n| n.session_id.as_str());
                    self.record_failure(req, &target, session, Some(&lease), &err)
                        .await;
                    return Err(err);
                }
            }
        }
    }

    /// Continues the remembered chat of `node` on `lease` (its owner) and records the
    /// request.
    async fn continue_on(
        &self,
        req: &TurnRequest,
        target: &Target,
        node: &ConvNode,
        lease: &Lease,
        chain: Chain,
    ) -> Result<Turn, QwenError> {
        let stream = self.continue_chat(req, target, node, lease).await?;
        let now = crate::time::unix_now_ms();
        self.store_write(self.store.touch_node(node.fingerprint, now).await);
        let k = prefix_len(node, req.messages.len());
        let turn = self.turn(
            req,
            target,
            lease.clone(),
            node.session_id.clone(),
            node.chat_id.clone(),
            stream,
            chain,
        );
        let row = request_row(
            &turn,
            req,
            node.request_id.clone(),
            k,
            Some(&node.response_id),
        );
        self.record_request(row).await;
        Ok(turn)
    }

    pub(super) async fn continue_chat(
        &self,
        req: &TurnRequest,
        target: &Target,
        node: &ConvNode,
        lease: &Lease,
    ) -> Result<CompletionStream, QwenError> {
        let k = prefix_len(node, req.messages.len());
        let upstream = CompletionRequest {
            chat_id: node.chat_id.clone(),
            parent_id: Some(node.response_id.clone()),
            model: target.model.clone(),
            content: fold::fold_new_turn(&[], &req.messages[k..], &extras(req, false)),
            thinking: target.thinking,
            chat_type: target.chat_type,
        };
        self.complete_on(lease, &upstream, target.deadline).await
    }

    /// One completion on `lease`'s account (logging in or renewing first when needed).
    pub(super) async fn complete_on(
        &self,
        lease: &Lease,
        upstream: &CompletionRequest,
        deadline: tokio::time::Instant,
    ) -> Result<CompletionStream, QwenError> {
        let client = self.accounts.client();
        self.accounts
            .call(lease, deadline, |creds| async move {
                client.complete_by(&creds, upstream, deadline).await
            })
            .await
    }

    /// The longest remembered, fresh prefix of this request that leaves new messages to send.
    pub(super) async fn find_continuation(
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
        // A continued conversation is almost always found at its last answer, so the
        // newest candidates are looked up first and the older ones only when none of them
        // is known: a turn costs the same lookup whatever the length of its history. Any
        // node among the newest is longer than every older one, so the best is the same.
        let owner = req.meta.api_key_id.as_deref();
        let (older, newest) = candidates.split_at(candidates.len().saturating_sub(NEWEST_FIRST));
        let mut found = self.store.lookup_prefix(newest, owner).await;
        if matches!(found, Ok(None)) && !older.is_empty() {
            found = self.store.lookup_prefix(older, owner).await;
        }
        let node = match found {
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

    pub(super) async fn start_new_chat(
        &self,
        req: &TurnRequest,
        target: &Target,
        lease: &Lease,
        chain: Chain,
    ) -> Result<Turn, QwenError> {
        let client = self.accounts.client();
        let (model, deadline) = (target.model.as_str(), target.deadline);
        let chat_id = self
            .accounts
            .call(lease, deadline, |creds| async move {
                client.new_chat_by(&creds, model, deadline).await
            })
            .await?;
        let upstream = CompletionRequest {
            chat_id: chat_id.clone(),
            parent_id: None,
            model: target.model.clone(),
            content: fold::fold_messages(&req.messages, &extras(req, true)),
            thinking: target.thinking,
            chat_type: target.chat_type,
        };
        let stream = self.complete_on(lease, &upstream, target.deadline).await?;
        let session_id = uuid::Uuid::new_v4().to_string();
        let title = req
            .messages
            .iter()
            .find(|m| m.role == Role::User)
            .map(|m| title(&m.content))
            .unwrap_or_default();
        self.store_write(
            self.store
                .create_session(NewSession {
                    id: session_id.clone(),
                    chat_id: chat_id.clone(),
                    model: target.model.clone(),
                    title,
                    source: self.source.to_owned(),
                    api_key_id: req.meta.api_key_id.clone(),
                    account: Some(lease.name().to_owned()),
                    created_at: req.meta.received_at_ms,
                })
                .await,
        );
        let turn = self.turn(
            req,
            target,
            lease.clone(),
            session_id,
            chat_id,
            stream,
            chain,
        );
        self.record_request(request_row(&turn, req, None, 0, None))
            .await;
        Ok(turn)
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn turn(
        &self,
        req: &TurnRequest,
        target: &Target,
        lease: Lease,
        session_id: String,
        chat_id: String,
        stream: CompletionStream,
        chain: Chain,
    ) -> Turn {
        Turn {
            lease,
            session_id,
            chat_id,
            upstream_first_byte_ms: elapsed_ms(req.meta.received),
            stream,
            meta: req.meta.clone(),
            model: target.model.clone(),
            message_count: req.messages.len(),
            chain,
            thinking: target.thinking,
            chat_type: target.chat_type,
        }
    }

    /// Records the request of a started turn.
    pub(super) async fn record_request(&self, row: NewRequest) {
        self.store_write(self.store.record_request(row).await);
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
        account: Some(turn.lease.name()),
    }
    .build()
}

/// What the turn's upstream message adds for its tools and output format: the tool block
/// in a chat's first message, the rule restated on a later turn when it is not the default,
/// the format instruction on every turn that asks for one.
fn extras(req: &TurnRequest, first: bool) -> fold::Extras {
    let has_tools = !req.tools.is_empty();
    let mut tail = Vec::new();
    if has_tools && !first {
        tail.extend(prompt::restated_rule(
            &req.tool_choice,
            req.parallel_tool_calls,
        ));
    }
    tail.extend(prompt::format_instruction(&req.format));
    fold::Extras {
        tool_block: (has_tools && first)
            .then(|| prompt::tool_block(&req.tools, &req.tool_choice, req.parallel_tool_calls)),
        neutralise: has_tools,
        tail,
    }
}

/// A session's title: the first line of its first user message, leaving out the
/// `<system-reminder>` blocks agents such as Claude Code put before what the user typed.
fn title(text: &str) -> String {
    const OPEN: &str = "<system-reminder>";
    const CLOSE: &str = "</system-reminder>";
    let mut rest = text.trim_start();
    while let Some(after) = rest.strip_prefix(OPEN) {
        match after.find(CLOSE) {
            Some(end) => rest = after[end + CLOSE.len()..].trim_start(),
            None => break,
        }
    }
    shorten(rest, TITLE_CHARS, Fit::FirstLine)
}

/// Failures that belong to the account rather than to the turn: another account may
/// answer (a rate limit, a refused account).
fn moves_on(err: &QwenError) -> bool {
    matches!(err.kind(), ErrorKind::RateLimited | ErrorKind::Auth)
}

/// How many of the request's messages the remembered node already covers.
fn prefix_len(node: &ConvNode, n: usize) -> usize {
    usize::try_from(node.message_count).unwrap_or(0).min(n)
}

#[cfg(test)]
mod tests {
    use super::title;

    #[test]
    fn titles_skip_agents_reminders() {
        assert_eq!(title("Fix the bug\nin main.rs"), "Fix the bug…");
        assert_eq!(
            title("<system-reminder>\nAttribution rules…\n</system-reminder>\nCreate the file."),
            "Create the file."
        );
        assert_eq!(
            title("<system-reminder>unclosed"),
            "<system-reminder>unclosed"
        );
    }
}
