//! Connection hygiene of the real `qwenctl serve` (issue 18, finding 8): connections that
//! never finish their headers used to be held forever, so under a 1,024 file limit about a
//! thousand of them made `serve` refuse every other client, `/health` included, and with
//! one of them open SIGTERM never exited.
//!
//! The server runs as a child under `ulimit -n 1024` (soft and hard, as a service manager
//! would set it, so raising the soft limit gains nothing), with timeouts far longer than the
//! tests: what keeps it answering is the connection limit, which gives a new connection the
//! place of the one idle the longest. Everything is on 127.0.0.1 and bounded in time.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use qwen_fake::{FakeOptions, FakeUpstream};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

use crate::common::*;

/// Connections that send part of a request head and then nothing.
const PARTIAL: usize = 2_000;

/// A `qwenctl serve` child; killed when dropped.
pub(crate) struct Serve {
    pub child: Child,
    pub url: String,
    addr: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the real binary under `ulimit -n files` against `fake_url`, with `env` on top of
/// the harness's variables, and waits for its URL.
pub(crate) fn start_serve(dir: &Path, fake_url: &str, files: u32, env: &[(&str, &str)]) -> Serve {
    let stderr = std::fs::File::create(dir.join("serve.err")).unwrap();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(format!("ulimit -n {files} && exec \"$0\" serve"))
        .arg(assert_cmd::cargo::cargo_bin!("qwenctl"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir.join("data"))
        .envs(base_env(fake_url))
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("DATABASE_PATH", dir.join("qwen.db"))
        .env("LOG_LEVEL", "info")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(stderr));
    let mut child = cmd.spawn().expect("spawn qwenctl serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(url) = line.strip_prefix("Listening on ") {
                let _ = tx.send(url.trim().to_owned());
            }
        }
    });
    let Ok(url) = rx.recv_timeout(Duration::from_secs(30)) else {
        let _ = child.kill();
        panic!("serve did not start: {}", log(dir));
    };
    let addr = url.trim_start_matches("http://").to_owned();
    Serve { child, url, addr }
}

pub(crate) fn log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("serve.err")).unwrap_or_default()
}

/// Lets this test process hold `n` more sockets than it has files now.
fn allow_files(n: u64) {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    let want = (n + 256).max(soft);
    assert!(
        hard >= want,
        "this test needs a hard file limit of at least {want} (it is {hard})"
    );
    setrlimit(Resource::RLIMIT_NOFILE, want, hard).unwrap();
}

