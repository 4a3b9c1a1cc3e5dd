//! The crash suite (issue 5's kill test and issue 8's ten rounds): the real `qwenctl serve`
//! binary is killed with SIGKILL while 40 clients stream answers from a paced fake upstream.
//! After every kill the database must pass `PRAGMA integrity_check`, and every exchange
//! whose client received `data: [DONE]` must be in it with its whole answer, because the
//! store commits a response before the proxy sends `[DONE]` (design.md §5). Restarting on
//! the same file must work: migrations run again and the conversation index still
//! continues a chat that was answered before the kill.
//!
//! Each round is bounded: the kill comes as soon as enough streams completed (or after a
//! deadline), and every client request has its own timeout. Kept whole: the three tests
//! share one harness (the real binary, its kill and the database check).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use qwen_fake::{FakeOptions, FakeUpstream};
use serde_json::{Value, json};

use crate::common::*;

/// Concurrent streaming clients during a round.
const CLIENTS: usize = 40;

/// A `qwenctl serve` child process and its URL.
struct Serve {
    child: Child,
    url: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        // Never leave a server behind, even when an assertion failed mid-round.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary against `fake_url` on `db`, and waits for its listen URL.
fn start_serve(dir: &Path, db: &Path, fake_url: &str, n: usize) -> Serve {
    let stderr = std::fs::File::create(dir.join(format!("serve-{n}.err"))).unwrap();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin!("qwenctl"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("QWEN_BASE_URL", fake_url)
        .env(
            "QWEN_COOKIES",
            format!("cna=abc; token={JWT}; x-ap=ap-southeast-1"),
        )
        .env("QWEN_TOKEN", "T2gAfake-umid")
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATABASE_PATH", db)
        .env("LOG_LEVEL", "warn")
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr))
        .spawn()
        .expect("spawn qwenctl serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads stdout until the process dies, so a chatty server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("Listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let url = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(url) => url,
        Err(_) => {
            let _ = child.kill();
            let err =
                std::fs::read_to_string(dir.join(format!("serve-{n}.err"))).unwrap_or_default();
            panic!("serve did not print its URL: {err}");
        }
    };
    Serve { child, url }
}

/// What one client saw of one exchange.
struct Exchange {
    prompt: String,
    done: bool,
    content: String,
}

/// Streams one answer; `done` when `data: [DONE]` arrived.
async fn stream_once(http: &reqwest::Client, url: &str, prompt: &str) -> Exchange {
    let mut exchange = Exchange {
        prompt: prompt.to_owned(),
        done: false,
        content: String::new(),
    };
    let sent = http
        .post(format!("{url}/v1/chat/completions"))
        .json(&json!({"model": "qwen3-max", "stream": true,
                      "messages": [{"role": "user", "content": prompt}]}))
        .send()
        .await;
    let Ok(mut resp) = sent else {
        return exchange;
    };
    if resp.status() != 200 {
        return exchange;
    }
    let mut text = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        text.extend_from_slice(&chunk);
    }
    let text = String::from_utf8_lossy(&text);
    for event in text.split("\n\n") {
        let Some(data) = event.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            exchange.done = true;
        } else if let Ok(v) = serde_json::from_str::<Value>(data)
            && let Some(piece) = v["choices"][0]["delta"]["content"].as_str()
        {
            exchange.content.push_str(piece);
        }
    }
    exchange
}

/// Runs `CLIENTS` looping clients against `url` and SIGKILLs `serve` once at least
/// `kill_after` streams completed while others are in flight. Returns every exchange.
async fn load_and_kill(serve: &mut Serve, round: usize, kill_after: usize) -> Vec<Exchange> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let completed = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let (http, url) = (http.clone(), serve.url.clone());
        let (completed, in_flight, killed) = (completed.clone(), in_flight.clone(), killed.clone());
        clients.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            // Bounded: a client stops at the kill, or after 200 exchanges at the latest.
            for k in 0..200 {
                if killed.load(Ordering::SeqCst) {
                    break;
                }
                let prompt = format!("crash round {round} client {c} turn {k} please");
                in_flight.fetch_add(1, Ordering::SeqCst);
                let exchange = stream_once(&http, &url, &prompt).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                if exchange.done {
                    completed.fetch_add(1, Ordering::SeqCst);
                }
                let failed = !exchange.done;
                seen.push(exchange);
                if failed {
                    break;
                }
            }
            seen
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while completed.load(Ordering::SeqCst) < kill_after && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let streaming = in_flight.load(Ordering::SeqCst);
    killed.store(true, Ordering::SeqCst);
    serve.child.kill().expect("SIGKILL serve");
    let status = serve.child.wait().expect("wait for serve");
    assert!(
        !status.success(),
        "serve was killed, not stopped: {status:?}"
    );
    assert!(
        completed.load(Ordering::SeqCst) >= kill_after,
        "round {round}: only {} streams completed before the deadline",
        completed.load(Ordering::SeqCst)
    );
    assert!(
        streaming > 0,
        "round {round}: nothing was streaming at the kill"
    );
    let mut all = Vec::new();
    for client in clients {
        all.extend(
            tokio::time::timeout(Duration::from_secs(30), client)
                .await
                .expect("client hung")
                .unwrap(),
        );
    }
    all
}

