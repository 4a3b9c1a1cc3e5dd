//! A faithful, strict fake of chat.qwen.ai for offline tests, benchmarks and
//! `serve --fake-upstream`.
//!
//! The fake follows `qwen-protocol/PROTOCOL.md` byte for byte where clients could notice
//! (SSE framing, Python-style JSON, the hand-formatted `response.created` line) and is as
//! strict as the real service where clients could get it wrong (bearer token, `chat_id` in
//! query and body, exactly one user message, `parent_id` chaining). It keeps chats and turns
//! in memory so its deterministic answers can prove that context was carried across turns,
//! and it can inject every upstream failure the proxy has to classify (see [`FAULT_NAMES`]).
//!
//! Everything it remembers is bounded (see [`Limits`]): the request log is a ring of the
//! most recent requests and chats are forgotten least recently used first, so a fake that
//! serves for hours (`serve --fake-upstream`, the benchmarks) holds steady memory under any
//! load, while the defaults keep far more than any test looks at.
//!
//! Without accounts any sign-in succeeds and any non-empty bearer passes (or only
//! [`FakeOptions::accepted_token`]). With [`FakeOptions::accounts`] the fake logs people in
//! like the real service: `POST /api/v1/auths/signin` takes the SHA-256 hex of the password
//! ([`sha256_hex`]) and answers the user with a fresh HS256 JWT (also as a `token` cookie)
//! that lives [`FakeOptions::token_lifetime`]; every route but sign-in, the model lists,
//! `/w/wu.json` and the `/__fake/` hooks then wants a token this instance issued, not yet
//! expired, as the bearer, and the same token in the `token` cookie when one is sent,
//! otherwise 401 `unauthorized`. Chats belong to the account that created them (another
//! account gets "chat not found", as for an unknown chat), and one account at a time can be
//! rate-limited ([`FakeUpstream::set_account_limit`], or `POST /__fake/accounts/limit`) or
//! have its tokens revoked ([`FakeUpstream::revoke_tokens`], `POST /__fake/accounts/revoke`).
//! `GET /w/wu.json` hands out anti-bot tokens like Alibaba's endpoint (PROTOCOL.md §2.2),
//! for `QWEN_UMID_URL`. Tokens are verified by their signature, so the fake stores none.
//!
//! This file owns the public handle and the shared state; the routes, the completion
//! endpoint, the accounts and sign-in, the request log, the chats, the answer "model" (with its tool-calling side:
//! the convention it reads, the test directives, schema synthesis), the wire formats and the
//! faults live in the sibling modules. The recorded upstream responses it serves are in this
//! crate's `fixtures/`, which qwenctl's own parser tests read too.

mod accounts;
mod answer;
mod auth;
mod chats;
mod completions;
mod convention;
mod directives;
mod faults;
mod request_log;
mod routes;
mod stream;
mod synth;
mod tools;
mod wire;

#[cfg(test)]
mod tests;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use accounts::Accounts;
use chats::Chats;
use faults::FlakyMemory;
use request_log::RequestLog;

pub use accounts::{AccountLimit, FakeAccount, sha256_hex};
pub(crate) use chats::{Chat, Turn};
pub use faults::FAULT_NAMES;

/// Path of the completion endpoint, for [`FakeUpstream::count`] and friends.
pub const COMPLETIONS_PATH: &str = "/api/v2/chat/completions";

/// A failure of both model lists (`/api/v2/models/` and `/api/models`), set with
/// [`FakeUpstream::set_models_fault`]: the lists are fetched before any chat exists, so a
/// message marker cannot select it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelsFault {
    /// Never answer (no headers) until the client gives up or the fake stops.
    Hang,
    /// HTTP 500, at once.
    ServerError,
    /// HTTP 200 `application/json` whose document never ends.
    Endless,
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// The only bearer token accepted; `None` accepts any non-empty token. Ignored when
    /// [`accounts`](FakeOptions::accounts) are configured.
    pub accepted_token: Option<String>,
    /// Delay before each answer chunk (pacing for timeouts and benchmarks).
    pub chunk_delay: Duration,
    /// Split every answer into exactly this many content chunks (benchmarks); `None` = one
    /// chunk per word.
    pub answer_chunks: Option<usize>,
    /// How much the fake remembers (fixed when it starts).
    pub limits: Limits,
    /// Accounts that can sign in (fixed when it starts). Empty: any sign-in succeeds and
    /// the bearer check is [`accepted_token`](FakeOptions::accepted_token)'s. Otherwise only
    /// tokens the fake issued to these accounts, unexpired, are accepted, and chats and
    /// rate limits are per account (see the crate documentation).
    pub accounts: Vec<FakeAccount>,
    /// Lifetime of the tokens sign-in issues to [`accounts`](FakeOptions::accounts), in
    /// whole seconds (`exp - iat`). Default: 900 s, as in the newest captures.
    pub token_lifetime: Duration,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions {
            accepted_token: None,
            chunk_delay: Duration::ZERO,
            answer_chunks: None,
            limits: Limits::default(),
            accounts: Vec::new(),
            token_lifetime: Duration::from_secs(900),
        }
    }
}

