//! The HTTP client for chat.qwen.ai: one connection pool, the endpoints of PROTOCOL.md §1,
//! where they are retried, and their timeouts.
//!
//! Every request goes out with the browser headers of [`super::headers`], the caller's
//! [`Credentials`] (the account is an explicit input of every call: with several accounts
//! they differ from call to call) and a body from `bodies.rs`; every failure comes back
//! through [`super::classify`] and, on its way out, through the one redaction step
//! ([`super::redact`]), so callers only ever see a [`QwenError`] class that holds no known
//! secret. The sign-in and the `bx-umidtoken` fetch (design.md §12) are calls like the
//! others; deciding when to make them is the account pool's business (`crate::accounts`). Retries (`retry.rs`) happen only
//! where they are safe: for retryable classes and, for completions, only before the first
//! event was read, so a caller never sees an answer start twice. Every call has one deadline
//! for all its attempts, `QWEN_FIRST_BYTE_TIMEOUT` from its start unless the caller gives
//! an earlier one (a turn shares one deadline between its new chat and its completion).
//! Streams have no total deadline (answers can run for minutes); instead each gap between
//! events is bounded, and so is the answer's size (`MAX_ANSWER_BYTES`). The model list goes
//! through `models_cache.rs`, which never makes a chat wait long.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, REFERER};
use reqwest::{Method, Url};
use serde_json::Value;
use tokio::time::Instant;

use super::bodies::{chat_id_of, completion_body, new_chat_body, signin_body, token_of};
use super::classify::{classify_json, classify_signin, short_detail};
use super::credentials::Credentials;
use super::models::parse_models;
use super::models_cache::ModelsCache;
use super::redact::Redactor;
use super::retry::with_retry;
use super::transport::{Head, read_body, read_whole_body, transport_error};
use super::{CompletionRequest, CompletionStream, ErrorKind, Model, QwenError, headers};

/// Largest error body we read to classify it; the interesting part is always at the start.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// `Accept` of the web app's JSON calls (axios default).
const ACCEPT_JSON: &str = "application/json, text/plain, */*";

/// Everything the client needs to talk to the upstream. Built from `config::Config`; kept
/// separate so this module does not depend on how configuration is loaded.
#[derive(Clone)]
pub struct UpstreamConfig {
    /// e.g. `https://chat.qwen.ai` (no trailing slash needed).
    pub base_url: String,
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
    /// Time allowed from sending a request to the first event of the answer, all attempts
    /// together.
    pub first_byte_timeout: Duration,
    /// Largest allowed gap between two events once streaming.
    pub idle_timeout: Duration,
    /// Largest answer (text of a stream, or a whole JSON body) accepted, in bytes.
    pub max_answer_bytes: usize,
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
            .finish_non_exhaustive()
    }
}

