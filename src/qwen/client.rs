//! The HTTP client for chat.qwen.ai: one connection pool, the endpoints of PROTOCOL.md §1,
//! where they are retried, and their timeouts.
//!
//! Every request goes out with the browser headers of [`super::headers`] and a body from
//! `bodies.rs`; every failure comes back through [`super::classify`], so callers only
//! ever see a [`QwenError`] class. Retries (`retry.rs`) happen only where they are safe:
//! for retryable classes and, for completions, only before the first event was read, so a
//! caller never sees an answer start twice. Streams have no total deadline (answers can run
//! for minutes); instead the wait for the first event and each gap between chunks are bounded
//! separately. The model list goes through `models_cache.rs`.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{ACCEPT, REFERER};
use reqwest::{Method, Url};
use serde_json::Value;

use super::bodies::{chat_id_of, completion_body, new_chat_body};
use super::classify::{classify_json, short_detail};
use super::models::parse_models;
use super::models_cache::ModelsCache;
use super::retry::with_retry;
use super::transport::{Head, read_body, transport_error};
use super::{CompletionRequest, CompletionStream, ErrorKind, Model, QwenError, headers};

/// Largest error body we read to classify it; the interesting part is always at the start.
const ERROR_BODY_LIMIT: usize = 64 * 1024;
/// Largest JSON body we accept (the model list is the biggest, well under this).
const JSON_BODY_LIMIT: usize = 16 * 1024 * 1024;
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
                models,
            }),
        })
    }

    /// The upstream's models, cached for `models_cache`.
    pub async fn list_models(&self) -> Result<Arc<Vec<Model>>, QwenError> {
        self.inner
            .models
            .get_or_fetch(|| self.with_retry("list_models", || self.fetch_models()))
            .await
    }

    /// Opens a new upstream chat for `model`; returns its id.
    pub async fn new_chat(&self, model: &str) -> Result<String, QwenError> {
        let body = new_chat_body(model);
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

    /// [`super::retry::with_retry`] with this client's `RETRY_MAX_ATTEMPTS`.
    async fn with_retry<T, Fut>(
        &self,
        operation: &'static str,
        op: impl FnMut() -> Fut,
    ) -> Result<T, QwenError>
    where
        Fut: Future<Output = Result<T, QwenError>>,
    {
        with_retry(self.inner.retry_max_attempts, operation, op).await
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