/// The bounds of what the fake remembers. Each pair is a count and a byte budget; whichever
/// is reached first makes the oldest entries go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests kept for [`FakeUpstream::requests`] and `/__fake/requests` (the most recent
    /// ones). [`FakeUpstream::count`] counts every request regardless.
    pub requests: usize,
    /// Bytes of kept requests (headers, and the body as parsed); a request larger than
    /// this on its own is kept without its body.
    pub request_bytes: usize,
    /// Chats kept; past it the least recently used chat is forgotten and then answers
    /// `Not_Found` like a chat that never existed.
    pub chats: usize,
    /// Bytes of kept chats (the texts of all their turns); a chat larger than this on its
    /// own is forgotten too.
    pub chat_bytes: usize,
}

impl Limits {
    /// Generous bounds for tests: far more history than a test inspects.
    pub const TESTS: Limits = Limits {
        requests: 4096,
        request_bytes: 64 * 1024 * 1024,
        chats: 4096,
        chat_bytes: 64 * 1024 * 1024,
    };

    /// Small bounds for a long-running fake (`serve --fake-upstream`): a few megabytes at
    /// most (4 MiB of requests, 4 MiB of chats), whatever the load.
    pub const SMALL: Limits = Limits {
        requests: 64,
        request_bytes: 4 * 1024 * 1024,
        chats: 256,
        chat_bytes: 4 * 1024 * 1024,
    };
}

impl Default for Limits {
    /// [`Limits::TESTS`].
    fn default() -> Self {
        Limits::TESTS
    }
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the query, e.g. `/api/v2/chat/completions`.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body (`Value::Null` when none, not JSON, or larger than
    /// [`Limits::request_bytes`]).
    pub body: serde_json::Value,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive), if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A running fake upstream on a loopback port. Stops when dropped.
pub struct FakeUpstream {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl FakeUpstream {
    /// Binds `127.0.0.1:0` and serves the fake on a spawned task.
    pub async fn start(opts: FakeOptions) -> std::io::Result<FakeUpstream> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new(opts));
        // Stopping goes through `shared.begin_shutdown()`, so the external signal never fires.
        let task = tokio::spawn(serve_shared(
            listener,
            shared.clone(),
            std::future::pending(),
        ));
        Ok(FakeUpstream {
            addr,
            shared,
            task: Some(task),
        })
    }

    /// Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The kept requests (the most recent ones, see [`Limits::requests`]), in arrival
    /// order, including rejected ones.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests()
    }

    /// How many requests hit `path` (query ignored) since the start or the last
    /// [`clear_requests`](FakeUpstream::clear_requests), kept or not. Counted per route:
    /// every `/api/v2/chats/{id}` shares one count, as do all paths the fake does not serve.
    pub fn count(&self, path: &str) -> usize {
        lock(&self.shared.log).count(path)
    }

    /// Body bytes of the requests counted by [`count`](FakeUpstream::count), as they
    /// arrived (also served as JSON by `GET /__fake/counters`, for the benchmarks).
    pub fn body_bytes(&self, path: &str) -> u64 {
        lock(&self.shared.log).body_bytes(path)
    }

    /// The kept requests made to the completion endpoint, in order.
    pub fn completions(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == COMPLETIONS_PATH)
            .cloned()
            .collect()
    }

    /// Forgets the recorded requests and zeroes the counts (chats and turns are kept).
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Changes the pacing of answer chunks for requests that arrive from now on.
    pub fn set_chunk_delay(&self, delay: Duration) {
        lock(&self.shared.opts).chunk_delay = delay;
    }

    /// Makes both model lists fail this way from now on (`None`: answer normally again).
    pub fn set_models_fault(&self, fault: Option<ModelsFault>) {
        *lock(&self.shared.models_fault) = fault;
    }

    /// Changes the chunking of answers for requests that arrive from now on.
    pub fn set_answer_chunks(&self, chunks: Option<usize>) {
        lock(&self.shared.opts).answer_chunks = chunks;
    }

    /// Rate-limits the account with `email` (`None`: lifts it): while set, its `chats/new`
    /// and completions are refused as [`AccountLimit`] says, other accounts are not
    /// affected. False when no account has that email.
    pub fn set_account_limit(&self, email: &str, limit: Option<AccountLimit>) -> bool {
        let Some(index) = self.shared.accounts.find(email) else {
            return false;
        };
        self.shared.accounts.set_limit(index, limit);
        true
    }

    /// Makes every token issued so far to `email` fail with 401 before it expires, as a
    /// password change upstream does; signing in again gives a working one. False when no
    /// account has that email.
    pub fn revoke_tokens(&self, email: &str) -> bool {
        let Some(index) = self.shared.accounts.find(email) else {
            return false;
        };
        self.shared.accounts.revoke(index);
        true
    }

    /// Successful sign-ins of the account with `email` (0 for an unknown email).
    pub fn signins(&self, email: &str) -> usize {
        let accounts = &self.shared.accounts;
        accounts.find(email).map_or(0, |i| accounts.signins(i))
    }

    /// Requests to the completion endpoint authenticated as `email`, answered or refused
    /// (0 for an unknown email).
    pub fn completions_by(&self, email: &str) -> usize {
        let accounts = &self.shared.accounts;
        accounts.find(email).map_or(0, |i| accounts.completions(i))
    }

    /// The email of the account that created chat `chat_id`, while the chat is known
    /// (`None` without accounts).
    pub fn account_of_chat(&self, chat_id: &str) -> Option<String> {
        let owner = lock(&self.shared.chats).get(chat_id)?.owner?;
        self.shared.accounts.email(owner).map(str::to_owned)
    }

    /// Number of chats currently known (created, and neither deleted nor forgotten).
    pub fn chat_count(&self) -> usize {
        lock(&self.shared.chats).len()
    }

    /// Stops accepting, ends hanging and streaming responses, and waits for the server task.
    pub async fn shutdown(mut self) {
        self.shared.begin_shutdown();
        if let Some(task) = self.task.take() {
            // The task's own result only reports accept errors that no longer matter.
            let _ = task.await;
        }
    }
}

