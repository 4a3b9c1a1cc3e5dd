//! The HTTP client for chat.qwen.ai: one connection pool, the endpoints of PROTOCOL.md §1,
//! retries and timeouts.
//!
//! Every request goes out with the browser headers of [`super::headers`]; every failure comes
//! back through [`super::classify`], so callers only ever see a [`QwenError`] class. Retries
//! happen only where they are safe: for retryable classes and, for completions, only before
//! the first event was read, so a caller never sees an answer start twice. Streams have no
//! total deadline (answers can run for minutes); instead the wait for the first event and
//! each gap between chunks are bounded separately.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, REFERER};
use reqwest::{Method, Url};
use serde_json::{Value, json};

use super::classify::{classify_json, short_detail};
use super::models::parse_models;
use super::transport::{Head, read_body, transport_error};
use super::{CompletionRequest, CompletionStream, ErrorKind, Model, QwenError, headers};

/// Largest error body we read to classify it; the interesting part is always at the start.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Largest JSON body we accept (the model list is the biggest, well under this).
const JSON_BODY_LIMIT: usize = 16 * 1024 * 1024;
const BACKOFF_BASE: Duration = Duration::from_millis(250);
const BACKOFF_CAP: Duration = Duration::from_secs(4);
/// `Accept` of the web app's JSON calls (axios default).
const ACCEPT_JSON: &str = "application/json, text/plain, */*";

/// Everything the client needs to talk to the upstream. Built from `config::Config`; kept
/// separate so this module does not depend on how configuration is loaded.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// e.g. `https://chat.qwen.ai` (no trailing slash needed).
    pub base_url: String,
    /// The whole browser `Cookie` header; must contain `token=<JWT>`.
    pub cookies: String,
    /// The `bx-umidtoken` header value.
    pub umid_token: String,
    /// `bx-v` header.
    pub bx_v: String,
    /// `version` header (web bundle version).
    pub web_version: String,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Attempts for retryable failures before the first byte (>= 1).
    pub retry_max_attempts: u32,
    /// TCP/TLS connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed from sending a request to the first event of the answer.
    pub first_byte_timeout: Duration,
    /// Largest allowed gap between two chunks once streaming.
    pub idle_timeout: Duration,
    /// How long the model list is cached.
    pub models_cache: Duration,
    /// Also keep the model list in this file, so one-shot commands (`qwenctl models`,
    /// `qwenctl chat`) share the cache across runs. `None`: memory only.
    pub models_cache_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for UpstreamConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpstreamConfig")
            .field("base_url", &self.base_url)
            .field("cookies", &"<redacted>")
            .field("umid_token", &"<redacted>")
            .finish_non_exhaustive()
    }
}

/// A cheap-to-clone handle on one connection pool to the upstream.
#[derive(Clone)]
pub struct QwenClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    retry_max_attempts: u32,
    connect_timeout: Duration,
    first_byte_timeout: Duration,
    idle_timeout: Duration,
    models_cache: Duration,
    models_cache_file: Option<std::path::PathBuf>,
    /// Shared by all clones, so the proxy and the CLI see one cache.
    models: Mutex<Option<(Instant, Arc<Vec<Model>>)>>,
    /// Held while the list is being fetched, so a burst of requests on a cold cache makes
    /// one upstream call instead of one each.
    models_refresh: tokio::sync::Mutex<()>,
}

/// The on-disk form of the model cache.
#[derive(serde::Serialize, serde::Deserialize)]
struct ModelsFile {
    base_url: String,
    fetched_at_ms: u64,
    models: Vec<Model>,
}

impl std::fmt::Debug for QwenClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QwenClient")
            .field("base_url", &self.inner.base.as_str())
            .finish_non_exhaustive()
    }
}

