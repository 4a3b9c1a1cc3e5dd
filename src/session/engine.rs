//! [`Engine`]: the one door to the upstream and the store for everything a request or a
//! chat turn does. It resolves the model, decides where a turn goes upstream (continue a
//! remembered chat or open a new one), starts the upstream stream and hands back an
//! [`Answer`]; it records every request, including the ones refused or failed on the way,
//! and, through the answer, how each one ended.

use std::sync::Arc;
use std::time::Duration;

use crate::accounts::Pool;
use crate::qwen::{ChatType, Model, QwenError};
use crate::store::{self, Store};

use super::models::{assume_model, resolve_model};
use super::record::refused_params;
use super::request::{Refusal, RequestMeta, TurnRequest};
use super::tools::shape::Shaper;
use super::{Answer, ModelAliases};

/// The conversation engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    /// The upstream accounts, and through them the client.
    pub(super) accounts: Pool,
    pub(super) store: Store,
    pub(super) session_timeout: Option<Duration>,
    pub(super) source: &'static str,
    aliases: Arc<ModelAliases>,
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

/// Where a turn goes upstream, once the model is resolved.
pub(super) struct Target {
    pub model: String,
    pub thinking: bool,
    pub chat_type: ChatType,
    /// When the turn's first upstream event must have arrived: `QWEN_FIRST_BYTE_TIMEOUT`
    /// after the turn started, shared by the model list, a new chat and the completion, so
    /// that is what a client waits at most before its 504.
    pub deadline: tokio::time::Instant,
}

/// The longest a turn waits for the model list when none is cached (a quarter of
/// `QWEN_FIRST_BYTE_TIMEOUT`, at most this); then it goes ahead with the name as given.
const MODEL_LIST_WAIT: Duration = Duration::from_secs(2);

impl Engine {
    pub fn new(
        accounts: Pool,
        store: Store,
        session_timeout: Option<Duration>,
        source: &'static str,
    ) -> Engine {
        Engine {
            accounts,
            store,
            session_timeout,
            source,
            aliases: Arc::default(),
        }
    }

    /// The engine with `MODEL_ALIASES` applied to every model name it is asked for.
    pub fn with_aliases(mut self, aliases: ModelAliases) -> Engine {
        self.aliases = Arc::new(aliases);
        self
    }

    /// The model name to resolve for `requested`: its alias when one matches, else itself.
    pub fn alias<'a>(&'a self, requested: &'a str) -> &'a str {
        self.aliases.resolve(requested).unwrap_or(requested)
    }

    /// The upstream's models (cached for `MODELS_CACHE_DURATION`).
    pub async fn models(&self) -> Result<Arc<Vec<Model>>, QwenError> {
        let creds = self.accounts.ambient().await;
        self.accounts.client().list_models(&creds).await
    }

    /// The upstream accounts (for `/health`).
    pub fn accounts(&self) -> &Pool {
        &self.accounts
    }

    /// The store, for read-only queries (the data API, `/health`, session listings).
    /// Everything a turn writes goes through the engine itself.
    pub fn archive(&self) -> &Store {
        &self.store
    }

    /// Records a request the front-end refused before it became a turn (an invalid body).
    pub async fn reject(&self, meta: &RequestMeta, body: &[u8], message: String) {
        let params = refused_params(body);
        let model = params
            .get("model")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_owned();
        let meta = RequestMeta {
            stream: params.get("stream").and_then(|v| v.as_bool()) == Some(true),
            params: params.into(),
            ..meta.clone()
        };
        self.record_refusal(&meta, &model, "invalid_request", message)
            .await;
    }

    /// Resolves the request to an upstream chat and starts the answer. Refusals and failures
    /// before the first upstream event are recorded here and returned.
    pub async fn start(&self, mut req: TurnRequest) -> Result<Answer, StartError> {
        let target = self.resolve(&req).await?;
        let turn = self.begin(&req, target).await?;
        // A legacy completion's prompt is plain text; everything else is a chat.
        let prompt_tokens = match req.messages.as_slice() {
            [prompt] if req.meta.endpoint == "completions" => {
                u64::from(super::estimate_tokens(&prompt.content))
            }
            messages => super::estimate_prompt(messages, &req.tools),
        };
        let shaper = Shaper::new(&mut req);
        Ok(Answer::new(
            self.clone(),
            turn,
            &req.limits,
            shaper,
            prompt_tokens,
        ))
    }

