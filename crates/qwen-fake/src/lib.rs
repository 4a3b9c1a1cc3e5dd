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
//! This file owns the public handle and the shared in-memory state; the routes, the
//! completion endpoint, the answer "model", the wire formats and the faults live in the
//! sibling modules. The recorded upstream responses it serves are in this crate's
//! `fixtures/`, which qwenctl's own parser tests read too.

mod answer;
mod completions;
mod faults;
mod routes;
mod stream;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use faults::FAULT_NAMES;

/// Path of the completion endpoint, for [`FakeUpstream::count`] and friends.
pub const COMPLETIONS_PATH: &str = "/api/v2/chat/completions";

/// How the fake behaves.
#[derive(Debug, Clone, Default)]
pub struct FakeOptions {
    /// The only bearer token accepted; `None` accepts any non-empty token.
    pub accepted_token: Option<String>,
    /// Delay before each answer chunk (pacing for timeouts and benchmarks).
    pub chunk_delay: Duration,
    /// Split every answer into exactly this many content chunks (benchmarks); `None` = one
    /// chunk per word.
    pub answer_chunks: Option<usize>,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    /// Path without the query, e.g. `/api/v2/chat/completions`.
    pub path: String,
    pub query: Option<String>,
    pub headers: Vec<(String, String)>,
    /// Parsed JSON body (`Value::Null` when none or not JSON).
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

    /// Every request received so far, in arrival order (including rejected ones).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log).clone()
    }

    /// How many requests hit exactly `path` (query ignored).
    pub fn count(&self, path: &str) -> usize {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == path)
            .count()
    }

    /// The requests made to the completion endpoint, in order.
    pub fn completions(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.log)
            .iter()
            .filter(|r| r.path == COMPLETIONS_PATH)
            .cloned()
            .collect()
    }

    /// Forgets the recorded requests (chats and turns are kept).
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Changes the pacing of answer chunks for requests that arrive from now on.
    pub fn set_chunk_delay(&self, delay: Duration) {
        lock(&self.shared.opts).chunk_delay = delay;
    }

    /// Changes the chunking of answers for requests that arrive from now on.
    pub fn set_answer_chunks(&self, chunks: Option<usize>) {
        lock(&self.shared.opts).answer_chunks = chunks;
    }

    /// Number of chats currently known (created and not deleted).
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
    log: Mutex<Vec<RecordedRequest>>,
    chats: Mutex<HashMap<String, Chat>>,
    /// Message contents already answered with the `flaky` fault's first failure.
    flaky_seen: Mutex<HashSet<String>>,
    shutdown: watch::Sender<bool>,
}

impl Shared {
    fn new(opts: FakeOptions) -> Self {
        Shared {
            opts: Mutex::new(opts),
            log: Mutex::new(Vec::new()),
            chats: Mutex::new(HashMap::new()),
            flaky_seen: Mutex::new(HashSet::new()),
            shutdown: watch::channel(false).0,
        }
    }

    pub(crate) fn options(&self) -> FakeOptions {
        lock(&self.opts).clone()
    }

    pub(crate) fn record(&self, request: RecordedRequest) {
        lock(&self.log).push(request);
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    pub(crate) fn chats(&self) -> MutexGuard<'_, HashMap<String, Chat>> {
        lock(&self.chats)
    }

    /// True the first time `content` is seen by the `flaky` fault.
    pub(crate) fn first_flaky_sight(&self, content: &str) -> bool {
        lock(&self.flaky_seen).insert(content.to_owned())
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    fn begin_shutdown(&self) {
        self.shutdown.send_replace(true);
    }
}

/// One chat created through `POST /api/v2/chats/new`.
#[derive(Debug, Clone)]
pub(crate) struct Chat {
    pub id: String,
    pub title: String,
    pub chat_type: String,
    pub models: Vec<String>,
    pub created_at: u64,
    pub updated_at: u64,
    pub turns: Vec<Turn>,
}

/// One answered user message; `response_id` is what the next turn sends as `parent_id`.
#[derive(Debug, Clone)]
pub(crate) struct Turn {
    /// Server id of the stored user message (`response.created.parent_id`).
    pub user_message_id: String,
    pub user_text: String,
    /// The `parent_id` the request carried (`None` for a root turn).
    pub parent_response_id: Option<String>,
    pub response_id: String,
    pub answer: String,
    pub model: String,
    pub timestamp: u64,
}

impl Chat {
    /// User texts from the root to the turn whose answer is `parent`, oldest first.
    pub(crate) fn chain_texts(&self, parent: Option<&str>) -> Vec<String> {
        let mut texts = Vec::new();
        let mut next = parent;
        // Parents always exist before their children, so there are no cycles; the bound
        // only guards against a logic slip turning into an endless loop.
        for _ in 0..=self.turns.len() {
            let Some(id) = next else { break };
            let Some(turn) = self.turns.iter().find(|t| t.response_id == id) else {
                break;
            };
            texts.push(turn.user_text.clone());
            next = turn.parent_response_id.as_deref();
        }
        texts.reverse();
        texts
    }

    pub(crate) fn has_response(&self, response_id: &str) -> bool {
        self.turns.iter().any(|t| t.response_id == response_id)
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