impl Drop for FakeUpstream {
    fn drop(&mut self) {
        // Graceful: in-flight streams notice the signal and end, then the task exits by
        // itself. Nothing here can block, which matters inside async test bodies.
        self.shared.begin_shutdown();
    }
}

/// The fake's routes over fresh state. Useful to mount the fake inside another server;
/// `hang` faults then last until the client goes away, because nothing signals shutdown.
pub fn router(opts: FakeOptions) -> axum::Router {
    routes::build(Arc::new(Shared::new(opts)))
}

/// Serves the fake on an already bound listener until `shutdown` resolves (for the
/// `fake_qwen` example and `serve --fake-upstream`, which choose their own port).
pub async fn serve(
    listener: TcpListener,
    opts: FakeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_shared(listener, Arc::new(Shared::new(opts)), shutdown).await
}

async fn serve_shared(
    listener: TcpListener,
    shared: Arc<Shared>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = routes::build(shared.clone());
    let mut stop = shared.shutdown_signal();
    let signal_to = shared.clone();
    let signal = async move {
        tokio::select! {
            () = shutdown => {}
            _ = stop.wait_for(|stopping| *stopping) => {}
        }
        // Wake hanging handlers and paced streams so graceful shutdown can finish.
        signal_to.begin_shutdown();
    };
    // Like the real service, send each chunk at once (no Nagle delay on small writes).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app.into_make_service())
        .with_graceful_shutdown(signal)
        .await
}

/// State shared by all handlers of one fake instance.
pub(crate) struct Shared {
    opts: Mutex<FakeOptions>,
    /// Fixed at start: the log and the chats were sized by it.
    limits: Limits,
    log: Mutex<RequestLog>,
    chats: Mutex<Chats>,
    /// Message contents already answered with the `flaky` fault's first failure.
    flaky_seen: Mutex<FlakyMemory>,
    /// How the model lists fail, if they do.
    models_fault: Mutex<Option<ModelsFault>>,
    /// Taken out of the options at start, so `options()` does not copy them per request.
    pub(crate) accounts: Accounts,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    fn new(mut opts: FakeOptions) -> Self {
        let limits = opts.limits;
        let accounts = Accounts::new(std::mem::take(&mut opts.accounts), opts.token_lifetime);
        Shared {
            accounts,
            opts: Mutex::new(opts),
            limits,
            log: Mutex::new(RequestLog::new(limits.requests, limits.request_bytes)),
            chats: Mutex::new(Chats::new(limits.chats, limits.chat_bytes)),
            flaky_seen: Mutex::new(FlakyMemory::default()),
            models_fault: Mutex::new(None),
            shutdown: watch::channel(false).0,
        }
    }

    /// The options, without the accounts (those are in `accounts`).
    pub(crate) fn options(&self) -> FakeOptions {
        lock(&self.opts).clone()
    }

    /// Counts and keeps `request`, whose body arrived as `body`.
    pub(crate) fn record(&self, request: RecordedRequest, body: &[u8]) {
        let prepared = RequestLog::prepare(self.limits.request_bytes, request, body);
        lock(&self.log).push(prepared);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).iter().cloned().collect()
    }

    pub(crate) fn log(&self) -> MutexGuard<'_, RequestLog> {
        lock(&self.log)
    }

    pub(crate) fn chats(&self) -> MutexGuard<'_, Chats> {
        lock(&self.chats)
    }

    /// True the first time `content` is seen by the `flaky` fault.
    pub(crate) fn first_flaky_sight(&self, content: &str) -> bool {
        lock(&self.flaky_seen).first_sight(content)
    }

    pub(crate) fn models_fault(&self) -> Option<ModelsFault> {
        *lock(&self.models_fault)
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

/// Locks ignoring poison: a panicking test thread must not turn every later request into
/// a second panic inside the server.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