impl QwenClient {
    pub fn new(config: UpstreamConfig) -> Result<Self, QwenError> {
        let base_text = config.base_url.trim().trim_end_matches('/');
        let base = Url::parse(base_text)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| {
                QwenError::Protocol("the upstream base URL is not an http(s) URL".into())
            })?;
        let origin = base.origin().ascii_serialization();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .gzip(true)
            .brotli(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .default_headers(headers::fixed_headers(&config, &origin)?)
            .build()
            .map_err(|e| {
                QwenError::Protocol(format!(
                    "cannot build the HTTP client: {}",
                    short_detail(&e.to_string())
                ))
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                retry_max_attempts: config.retry_max_attempts.max(1),
                connect_timeout: config.connect_timeout,
                first_byte_timeout: config.first_byte_timeout,
                idle_timeout: config.idle_timeout,
                models_cache: config.models_cache,
                models_cache_file: config.models_cache_file.clone(),
                models: Mutex::new(None),
                models_refresh: tokio::sync::Mutex::new(()),
            }),
        })
    }

    /// The upstream's models, cached for `models_cache`.
    pub async fn list_models(&self) -> Result<Arc<Vec<Model>>, QwenError> {
        if let Some(models) = self.cached_models() {
            return Ok(models);
        }
        let _refreshing = self.inner.models_refresh.lock().await;
        // Someone else may have fetched it while we waited.
        if let Some(models) = self.cached_models() {
            return Ok(models);
        }
        if let Some((age, models)) = self.read_models_file() {
            let models = Arc::new(models);
            *self.models_slot() = Some((Instant::now() - age, Arc::clone(&models)));
            return Ok(models);
        }
        let models = Arc::new(
            self.with_retry("list_models", || self.fetch_models())
                .await?,
        );
        *self.models_slot() = Some((Instant::now(), Arc::clone(&models)));
        self.write_models_file(&models);
        Ok(models)
    }

    /// A fresh model list from the cache file, with its age.
    fn read_models_file(&self) -> Option<(Duration, Vec<Model>)> {
        let path = self.inner.models_cache_file.as_ref()?;
        let cached: ModelsFile = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
        let age = unix_time().checked_sub(Duration::from_millis(cached.fetched_at_ms))?;
        (cached.base_url == self.inner.base.as_str() && age < self.inner.models_cache)
            .then_some((age, cached.models))
    }

    /// Best effort: a cache that cannot be written only costs a refetch next time.
    fn write_models_file(&self, models: &[Model]) {
        let Some(path) = &self.inner.models_cache_file else {
            return;
        };
        let cached = ModelsFile {
            base_url: self.inner.base.to_string(),
            fetched_at_ms: unix_time().as_millis() as u64,
            models: models.to_vec(),
        };
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, serde_json::to_vec(&cached).unwrap_or_default()));
        if let Err(err) = written {
            tracing::debug!("cannot write the model cache {}: {err}", path.display());
        }
    }

    /// Opens a new upstream chat for `model`; returns its id.
    pub async fn new_chat(&self, model: &str) -> Result<String, QwenError> {
        let body = json!({
            "title": "New Chat",
            "models": [model],
            "chat_mode": "normal",
            "chat_type": "t2t",
            "timestamp": unix_time().as_millis() as u64,
        });
        let path = ["api", "v2", "chats", "new"];
        let reply = self
            .with_retry("new_chat", || {
                self.json_call(Method::POST, &path, Some(&body))
            })
            .await?;
        chat_id_of(&reply)
            .ok_or_else(|| QwenError::Protocol("the new chat reply carries no chat id".into()))
    }

    /// Sends one user turn and returns the stream once its first event has arrived.
    pub async fn complete(&self, req: &CompletionRequest) -> Result<CompletionStream, QwenError> {
        self.with_retry("complete", || self.complete_once(req))
            .await
    }

    /// Proves the credentials: `Ok` when the upstream accepts them.
    pub async fn check_auth(&self) -> Result<(), QwenError> {
        let path = ["api", "v1", "auths", ""];
        self.with_retry("check_auth", || self.json_call(Method::GET, &path, None))
            .await
            .map(drop)
    }

    fn cached_models(&self) -> Option<Arc<Vec<Model>>> {
        self.models_slot()
            .as_ref()
            .filter(|(fetched, _)| fetched.elapsed() < self.inner.models_cache)
            .map(|(_, models)| Arc::clone(models))
    }

    fn models_slot(&self) -> std::sync::MutexGuard<'_, Option<(Instant, Arc<Vec<Model>>)>> {
        // A panic elsewhere while holding the lock cannot leave the cache half-written (it is
        // one assignment), so a poisoned lock is still usable.
        self.inner
            .models
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The v2 list, or the legacy one when v2 fails for a reason the legacy endpoint may not
    /// share. Credential, WAF and rate-limit failures would only repeat there.
    async fn fetch_models(&self) -> Result<Vec<Model>, QwenError> {
        let v2 = self
            .json_call(Method::GET, &["api", "v2", "models", ""], None)
            .await;
        let err = match v2.and_then(|body| parse_models(&body)) {
            Ok(models) => return Ok(models),
            Err(err) if is_account_level(&err) => return Err(err),
            Err(err) => err,
        };
        tracing::debug!(
            kind = err.kind().as_str(),
            "v2 model list failed, trying /api/models"
        );
        let legacy = self.json_call(Method::GET, &["api", "models"], None).await;
        legacy
            .and_then(|body| parse_models(&body))
            .map_err(|legacy_err| {
                if is_account_level(&legacy_err) {
                    legacy_err
                } else {
                    err
                }
            })
    }

    async fn complete_once(&self, req: &CompletionRequest) -> Result<CompletionStream, QwenError> {
        let body = completion_body(req);
        let mut url = self.url(&["api", "v2", "chat", "completions"])?;
        url.query_pairs_mut().append_pair("chat_id", &req.chat_id);
        let referer = self.url(&["c", &req.chat_id])?;
        let builder = self
            .request(Method::POST, url, referer.as_str())
            .header(ACCEPT, "text/event-stream")
            .header("x-accel-buffering", "no")
            .json(&body);
        let connect_timeout = self.inner.connect_timeout;
        let idle_timeout = self.inner.idle_timeout;
        let first_byte = async move {
            let response = builder
                .send()
                .await
                .map_err(|e| transport_error(e, connect_timeout))?;
            let head = Head::of(&response);
            tracing::debug!(status = head.status, "completion response");
            if !head.is_success() || head.has_type("text/html") || head.has_type("json") {
                let bytes = read_body(response, ERROR_BODY_LIMIT, connect_timeout).await?;
                return Err(head.classify(&bytes));
            }
            let chunks = response
                .bytes_stream()
                .map(move |chunk| chunk.map_err(|e| transport_error(e, connect_timeout)));
            let mut stream = CompletionStream::from_byte_stream(chunks, idle_timeout, body);
            stream.prime().await?;
            Ok(stream)
        };
        let limit = self.inner.first_byte_timeout;
        tokio::time::timeout(limit, first_byte)
            .await
            .unwrap_or(Err(QwenError::Timeout(limit)))
    }

    /// One JSON request/response, bounded as a whole by the first-byte timeout (these bodies
    /// are small). Failure shapes in a 2xx JSON body are classified too.
    async fn json_call(
        &self,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
    ) -> Result<Value, QwenError> {
        let url = self.url(path)?;
        let referer = self.url(&["c", "new-chat"])?;
        let mut builder = self
            .request(method, url, referer.as_str())
            .header(ACCEPT, ACCEPT_JSON);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let connect_timeout = self.inner.connect_timeout;
        let call = async move {
            let response = builder
                .send()
                .await
                .map_err(|e| transport_error(e, connect_timeout))?;
            let head = Head::of(&response);
            let limit = if head.is_success() {
                JSON_BODY_LIMIT
            } else {
                ERROR_BODY_LIMIT
            };
            let bytes = read_body(response, limit, connect_timeout).await?;
            if !head.is_success() || head.has_type("text/html") {
                return Err(head.classify(&bytes));
            }
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) if classify_json(&value).is_none() => Ok(value),
                _ => Err(head.classify(&bytes)),
            }
        };
        let limit = self.inner.first_byte_timeout;
        let result = tokio::time::timeout(limit, call)
            .await
            .unwrap_or(Err(QwenError::Timeout(limit)));
        if let Err(err) = &result {
            tracing::debug!(
                path = path.join("/"),
                kind = err.kind().as_str(),
                "upstream call failed"
            );
        }
        result
    }

    /// A request with the per-request headers; the fixed ones are the client's defaults.
    fn request(&self, method: Method, url: Url, referer: &str) -> reqwest::RequestBuilder {
        self.inner
            .http
            .request(method, url)
            .header("timezone", headers::js_date_now())
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header(REFERER, referer)
    }

    /// `base` + path segments, each percent-encoded, so a chat id cannot change the path.
    fn url(&self, segments: &[&str]) -> Result<Url, QwenError> {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .map_err(|()| QwenError::Protocol("the upstream base URL cannot take a path".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// Runs `op` up to `retry_max_attempts` times while it fails with a retryable error,
    /// sleeping an exponential backoff with full jitter in between (jitter keeps many clients
    /// that failed together from retrying together).
    async fn with_retry<T, F, Fut>(
        &self,
        operation: &'static str,
        mut op: F,
    ) -> Result<T, QwenError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, QwenError>>,
    {
        let mut attempt = 1;
        loop {
            match op().await {
                Err(err) if err.is_retryable() && attempt < self.inner.retry_max_attempts => {
                    let wait = backoff(attempt);
                    tracing::info!(
                        operation,
                        attempt,
                        kind = err.kind().as_str(),
                        error = %err,
                        wait_ms = wait.as_millis() as u64,
                        "upstream request failed, retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                result => return result,
            }
        }
    }
}

/// The completion request body of PROTOCOL.md §4 for one user turn. `fid` and the
/// timestamps are fresh on every call.
pub fn completion_body(req: &CompletionRequest) -> Value {
    let now = unix_time().as_secs();
    let parent = req.parent_id.as_deref().filter(|p| !p.is_empty());
    let chat_type = req.chat_type.as_str();
    json!({
        "stream": true,
        "version": "2.1",
        "incremental_output": true,
        "chat_id": req.chat_id,
        "chatId": req.chat_id,
        "chat_mode": "normal",
        "model": req.model,
        "parent_id": parent,
        "parentId": parent,
        "messages": [{
            "id": null,
            "fid": uuid::Uuid::new_v4().to_string(),
            "parentId": parent,
            "parent_id": parent,
            "childrenIds": [],
            "role": "user",
            "content": req.content,
            "user_action": "chat",
            "files": [],
            "timestamp": now,
            "models": [req.model],
            "model": "",
            "chat_type": chat_type,
            "sub_chat_type": chat_type,
            "feature_config": {
                "thinking_enabled": req.thinking,
                // Without it the upstream drops `phase` and the stream cannot be read.
                "output_schema": "phase",
                "research_mode": "normal",
                "auto_thinking": false,
                "thinking_mode": if req.thinking { "Thinking" } else { "Fast" },
                "thinking_format": "summary",
                "auto_search": false,
            },
            "extra": {"meta": {"subChatType": chat_type}},
        }],
        "timestamp": now,
    })
}

/// `data.id`, or the `data.chat.chat_id` shape some deployments return.
fn chat_id_of(reply: &Value) -> Option<String> {
    reply
        .pointer("/data/id")
        .or_else(|| reply.pointer("/data/chat/chat_id"))
        .and_then(Value::as_str)
        .filter(|id| !id.trim().is_empty())
        .map(str::to_owned)
}

/// Failures tied to the account or the client, not to one endpoint.
fn is_account_level(err: &QwenError) -> bool {
    matches!(
        err.kind(),
        ErrorKind::Auth | ErrorKind::Blocked | ErrorKind::RateLimited
    )
}

/// Full-jitter exponential backoff before retry number `attempt` (1-based).
fn backoff(attempt: u32) -> Duration {
    let ceiling = BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(8))
        .min(BACKOFF_CAP);
    ceiling.mul_f64(fastrand::f64())
}

fn unix_time() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