/// Integrity, and every completed exchange stored whole. Returns how many were checked.
fn check_database(db: &Path, exchanges: &[Exchange], round: usize) -> usize {
    let conn = rusqlite::Connection::open(db).expect("open the killed database");
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok", "round {round}");
    let mut stmt = conn
        .prepare("SELECT status FROM responses WHERE content = ?1")
        .unwrap();
    let mut checked = 0;
    for exchange in exchanges.iter().filter(|e| e.done) {
        let answer = format!("You said: {}", exchange.prompt);
        assert_eq!(
            exchange.content, answer,
            "round {round}: the client's answer"
        );
        let statuses: Vec<String> = stmt
            .query_map([&answer], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            statuses,
            ["ok"],
            "round {round}: `{}` reached [DONE] but is not stored once with status ok",
            exchange.prompt
        );
        checked += 1;
    }
    checked
}

fn fake_options() -> FakeOptions {
    FakeOptions {
        // ~8 words per answer at 15 ms each: a stream lasts ~130 ms, so at any moment of a
        // round most of the 40 clients are mid-answer.
        chunk_delay: Duration::from_millis(15),
        ..Default::default()
    }
}

/// `total_requests` of `GET /v1/responses/stats`.
async fn total_requests(http: &reqwest::Client, url: &str) -> usize {
    let stats: Value = http
        .get(format!("{url}/v1/responses/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["statistics"]["total_requests"].as_u64().unwrap() as usize
}

fn db_in(dir: &Path) -> PathBuf {
    dir.join("qwen.db")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_forty_streams_loses_no_finished_exchange() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let fake = FakeUpstream::start(fake_options()).await.unwrap();
    let mut serve = start_serve(dir.path(), &db, &fake.url(), 0);
    let exchanges = load_and_kill(&mut serve, 0, CLIENTS).await;
    drop(serve);
    let cut = exchanges.iter().filter(|e| !e.done).count();
    assert!(cut > 0, "some streams must have been cut by the kill");
    let checked = check_database(&db, &exchanges, 0);
    assert!(checked >= CLIENTS);

    // Restart on the same file: it opens, migrates (a no-op) and continues a conversation
    // that was answered before the kill in the same upstream chat.
    let serve = start_serve(dir.path(), &db, &fake.url(), 1);
    let http = reqwest::Client::new();
    let before = exchanges.iter().find(|e| e.done).unwrap();
    let original = fake
        .completions()
        .into_iter()
        .find(|r| sent_content(r) == before.prompt)
        .expect("the fake saw the first turn");
    let resp = http
        .post(format!("{}/v1/chat/completions", serve.url))
        .json(&json!({"model": "qwen3-max", "messages": [
            {"role": "user", "content": before.prompt},
            {"role": "assistant", "content": before.content},
            {"role": "user", "content": "and after the crash?"},
        ]}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "You said: and after the crash?"
    );
    let next = fake.completions().pop().unwrap();
    assert_eq!(
        sent_content(&next),
        "and after the crash?",
        "only the new message is sent"
    );
    assert_eq!(chat_id(&next), chat_id(&original), "the same upstream chat");
    assert!(
        parent_id(&next).is_some(),
        "continued from the stored answer"
    );

    let total = total_requests(&http, &serve.url).await;
    assert!(
        total > checked,
        "{total} requests recorded, {checked} checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_rounds_of_sigkill_under_load() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let fake = FakeUpstream::start(fake_options()).await.unwrap();
    let mut checked = 0;
    for round in 1..=10 {
        let mut serve = start_serve(dir.path(), &db, &fake.url(), round);
        // Vary the moment of the kill from round to round.
        let exchanges = load_and_kill(&mut serve, round, 10 + 7 * round).await;
        drop(serve);
        checked += check_database(&db, &exchanges, round);
        // Forget what the fake recorded so its log stays small over the rounds.
        fake.clear_requests();
    }
    // After ten kills the file still opens and serves.
    let serve = start_serve(dir.path(), &db, &fake.url(), 11);
    let http = reqwest::Client::new();
    let resp = http
        .post(format!("{}/v1/chat/completions", serve.url))
        .json(&json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "alive?"}]}))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let ok = total_requests(&http, &serve.url).await;
    assert!(ok > checked, "{checked} checked, {ok} requests recorded");
}

/// Issue 3: SIGTERM while 20 streams are open. Every stream still gets its whole answer and
/// `[DONE]` (the grace period, SHUTDOWN_TIMEOUT, is far longer than an answer), and the
/// process exits 0.
#[tokio::test]
async fn sigterm_with_twenty_open_streams_finishes_them_and_exits_zero() {
    let fake = FakeUpstream::start(fake_options()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = db_in(dir.path());
    let mut serve = start_serve(dir.path(), &db, &fake.url(), 0);
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let clients: Vec<_> = (0..20)
        .map(|i| {
            let (http, url) = (http.clone(), serve.url.clone());
            tokio::spawn(async move {
                stream_once(&http, &url, &format!("term client {i} says a few words")).await
            })
        })
        .collect();
    // Let every stream start, then ask the server to stop.
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.count(qwen_fake::COMPLETIONS_PATH) < 20 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pid = serve.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    for (i, client) in clients.into_iter().enumerate() {
        let exchange = client.await.unwrap();
        assert!(exchange.done, "client {i} got no [DONE]");
        assert_eq!(exchange.content, format!("You said: {}", exchange.prompt));
    }
    let status = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = serve.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap()
    .expect("serve did not exit after SIGTERM");
    assert_eq!(status.code(), Some(0), "{status:?}");
}