/// Idle upstream connections kept for reuse. Each costs ~45 KiB (hyper's read and write
/// buffers, its request channel, its task) and a descriptor; unbounded, a burst of 10,000
/// streams left 10,000 of them for `pool_idle_timeout` (docs/BENCHMARKS.md, "Memory").
/// Past this many, a connection whose request ended is closed instead of kept.
const MAX_IDLE_CONNECTIONS: usize = 256;

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
    max_answer_bytes: usize,
    /// Knows every secret the program holds (taught by the account pool as they appear);
    /// every error passes it on its way out.
    redactor: Arc<Redactor>,
    /// Shared by all clones, so the proxy and the CLI see one cache.
    models: ModelsCache,
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
            .pool_max_idle_per_host(MAX_IDLE_CONNECTIONS)
            .default_headers(headers::fixed_headers(&config, &origin)?)
            .build()
            .map_err(|e| {
                QwenError::Protocol(format!(
                    "cannot build the HTTP client: {}",
                    short_detail(&e.to_string())
                ))
            })?;
        let models = ModelsCache::new(
            config.models_cache,
            config.models_cache_file.clone(),
            base.as_str().to_owned(),
        );
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                retry_max_attempts: config.retry_max_attempts.max(1),
                connect_timeout: config.connect_timeout,
                first_byte_timeout: config.first_byte_timeout,
                idle_timeout: config.idle_timeout,
                max_answer_bytes: config.max_answer_bytes,
                redactor: Arc::new(Redactor::default()),
                models,
            }),
        })
    }

    /// `QWEN_FIRST_BYTE_TIMEOUT`: how long a call may take until its first event or reply,
    /// all attempts together.
    pub fn first_byte_timeout(&self) -> Duration {
        self.inner.first_byte_timeout
    }

    /// The deadline of a call that starts now.
    pub fn deadline(&self) -> Instant {
        Instant::now() + self.inner.first_byte_timeout
    }

    /// The redaction step every error passes; whoever learns a secret (a password, a fresh
    /// token) teaches it here before anything can echo it.
    pub(crate) fn redactor(&self) -> &Arc<Redactor> {
        &self.inner.redactor
    }

    /// The upstream's models, cached for `models_cache` (served stale while a refresh runs);
    /// waits for a fetch when nothing is cached.
    pub async fn list_models(&self, creds: &Credentials) -> Result<Arc<Vec<Model>>, QwenError> {
        self.models(creds, None).await
    }

    /// [`Self::list_models`], but waiting at most `wait` for a fetch; the fetch goes on after
    /// that, for the next caller. `Err(Timeout)` when the list did not come in time.
    pub async fn list_models_within(
        &self,
        creds: &Credentials,
        wait: Duration,
    ) -> Result<Arc<Vec<Model>>, QwenError> {
        self.models(creds, Some(wait)).await
    }

    async fn models(
        &self,
        creds: &Credentials,
        wait: Option<Duration>,
    ) -> Result<Arc<Vec<Model>>, QwenError> {
        let client = self.clone();
        let creds = creds.clone();
        let fetch = move || async move {
            let deadline = client.deadline();
            client
                .with_retry("list_models", deadline, || client.fetch_models(&creds))
                .await
        };
        self.inner.models.get(fetch, wait).await
    }

    /// Opens a new upstream chat for `model`; returns its id.
    pub async fn new_chat(&self, creds: &Credentials, model: &str) -> Result<String, QwenError> {
        self.new_chat_by(creds, model, self.deadline()).await
    }

    /// [`Self::new_chat`] with the deadline of the turn it belongs to.
    pub async fn new_chat_by(
        &self,
        creds: &Credentials,
        model: &str,
        deadline: Instant,
    ) -> Result<String, QwenError> {
        let body = new_chat_body(model);
        let path = ["api", "v2", "chats", "new"];
        let reply = self
            .with_retry("new_chat", deadline, || {
                self.json_call(creds, Method::POST, &path, Some(&body))
            })
            .await?;
        chat_id_of(&reply)
            .ok_or_else(|| QwenError::Protocol("the new chat reply carries no chat id".into()))
    }

    /// Sends one user turn and returns the stream once its first event has arrived, within
    /// `QWEN_FIRST_BYTE_TIMEOUT` for all attempts.
    pub async fn complete(
        &self,
        creds: &Credentials,
        req: &CompletionRequest,
    ) -> Result<CompletionStream, QwenError> {
        self.complete_by(creds, req, self.deadline()).await
    }

    /// [`Self::complete`] with the deadline of the turn it belongs to.
    pub async fn complete_by(
        &self,
        creds: &Credentials,
        req: &CompletionRequest,
        deadline: Instant,
    ) -> Result<CompletionStream, QwenError> {
        self.with_retry("complete", deadline, || self.complete_once(creds, req))
            .await
    }

    /// Proves the credentials: `Ok` when the upstream accepts them.
    pub async fn check_auth(&self, creds: &Credentials) -> Result<(), QwenError> {
        let path = ["api", "v1", "auths", ""];
        self.with_retry("check_auth", self.deadline(), || {
            self.json_call(creds, Method::GET, &path, None)
        })
        .await
        .map(drop)
    }

    /// Logs in by email and the SHA-256 hex of the password (PROTOCOL.md §1, design.md
    /// §12) with the shared anonymous credentials; returns the token (a JWT). A refusal
    /// (wrong email or password) is [`QwenError::Auth`]; the caller names the account.
    pub async fn sign_in(
        &self,
        creds: &Credentials,
        email: &str,
        password_sha256: &str,
        deadline: Instant,
    ) -> Result<String, QwenError> {
        let body = signin_body(email, password_sha256);
        let url = self.url(&["api", "v1", "auths", "signin"])?;
        let referer = self.url(&["auth"])?;
        let connect_timeout = self.inner.connect_timeout;
        let reply = self
            .with_retry("sign_in", deadline, || async {
                let builder = self
                    .request(creds, Method::POST, url.clone(), referer.as_str())
                    .header(ACCEPT, ACCEPT_JSON)
                    .json(&body);
                let response = builder
                    .send()
                    .await
                    .map_err(|e| transport_error(e, connect_timeout))?;
                let head = Head::of(&response);
                if !head.is_success() || head.has_type("text/html") {
                    let bytes = read_body(response, ERROR_BODY_LIMIT, connect_timeout).await?;
                    return Err(classify_signin(&head, &bytes));
                }
                let bytes = read_body(response, ERROR_BODY_LIMIT, connect_timeout).await?;
                match serde_json::from_slice::<Value>(&bytes) {
                    Ok(value) if classify_json(&value).is_none() => Ok(value),
                    _ => Err(head.classify(&bytes)),
                }
            })
            .await?;
        let token = token_of(&reply)
            .ok_or_else(|| QwenError::Protocol("the sign-in reply carries no token".into()))?;
        // Taught before anything else sees it.
        self.inner.redactor.learn(email, &token);
        Ok(token)
    }

    /// Fetches a `bx-umidtoken` from `url` (`QWEN_UMID_URL`, PROTOCOL.md §2.2): the
    /// argument of `umx.wu('…')` or `__fycb('…')` in the body, else the `ETag`. No account
    /// credentials go to this third party.
    pub async fn fetch_umid(&self, url: &str, deadline: Instant) -> Result<String, QwenError> {
        let url = Url::parse(url.trim())
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
            .ok_or_else(|| QwenError::Protocol("QWEN_UMID_URL is not an http(s) URL".into()))?;
        let connect_timeout = self.inner.connect_timeout;
        let token = self
            .with_retry("fetch_umid", deadline, || async {
                let response = self
                    .inner
                    .http
                    .get(url.clone())
                    .send()
                    .await
                    .map_err(|e| transport_error(e, connect_timeout))?;
                let head = Head::of(&response);
                let etag = response
                    .headers()
                    .get(reqwest::header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(|v| {
                        v.trim()
                            .trim_start_matches("W/")
                            .trim_matches('"')
                            .to_owned()
                    });
                let bytes = read_body(response, ERROR_BODY_LIMIT, connect_timeout).await?;
                if !head.is_success() {
                    return Err(head.classify(&bytes));
                }
                super::bodies::umid_of(&String::from_utf8_lossy(&bytes))
                    .or(etag.filter(|t| !t.is_empty()))
                    .ok_or_else(|| {
                        QwenError::Protocol("the umid endpoint answered without a token".into())
                    })
            })
            .await?;
        self.inner.redactor.learn("bx-umidtoken", &token);
        Ok(token)
    }

    /// The v2 list, or the legacy one when v2 fails for a reason the legacy endpoint may not
    /// share. Credential, WAF and rate-limit failures would only repeat there.
    async fn fetch_models(&self, creds: &Credentials) -> Result<Vec<Model>, QwenError> {
        let v2 = self
            .json_call(creds, Method::GET, &["api", "v2", "models", ""], None)
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
        let legacy = self
            .json_call(creds, Method::GET, &["api", "models"], None)
            .await;
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

    /// One attempt; the caller bounds it by the deadline.
    async fn complete_once(
        &self,
        creds: &Credentials,
        req: &CompletionRequest,
    ) -> Result<CompletionStream, QwenError> {
        let body = completion_body(req);
        let mut url = self.url(&["api", "v2", "chat", "completions"])?;
        url.query_pairs_mut().append_pair("chat_id", &req.chat_id);
        let referer = self.url(&["c", &req.chat_id])?;
        let builder = self
            .request(creds, Method::POST, url, referer.as_str())
            .header(ACCEPT, "text/event-stream")
            .header("x-accel-buffering", "no")
            .json(&body);
        let connect_timeout = self.inner.connect_timeout;
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
        let mut stream = CompletionStream::from_byte_stream(chunks, self.inner.idle_timeout, body)
            .with_max_answer_bytes(self.inner.max_answer_bytes)
            .with_redactor(Arc::clone(&self.inner.redactor));
        stream.prime().await?;
        Ok(stream)
    }

    /// One JSON request/response (the caller bounds it by the deadline). A success body
    /// larger than `MAX_ANSWER_BYTES` is refused; failure shapes in a 2xx JSON body are
    /// classified too.
    async fn json_call(
        &self,
        creds: &Credentials,
        method: Method,
        path: &[&str],
        body: Option<&Value>,
    ) -> Result<Value, QwenError> {
        let url = self.url(path)?;
        let referer = self.url(&["c", "new-chat"])?;
        let mut builder = self
            .request(creds, method, url, referer.as_str())
            .header(ACCEPT, ACCEPT_JSON);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        let connect_timeout = self.inner.connect_timeout;
        let result = async {
            let response = builder
                .send()
                .await
                .map_err(|e| transport_error(e, connect_timeout))?;
            let head = Head::of(&response);
            if !head.is_success() || head.has_type("text/html") {
                let bytes = read_body(response, ERROR_BODY_LIMIT, connect_timeout).await?;
                return Err(head.classify(&bytes));
            }
            let limit = self.inner.max_answer_bytes;
            let bytes = read_whole_body(response, limit, connect_timeout).await?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(value) if classify_json(&value).is_none() => Ok(value),
                _ => Err(head.classify(&bytes)),
            }
        }
        .await;
        if let Err(err) = &result {
            tracing::debug!(
                path = path.join("/"),
                kind = err.kind().as_str(),
                "upstream call failed"
            );
        }
        result
    }

    /// A request with the per-request headers and the call's credentials; the fixed
    /// headers are the client's defaults.
    fn request(
        &self,
        creds: &Credentials,
        method: Method,
        url: Url,
        referer: &str,
    ) -> reqwest::RequestBuilder {
        let builder = self
            .inner
            .http
            .request(method, url)
            .header("timezone", headers::js_date_now())
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header(REFERER, referer);
        creds.apply(builder)
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

    /// [`super::retry::with_retry`] with this client's `RETRY_MAX_ATTEMPTS`, every attempt
    /// cut at `deadline` (a [`QwenError::Timeout`] of `QWEN_FIRST_BYTE_TIMEOUT`) and its
    /// error redacted before anything (the retry log included) sees it.
    async fn with_retry<T, Fut>(
        &self,
        operation: &'static str,
        deadline: Instant,
        mut op: impl FnMut() -> Fut,
    ) -> Result<T, QwenError>
    where
        Fut: Future<Output = Result<T, QwenError>>,
    {
        let limit = self.inner.first_byte_timeout;
        let redactor = &self.inner.redactor;
        let attempt = || {
            let attempt = tokio::time::timeout_at(deadline, op());
            async move {
                attempt
                    .await
                    .unwrap_or(Err(QwenError::Timeout(limit)))
                    .map_err(|err| redactor.error(err))
            }
        };
        with_retry(self.inner.retry_max_attempts, operation, deadline, attempt).await
    }
}

/// Failures tied to the account or the client, not to one endpoint.
fn is_account_level(err: &QwenError) -> bool {
    matches!(
        err.kind(),
        ErrorKind::Auth | ErrorKind::Blocked | ErrorKind::RateLimited
    )
}

#[cfg(test)]
#[path = "client_tests.rs"]
mod tests;