    /// The upstream model and switches for the requested name. When the upstream cannot
    /// list its models right now (failing, or not within [`MODEL_LIST_WAIT`] on a cold
    /// cache), the name is tried as an upstream id rather than failing or waiting
    /// ([`assume_model`]).
    async fn resolve(&self, req: &TurnRequest) -> Result<Target, Refusal> {
        let client = self.accounts.client();
        let deadline = client.deadline();
        let name = self.alias(&req.model);
        let wait = (client.first_byte_timeout() / 4).min(MODEL_LIST_WAIT);
        let creds = self.accounts.ambient().await;
        let resolved = match client.list_models_within(&creds, wait).await {
            Ok(models) => match resolve_model(name, &models) {
                Some(resolved) => resolved,
                None => {
                    let refusal = Refusal::UnknownModel(req.model.clone());
                    self.record_refusal(
                        &req.meta,
                        &req.model,
                        "model_not_found",
                        refusal.to_string(),
                    )
                    .await;
                    return Err(refusal);
                }
            },
            Err(err) => {
                tracing::debug!(
                    kind = err.kind().as_str(),
                    "model list unavailable; using the model name as given"
                );
                assume_model(name)
            }
        };
        Ok(Target {
            deadline,
            thinking: req.thinking.unwrap_or(resolved.thinking),
            chat_type: if req.search.unwrap_or(resolved.search) {
                ChatType::Search
            } else {
                ChatType::Text
            },
            model: resolved.upstream,
        })
    }

    /// Withdraws a stored response from the Responses API (`DELETE /v1/responses/{id}`); the
    /// exchange stays in the archive. Whether it was retrievable.
    pub async fn withdraw_response(&self, id: &str) -> store::Result<bool> {
        self.store.withdraw_response(id).await
    }

    /// Forgets conversations idle since before `cutoff_ms` (unix ms), for an in-memory store
    /// that would otherwise grow with every exchange.
    pub async fn forget_idle(&self, cutoff_ms: i64) {
        if let Err(err) = self.store.prune(cutoff_ms).await {
            tracing::warn!("cannot prune the in-memory store: {err}");
        }
    }

    /// How many sessions had a turn within `window` (for `active_sessions`); 0 when the store
    /// cannot say.
    pub async fn active_sessions(&self, window: Duration) -> u64 {
        let since = crate::time::unix_now_ms().saturating_sub(crate::time::duration_ms(window));
        match self.store.active_sessions(since).await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!("cannot count the active sessions: {err}");
                0
            }
        }
    }

    /// Waits until everything recorded so far is committed.
    pub async fn flush(&self) {
        if let Err(err) = self.store.flush().await {
            tracing::warn!("could not flush the database: {err}");
        }
    }

    /// Takes on the cooldowns other replicas recorded (PostgreSQL only: one process with
    /// SQLite has them all in memory already), before a turn picks its account. With a
    /// single account cooldown steers nothing, and nothing is read.
    pub(super) async fn adopt_cooldowns(&self) {
        if self.accounts.len() < 2 {
            return;
        }
        match self.store.cooldowns().await {
            Ok(cooldowns) => {
                for (account, until_ms) in cooldowns {
                    self.accounts.adopt_cooldown(&account, until_ms);
                }
            }
            Err(err) => tracing::debug!("cannot read the shared cooldowns: {err}"),
        }
    }

    /// Records the cooldown `lease`'s account is in (after a rate limit), so the other
    /// replicas send new conversations elsewhere too. Nothing when it is not cooling down.
    pub(super) async fn share_cooldown(&self, lease: &crate::accounts::Lease) {
        if self.accounts.len() < 2 {
            return;
        }
        if let Some(until_ms) = self.accounts.cooldown_of(lease.name())
            && let Err(err) = self.store.record_cooldown(lease.name(), until_ms).await
        {
            tracing::debug!("cannot share the cooldown of `{}`: {err}", lease.name());
        }
    }

    /// Store failures never fail a chat: they are logged (without content) and the answer
    /// still reaches the user. When the store cannot write at all (a full disk…), the store
    /// logs the incident once and `/health` shows it, so each request adds only a debug line.
    pub(super) fn store_write(&self, result: store::Result<()>) {
        match result {
            Ok(()) => {}
            Err(err @ store::Error::Unwritable { .. }) => {
                tracing::debug!("could not record to the database: {err}");
            }
            Err(err) => tracing::warn!("could not record to the database: {err}"),
        }
    }
}