/// `n` connections that each send the start of a request head and then nothing, opened
/// 100 at a time. A connection the server refused or replaced is still returned (closed);
/// one that cannot even connect within a few seconds (a server that stopped accepting) is
/// left out, and the opening stops at the first batch that fails wholly.
async fn partial_heads(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for batch in 0..n.div_ceil(100) {
        let opens = (0..100.min(n - batch * 100)).map(|_| async {
            let connect = TcpStream::connect(addr);
            let mut tcp = tokio::time::timeout(Duration::from_secs(3), connect)
                .await
                .ok()?
                .ok()?;
            // The server may already have closed it; that is its right.
            let _ = tcp
                .write_all(b"POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
                .await;
            Some(tcp)
        });
        let opened: Vec<TcpStream> = futures_util::future::join_all(opens)
            .await
            .into_iter()
            .flatten()
            .collect();
        if opened.is_empty() {
            eprintln!("no connection accepted after {}", held.len());
            break;
        }
        held.extend(opened);
    }
    held
}

/// `GET /health` on a new connection.
async fn health(http: &reqwest::Client, url: &str) -> Result<u16, String> {
    http.get(format!("{url}/health"))
        .send()
        .await
        .map(|r| r.status().as_u16())
        .map_err(|e| format!("{e:?}"))
}

fn new_client() -> reqwest::Client {
    // No pooling: every request opens a connection, as a new client would.
    reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_header_connections_do_not_stop_health_or_a_chat_under_a_1024_file_limit() {
    allow_files(PARTIAL as u64);
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let serve = start_serve(
        dir.path(),
        &fake.url(),
        1024,
        &[
            ("HEADER_READ_TIMEOUT", "120000"),
            ("KEEPALIVE_TIMEOUT", "120000"),
        ],
    );
    let began = Instant::now();
    let held = partial_heads(&serve.addr, PARTIAL).await;
    eprintln!("{PARTIAL} partial heads sent in {:?}", began.elapsed());
    let http = new_client();
    for i in 0..5 {
        assert_eq!(
            health(&http, &serve.url).await,
            Ok(200),
            "health check {i}: {}",
            log(dir.path())
        );
    }
    let resp = http
        .post(format!("{}/v1/chat/completions", serve.url))
        .json(&json!({"model": "qwen3-max",
                      "messages": [{"role": "user", "content": "still there?"}]}))
        .send()
        .await
        .expect("a chat while the partial heads are held");
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "You said: still there?"
    );

    // A second wave changes nothing, and the server is still within its files.
    let again = partial_heads(&serve.addr, PARTIAL).await;
    assert_eq!(health(&http, &serve.url).await, Ok(200));
    let metrics = http
        .get(format!("{}/metrics", serve.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let open = metrics
        .lines()
        .find_map(|l| l.strip_prefix("http_connections_open "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .expect("http_connections_open");
    assert!(
        open <= 480.0,
        "{open} connections held under a limit of 480"
    );
    let log = log(dir.path());
    assert!(log.contains("up to 480 client connections"), "{log}");
    assert!(!log.contains("cannot accept"), "{log}");
    drop((held, again));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_within_the_shutdown_timeout_whatever_the_connections_do() {
    const SHUTDOWN_MS: u64 = 2_000;
    allow_files(1_000);
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut serve = start_serve(
        dir.path(),
        &fake.url(),
        1024,
        &[
            ("SHUTDOWN_TIMEOUT", "2000"),
            ("HEADER_READ_TIMEOUT", "120000"),
            ("KEEPALIVE_TIMEOUT", "120000"),
        ],
    );
    // Partial heads, silent connections, and a stream that would take a minute.
    let partial = partial_heads(&serve.addr, 300).await;
    let mut silent = Vec::new();
    for _ in 0..300 {
        silent.push(TcpStream::connect(&serve.addr).await.unwrap());
    }
    let http = new_client();
    let http_long = reqwest::Client::new();
    let mut stream = http_long
        .post(format!("{}/v1/chat/completions", serve.url))
        .json(&json!({"model": "qwen3-max", "stream": true,
                      "messages": [{"role": "user",
                                    "content": "[[fake:slow=5000]] a long answer to wait for"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.unwrap().expect("the first event");
    assert!(first.starts_with(b"data: "));
    assert_eq!(health(&http, &serve.url).await, Ok(200));

    let pid = serve.child.id().to_string();
    let began = Instant::now();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let rest = tokio::spawn(async move {
        let mut text = Vec::new();
        while let Ok(Some(chunk)) = stream.chunk().await {
            text.extend_from_slice(&chunk);
        }
        String::from_utf8_lossy(&text).into_owned()
    });
    let status = tokio::task::spawn_blocking(move || {
        let limit = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = serve.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    })
    .await
    .unwrap();
    let took = began.elapsed();
    let log = log(dir.path());
    let status = status.unwrap_or_else(|| panic!("serve did not exit after SIGTERM: {log}"));
    eprintln!("serve exited {took:?} after SIGTERM");
    assert_eq!(status.code(), Some(0), "{log}");
    // SHUTDOWN_TIMEOUT, then at most a second for the streams' last events, plus slack.
    assert!(
        took < Duration::from_millis(SHUTDOWN_MS + 2_500),
        "took {took:?}: {log}"
    );
    assert!(took >= Duration::from_millis(SHUTDOWN_MS), "took {took:?}");
    // The stream that was still running was told why it ended.
    let text = rest.await.unwrap();
    assert!(text.contains("shutting down"), "{text}");
    drop((partial, silent));
}

/// How long until the server closes `tcp` (reads until EOF or an error), at most `limit`.
async fn closed_after(tcp: &mut TcpStream, limit: Duration) -> Option<Duration> {
    use tokio::io::AsyncReadExt as _;
    let began = Instant::now();
    let mut buf = [0u8; 4096];
    tokio::time::timeout(limit, async {
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    })
    .await
    .ok()?;
    Some(began.elapsed())
}

#[tokio::test]
async fn heads_and_idle_keepalives_time_out_but_slow_answers_do_not() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![
            ("HEADER_READ_TIMEOUT", "400".into()),
            ("KEEPALIVE_TIMEOUT", "800".into()),
        ],
        ..Default::default()
    })
    .await;
    let addr = s.url.trim_start_matches("http://").to_owned();
    let limit = Duration::from_secs(5);

    // Silent from the start, or a head that never ends: the header timeout.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let mut partial = partial_heads(&addr, 1).await.pop().unwrap();
    let (silent, partial) = tokio::join!(
        closed_after(&mut silent, limit),
        closed_after(&mut partial, limit)
    );
    for (what, took) in [("silent", silent), ("partial", partial)] {
        let took = took.unwrap_or_else(|| panic!("a {what} connection was kept"));
        assert!(took >= Duration::from_millis(300), "{what}: {took:?}");
        assert!(took < Duration::from_millis(2_000), "{what}: {took:?}");
    }

    // An answer slower than both timeouts is not cut, and the connection is then kept
    // for the keep-alive timeout.
    let mut tcp = TcpStream::connect(&addr).await.unwrap();
    let body = json!({"model": "qwen3-max",
                      "messages": [{"role": "user", "content": "[[fake:slow=300]] take your time"}]})
    .to_string();
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let began = Instant::now();
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    use tokio::io::AsyncReadExt as _;
    while !String::from_utf8_lossy(&answer).contains("take your time") {
        let n = tokio::time::timeout(limit, tcp.read(&mut buf))
            .await
            .expect("the answer in time")
            .unwrap();
        assert!(
            n > 0,
            "closed mid-answer: {}",
            String::from_utf8_lossy(&answer)
        );
        answer.extend_from_slice(&buf[..n]);
    }
    let answered = began.elapsed();
    assert!(answered > Duration::from_millis(800), "{answered:?}");
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));
    let idle = closed_after(&mut tcp, limit)
        .await
        .expect("closed when idle");
    assert!(idle >= Duration::from_millis(600), "{idle:?}");
    assert!(idle < Duration::from_millis(2_500), "{idle:?}");
}
