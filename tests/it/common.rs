//! The shared harness: a fake upstream on 127.0.0.1:0 and a `serve` running in-process
//! against it, with its own temporary database, plus helpers to run the real binary.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::Duration;

use qwen_fake::{FakeOptions, FakeUpstream, RecordedRequest};
use qwenctl::config::{self, Sources};
use qwenctl::proxy::{self, AppState, Settings};
use qwenctl::qwen::QwenClient;
use qwenctl::session::Engine;
use qwenctl::store::Store;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A JWT whose payload is `{"id":"fake-user","exp":4102444800}` (year 2100).
pub const JWT: &str =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6ImZha2UtdXNlciIsImV4cCI6NDEwMjQ0NDgwMH0.sig";

/// Variables every test sets: credentials that the fake accepts, and fast timeouts.
pub fn base_env(upstream: &str) -> HashMap<String, String> {
    [
        (
            "QWEN_COOKIES",
            format!("cna=abc; token={JWT}; x-ap=ap-southeast-1"),
        ),
        ("QWEN_TOKEN", "T2gAfake-umid".to_owned()),
        ("QWEN_BASE_URL", upstream.to_owned()),
        ("RETRY_MAX_ATTEMPTS", "2".to_owned()),
        ("QWEN_FIRST_BYTE_TIMEOUT", "3000".to_owned()),
        ("QWEN_IDLE_TIMEOUT", "3000".to_owned()),
        ("SHUTDOWN_TIMEOUT", "5000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// A running `serve` + fake upstream.
pub struct TestServer {
    pub url: String,
    pub fake: FakeUpstream,
    pub db_path: PathBuf,
    pub state: Arc<AppState>,
    /// The store `serve` writes to, for flushing and reading in assertions.
    pub store: Store,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<std::io::Result<()>>>,
    _dir: Option<tempfile::TempDir>,
}

/// How to build a [`TestServer`].
#[derive(Default)]
pub struct ServerOptions {
    /// Variables on top of [`base_env`]; an empty value unsets one.
    pub env: Vec<(&'static str, String)>,
    pub fake: FakeOptions,
    /// Reuse this database (restart tests).
    pub db_path: Option<PathBuf>,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(ServerOptions::default()).await
    }

    pub async fn start_with(opts: ServerOptions) -> TestServer {
        let fake = FakeUpstream::start(opts.fake).await.expect("fake upstream");
        Self::start_on(fake, opts.env, opts.db_path).await
    }

    /// Starts `serve` against an existing fake (restart tests keep the fake's memory).
    pub async fn start_on(
        fake: FakeUpstream,
        extra_env: Vec<(&'static str, String)>,
        db_path: Option<PathBuf>,
    ) -> TestServer {
        let (dir, db_path) = match db_path {
            Some(p) => (None, p),
            None => {
                let dir = tempfile::tempdir().expect("tempdir");
                let p = dir.path().join("qwen.db");
                (Some(dir), p)
            }
        };
        let mut env = base_env(&fake.url());
        env.insert("DATABASE_PATH".into(), db_path.display().to_string());
        // An empty value unsets the variable (the accounts tests drop the harness's cookies).
        for (k, v) in extra_env {
            if v.is_empty() {
                env.remove(k);
            } else {
                env.insert(k.to_owned(), v);
            }
        }
        let sources = Sources {
            env,
            ..Sources::default()
        };
        let config = config::resolve(&sources, 1_800_000_000);
        assert!(
            config.errors().next().is_none(),
            "test config has problems: {:?}",
            config.problems
        );
        let client = QwenClient::new(config.upstream()).expect("client");
        let accounts = qwenctl::accounts::pool(&config, client).expect("accounts");
        let store = if let Some(url) = &config.database_url {
            Store::connect(url.expose()).await.expect("store")
        } else if config.enable_persistence {
            Store::open(&config.database_path).expect("store")
        } else {
            Store::open_in_memory().expect("store")
        };
        let engine = Engine::new(accounts, store.clone(), config.session_timeout, "serve")
            .with_aliases(config.model_aliases.clone());
        let settings = Settings::from_config(&config);
        let state = AppState::new(engine, settings);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let handle = tokio::spawn(proxy::serve(listener, state.clone(), async move {
            let _ = rx.await;
        }));
        TestServer {
            url,
            fake,
            db_path,
            state,
            store,
            http: reqwest::Client::new(),
            shutdown: Some(tx),
            handle: Some(handle),
            _dir: dir,
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    pub async fn stop(mut self) -> (FakeUpstream, std::io::Result<()>, Option<tempfile::TempDir>) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let result = match self.handle.take() {
            Some(h) => tokio::time::timeout(Duration::from_secs(30), h)
                .await
                .expect("serve did not stop in time")
                .expect("serve panicked"),
            None => Ok(()),
        };
        (self.fake, result, self._dir.take())
    }

    /// Sends a signal to shut down without waiting.
    pub fn begin_shutdown(&mut self) -> Option<JoinHandle<std::io::Result<()>>> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.take()
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.http
            .post(format!("{}{path}", self.url))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request")
    }

    /// A non-streamed chat completion; returns (status, body).
    pub async fn chat(&self, model: &str, messages: &Value) -> (u16, Value) {
        let resp = self
            .post(
                "/v1/chat/completions",
                &json!({"model": model, "messages": messages}),
            )
            .await;
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    /// The answer text of a successful non-streamed chat.
    pub async fn answer(&self, messages: &Value) -> String {
        let (status, body) = self.chat("qwen3-max", messages).await;
        assert_eq!(status, 200, "{body}");
        body["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// The completion requests the fake received.
    pub fn completions(&self) -> Vec<RecordedRequest> {
        self.fake.completions()
    }
}

/// Reads a whole SSE response into its `data:` payloads (and comments as `:…`).
pub async fn sse_events(resp: reqwest::Response) -> Vec<String> {
    let text = resp.text().await.unwrap_or_default();
    text.split("\n\n")
        .filter(|e| !e.is_empty())
        .map(|e| e.strip_prefix("data: ").unwrap_or(e).to_owned())
        .collect()
}

/// The parsed JSON events of an SSE body, without `[DONE]` and comments.
pub fn json_events(events: &[String]) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e.as_str() != "[DONE]" && !e.starts_with(':'))
        .map(|e| serde_json::from_str(e).unwrap_or_else(|_| panic!("bad event {e}")))
        .collect()
}

/// `user`/`assistant` messages from pairs.
pub fn msgs(pairs: &[(&str, &str)]) -> Value {
    Value::Array(
        pairs
            .iter()
            .map(|(role, content)| json!({"role": role, "content": content}))
            .collect(),
    )
}

/// The single user message content the fake received in a completion.
pub fn sent_content(req: &RecordedRequest) -> String {
    let messages = req.body["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), 1, "upstream got more than one message");
    messages[0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The chat id of a completion.
pub fn chat_id(req: &RecordedRequest) -> String {
    req.body["chat_id"].as_str().unwrap_or_default().to_owned()
}

/// The parent id of a completion (None when null/empty).
pub fn parent_id(req: &RecordedRequest) -> Option<String> {
    req.body["parent_id"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// How long one run of the binary may take before the test fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The real binary with a scrubbed environment and a private working directory (HOME and
/// the data directory inside it, so nothing touches the developer's files).
pub fn qwenctl(dir: &Path) -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("qwenctl"));
    cmd.env_clear()
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir);
    cmd
}

/// Runs the command off the async runtime (a fake upstream in the test keeps serving
/// meanwhile), feeding `stdin` when given (else stdin is empty, not a terminal).
pub async fn run(mut cmd: Command, stdin: Option<&str>) -> Output {
    let input = stdin.map(str::to_owned);
    let task = tokio::task::spawn_blocking(move || {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run qwenctl");
        let mut pipe = child.stdin.take().expect("stdin");
        if let Some(input) = input {
            pipe.write_all(input.as_bytes()).expect("write stdin");
        }
        drop(pipe);
        child.wait_with_output().expect("wait for qwenctl")
    });
    tokio::time::timeout(RUN_LIMIT, task)
        .await
        .expect("qwenctl did not finish in time")
        .expect("runner panicked")
}

/// Standard output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fake upstream that rejects the harness's credentials (it accepts another token only).
pub async fn rejecting_fake() -> FakeUpstream {
    FakeUpstream::start(FakeOptions {
        accepted_token: Some("another-token".into()),
        ..FakeOptions::default()
    })
    .await
    .expect("fake upstream")
}
