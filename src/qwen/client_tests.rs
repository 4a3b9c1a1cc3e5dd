//! The client against tiny in-test axum servers on 127.0.0.1:0: headers, retries, fallbacks
//! and timeouts, plus the pure request helpers. Kept whole: the tiny servers and the client
//! settings are shared by every test here, and the file reads as the client's contract.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use super::*;
use crate::qwen::QwenEvent;
use crate::qwen::bodies::test_request as request;

const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InRlc3QifQ.sig";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/crates/qwen-fake/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn config(base: &str) -> UpstreamConfig {
    UpstreamConfig {
        base_url: format!("{base}/"),
        bx_v: "2.5.37".into(),
        web_version: "0.3.12".into(),
        user_agent: "Mozilla/5.0 test".into(),
        retry_max_attempts: 3,
        connect_timeout: Duration::from_secs(2),
        first_byte_timeout: Duration::from_secs(5),
        idle_timeout: Duration::from_secs(5),
        max_answer_bytes: 1024 * 1024,
        models_cache: Duration::from_secs(60),
        models_cache_file: None,
    }
}

/// The pasted credentials every test sends.
fn creds() -> Credentials {
    Credentials::pasted(
        &format!("cna=abc; token={TOKEN}; ssxmod_itna=1-xyz"),
        Some("umid-123"),
    )
    .expect("credentials")
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind port 0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

fn sse(name: &str) -> Response {
    let headers = [(header::CONTENT_TYPE, "text/event-stream; charset=utf-8")];
    (headers, fixture(name)).into_response()
}

fn json_body(name: &str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], fixture(name)).into_response()
}

async fn answer_of(mut stream: CompletionStream) -> Result<String, QwenError> {
    let mut text = String::new();
    while let Some(event) = stream.next_event().await? {
        if let QwenEvent::Answer(delta) = event {
            text.push_str(&delta);
        }
    }
    Ok(text)
}

#[tokio::test]
async fn retries_a_500_then_streams() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/api/v2/chat/completions",
        post(move || async move {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                (StatusCode::INTERNAL_SERVER_ERROR, "oops").into_response()
            } else {
                sse("stream-basic.sse")
            }
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let stream = client
        .complete(&creds(), &request("chat-1", None, false))
        .await
        .expect("streams");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    assert_eq!(stream.sent_body["chat_id"], "chat-1");
    assert_eq!(
        answer_of(stream).await.as_deref(),
        Ok("Hello! How can I help you today? 😊")
    );
}

#[tokio::test]
async fn rate_limits_are_not_retried() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/api/v2/chat/completions",
        post(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            json_body("error-ratelimited.json")
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let err = client
        .complete(&creds(), &request("chat-1", None, false))
        .await
        .expect_err("limited");
    assert!(matches!(
        err,
        QwenError::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(7200)
    ));
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn sends_browser_headers_and_the_turn() {
    type Seen = Arc<Mutex<Option<(HeaderMap, Option<String>, Bytes)>>>;
    let seen: Seen = Arc::default();
    let store = Arc::clone(&seen);
    let app = Router::new().route(
        "/api/v2/chat/completions",
        post(
            move |headers: HeaderMap, query: axum::extract::RawQuery, body: Bytes| async move {
                *store.lock().expect("lock") = Some((headers, query.0, body));
                sse("stream-turn2.sse")
            },
        ),
    );
    let base = serve(app).await;
    let client = QwenClient::new(config(&base)).expect("client");
    let stream = client
        .complete(&creds(), &request("chat-1", Some("resp-0"), false))
        .await
        .expect("streams");
    assert_eq!(
        answer_of(stream).await.as_deref(),
        Ok("Your name is Alice.")
    );

    let (headers, query, body) = seen.lock().expect("lock").take().expect("request seen");
    let h = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    };
    assert_eq!(h("authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(
        h("cookie"),
        format!("cna=abc; token={TOKEN}; ssxmod_itna=1-xyz")
    );
    assert_eq!(h("bx-umidtoken"), "umid-123");
    assert_eq!(h("bx-v"), "2.5.37");
    assert_eq!(h("source"), "web");
    assert_eq!(h("version"), "0.3.12");
    assert_eq!(h("user-agent"), "Mozilla/5.0 test");
    assert_eq!(h("accept-language"), "en-US,en;q=0.9");
    assert_eq!(h("accept"), "text/event-stream");
    assert_eq!(h("x-accel-buffering"), "no");
    assert_eq!(h("origin"), base);
    assert_eq!(h("referer"), format!("{base}/c/chat-1"));
    assert!(h("timezone").ends_with(" GMT+0000"), "{}", h("timezone"));
    assert!(uuid::Uuid::parse_str(h("x-request-id")).is_ok());
    assert_eq!(query.as_deref(), Some("chat_id=chat-1"));
    let body: Value = serde_json::from_slice(&body).expect("JSON body");
    assert_eq!(body["parent_id"], "resp-0");
    assert_eq!(body["messages"][0]["parentId"], "resp-0");
}

#[tokio::test]
async fn no_token_no_authorization() {
    let seen: Arc<Mutex<Option<HeaderMap>>> = Arc::default();
    let store = Arc::clone(&seen);
    let app = Router::new().route(
        "/api/v1/auths/",
        get(move |headers: HeaderMap| async move {
            *store.lock().expect("lock") = Some(headers);
            axum::Json(json!({"id": "user"}))
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let anonymous = Credentials::anonymous("cna=abc", Some("umid-123")).expect("credentials");
    client.check_auth(&anonymous).await.expect("accepted");
    let headers = seen.lock().expect("lock").take().expect("request seen");
    assert!(headers.get("authorization").is_none());
    assert_eq!(
        headers
            .get("referer")
            .and_then(|v| v.to_str().ok())
            .map(|r| r.ends_with("/c/new-chat")),
        Some(true)
    );
}

#[tokio::test]
async fn models_fall_back_to_legacy_and_are_cached() {
    let v2_hits = Arc::new(AtomicUsize::new(0));
    let legacy_hits = Arc::new(AtomicUsize::new(0));
    let (v2, legacy) = (Arc::clone(&v2_hits), Arc::clone(&legacy_hits));
    let app = Router::new()
        .route(
            "/api/v2/models/",
            get(move || async move {
                v2.fetch_add(1, Ordering::SeqCst);
                (StatusCode::NOT_FOUND, "no such route")
            }),
        )
        .route(
            "/api/models",
            get(move || async move {
                legacy.fetch_add(1, Ordering::SeqCst);
                json_body("models.json")
            }),
        );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let models = client.list_models(&creds()).await.expect("models");
    assert!(models.iter().any(|m| m.id == "qwen3-max"));
    let again = client.clone().list_models(&creds()).await.expect("cached");
    assert!(Arc::ptr_eq(&models, &again));
    assert_eq!(
        (
            v2_hits.load(Ordering::SeqCst),
            legacy_hits.load(Ordering::SeqCst)
        ),
        (1, 1)
    );
}

#[tokio::test]
async fn models_auth_failure_does_not_fall_back() {
    let legacy_hits = Arc::new(AtomicUsize::new(0));
    let legacy = Arc::clone(&legacy_hits);
    let app = Router::new()
        .route(
            "/api/v2/models/",
            get(|| async { (StatusCode::UNAUTHORIZED, "unauthorized") }),
        )
        .route(
            "/api/models",
            get(move || async move {
                legacy.fetch_add(1, Ordering::SeqCst);
                json_body("models.json")
            }),
        );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let err = client.list_models(&creds()).await.expect_err("rejected");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert_eq!(legacy_hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn new_chat_sends_the_model_and_returns_the_id() {
    let seen: Arc<Mutex<Option<Value>>> = Arc::default();
    let store = Arc::clone(&seen);
    let app = Router::new().route(
        "/api/v2/chats/new",
        post(move |axum::Json(body): axum::Json<Value>| async move {
            *store.lock().expect("lock") = Some(body);
            json_body("chats-new.json")
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let id = client
        .new_chat(&creds(), "qwen3-max")
        .await
        .expect("created");
    assert_eq!(id, "7d3c1e2a-5b4f-4c6d-9e8f-0a1b2c3d4e5f");
    let body = seen.lock().expect("lock").take().expect("request seen");
    assert_eq!(body["models"], json!(["qwen3-max"]));
    assert_eq!(body["chat_mode"], "normal");
    assert!(
        body["timestamp"]
            .as_u64()
            .is_some_and(|ms| ms > 1_000_000_000_000)
    );
}

#[tokio::test]
async fn waf_page_is_blocked_without_retry() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/api/v2/chat/completions",
        post(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            let headers = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
            (StatusCode::FORBIDDEN, headers, fixture("waf-captcha.html")).into_response()
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let err = client
        .complete(&creds(), &request("c", None, false))
        .await
        .expect_err("blocked");
    assert_eq!(err.kind(), ErrorKind::Blocked);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn slow_first_byte_times_out() {
    let app = Router::new().route(
        "/api/v2/chat/completions",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            sse("stream-basic.sse")
        }),
    );
    let mut cfg = config(&serve(app).await);
    cfg.retry_max_attempts = 1;
    cfg.first_byte_timeout = Duration::from_millis(150);
    let client = QwenClient::new(cfg).expect("client");
    let err = client
        .complete(&creds(), &request("c", None, false))
        .await
        .expect_err("too slow");
    assert_eq!(err, QwenError::Timeout(Duration::from_millis(150)));
}

#[tokio::test]
async fn refused_connection_is_a_network_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    let mut cfg = config(&format!("http://{addr}"));
    cfg.retry_max_attempts = 2;
    let client = QwenClient::new(cfg).expect("client");
    let err = client
        .check_auth(&creds())
        .await
        .expect_err("nobody listens");
    assert_eq!(err.kind(), ErrorKind::Network);
}

#[test]
fn secrets_stay_out_of_debug_and_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let client = QwenClient::new(config("http://127.0.0.1:1")).expect("client");
    let shown = format!(
        "{client:?} {:?} {:?}",
        config("http://127.0.0.1:1"),
        creds()
    );
    assert!(
        !shown.contains(TOKEN) && !shown.contains("umid-123"),
        "{shown}"
    );
    let req = request("c", None, false);
    assert_send(&client.complete(&creds(), &req));
    assert_send(&client.list_models(&creds()));
    assert_send(&client.new_chat(&creds(), "m"));
    let mut stream = CompletionStream::from_byte_stream(
        futures_util::stream::empty(),
        Duration::from_secs(1),
        Value::Null,
    );
    assert_send(&stream.next_event());
}

#[test]
fn bad_configs_are_refused_without_quoting_them() {
    let mut cfg = config("http://127.0.0.1:1");
    cfg.user_agent = "Mozilla\nsecret".into();
    let err = QwenClient::new(cfg).expect_err("newline in a header");
    assert!(!err.to_string().contains("secret"), "{err}");
    assert!(QwenClient::new(config("not a url")).is_err());
}

#[tokio::test]
async fn model_list_is_shared_through_the_cache_file() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/api/v2/models/",
        get(move || {
            counter.fetch_add(1, Ordering::SeqCst);
            async { include_str!("../../crates/qwen-fake/fixtures/models-v2.json") }
        }),
    );
    let base = serve(app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("models.json");
    let with_file = || {
        let mut c = config(&base);
        c.models_cache_file = Some(file.clone());
        QwenClient::new(c).unwrap()
    };
    let first = with_file().list_models(&creds()).await.unwrap();
    // A second process (a new client) reads the file instead of the upstream.
    let second = with_file().list_models(&creds()).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    // Another upstream does not reuse it.
    let mut other = config(&base);
    other.base_url = base.replace("127.0.0.1", "localhost");
    other.models_cache_file = Some(file.clone());
    QwenClient::new(other)
        .unwrap()
        .list_models(&creds())
        .await
        .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn the_first_byte_deadline_covers_every_attempt() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/api/v2/chat/completions",
        post(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(30)).await;
            sse("stream-basic.sse")
        }),
    );
    let mut cfg = config(&serve(app).await);
    cfg.retry_max_attempts = 3;
    cfg.first_byte_timeout = Duration::from_millis(400);
    let client = QwenClient::new(cfg).expect("client");
    let started = std::time::Instant::now();
    let err = client
        .complete(&creds(), &request("c", None, false))
        .await
        .expect_err("silent");
    assert_eq!(err, QwenError::Timeout(Duration::from_millis(400)));
    // Three attempts of 400 ms each would take 1.2 s; the deadline is for all of them.
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "no time was left for a retry"
    );
}

#[tokio::test]
async fn a_json_reply_past_max_answer_bytes_is_refused() {
    let app = Router::new().route(
        "/api/v2/models/",
        get(|| async {
            let huge = format!(
                "{{\"data\": {{\"data\": [], \"pad\": \"{}\"}}}}",
                "x".repeat(2 << 20)
            );
            ([(header::CONTENT_TYPE, "application/json")], huge).into_response()
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let err = client.list_models(&creds()).await.expect_err("too large");
    assert_eq!(err, QwenError::too_large("reply", 1024 * 1024));
}

#[tokio::test]
async fn errors_are_redacted_on_the_way_out() {
    const COOKIES: &str = "cna=CnaSecretValue42; token=eyJhbGciOiJIUzI1NiJ9.eyJpZCI6InMifQ.sig";
    let app = Router::new().route(
        "/api/v2/chat/completions",
        post(|headers: HeaderMap| async move {
            let cookie = headers["cookie"].to_str().unwrap_or_default().to_owned();
            let umid = headers["bx-umidtoken"]
                .to_str()
                .unwrap_or_default()
                .to_owned();
            let echo = format!("you sent cookie={cookie}; umid={umid}");
            (StatusCode::UNAUTHORIZED, echo).into_response()
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    // The account pool teaches the redactor the credentials it hands out.
    client.redactor().remember_cookies(COOKIES);
    client.redactor().remember("T2gAumidSecret==");
    let pasted = Credentials::pasted(COOKIES, Some("T2gAumidSecret==")).expect("credentials");
    let err = client
        .complete(&pasted, &request("c", None, false))
        .await
        .expect_err("rejected");
    let shown = format!("{err} {err:?}");
    assert_eq!(err.kind(), ErrorKind::Auth);
    for secret in ["CnaSecretValue42", "eyJhbGciOiJIUzI1NiJ9", "T2gAumidSecret"] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
    assert!(shown.contains("<redacted>"), "{shown}");
}

#[tokio::test]
async fn a_hanging_model_list_is_fetched_once_and_waited_for_briefly() {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    let app = Router::new().route(
        "/api/v2/models/",
        get(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(30)).await;
            json_body("models-v2.json")
        }),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let wait = Duration::from_millis(100);
    let started = std::time::Instant::now();
    let waiters = (0..5).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.list_models_within(&creds(), wait).await })
    });
    for waiter in waiters.collect::<Vec<_>>() {
        assert_eq!(waiter.await.unwrap(), Err(QwenError::Timeout(wait)));
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        hits.load(Ordering::SeqCst),
        1,
        "one fetch in flight for everyone"
    );
}

#[tokio::test]
async fn sign_in_sends_the_password_hash_and_learns_the_token() {
    type Seen = Arc<Mutex<Vec<(HeaderMap, Value)>>>;
    let seen: Seen = Arc::default();
    let store = Arc::clone(&seen);
    let app = Router::new().route(
        "/api/v1/auths/signin",
        post(
            move |headers: HeaderMap, body: axum::Json<Value>| async move {
                let body = body.0;
                store.lock().expect("lock").push((headers, body.clone()));
                if body["password"]
                    == "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
                {
                    axum::Json(json!({"token": "eyJsigned.in.token", "token_type": "Bearer"}))
                        .into_response()
                } else {
                    let detail = "The email or password provided is incorrect. Please check.";
                    (
                        StatusCode::BAD_REQUEST,
                        axum::Json(json!({"detail": detail})),
                    )
                        .into_response()
                }
            },
        ),
    );
    let client = QwenClient::new(config(&serve(app).await)).expect("client");
    let anonymous = Credentials::anonymous("ssxmod_itna=1-abc", Some("umid-9")).unwrap();
    // sha256("password")
    let hash = "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8";
    let token = client
        .sign_in(&anonymous, "a@example.com", hash, client.deadline())
        .await
        .expect("signed in");
    assert_eq!(token, "eyJsigned.in.token");
    let echoed = client.redactor().text("echo eyJsigned.in.token");
    assert_eq!(echoed, "echo <redacted>");
    let err = client
        .sign_in(&anonymous, "a@example.com", "0000", client.deadline())
        .await
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Auth);
    assert!(err.to_string().contains("incorrect"), "{err}");
    let seen = seen.lock().expect("lock");
    let (headers, body) = &seen[0];
    assert_eq!(body, &json!({"email": "a@example.com", "password": hash}));
    assert!(headers.get("authorization").is_none());
    assert_eq!(headers["cookie"], "ssxmod_itna=1-abc");
    assert_eq!(headers["bx-umidtoken"], "umid-9");
}

#[tokio::test]
async fn the_umid_token_comes_from_the_body_or_the_etag() {
    let app = Router::new()
        .route("/w/wu.json", get(|| async { "umx.wu('T2gAfromBody==');" }))
        .route(
            "/w/etag.json",
            get(|| async { ([(header::ETAG, "\"T2gAfromEtag\"")], "{}").into_response() }),
        )
        .route("/w/none.json", get(|| async { "nothing" }));
    let base = serve(app).await;
    let client = QwenClient::new(config("http://127.0.0.1:1")).expect("client");
    let get = |path: &str| {
        let (client, url) = (client.clone(), format!("{base}{path}"));
        async move { client.fetch_umid(&url, client.deadline()).await }
    };
    assert_eq!(get("/w/wu.json").await.as_deref(), Ok("T2gAfromBody=="));
    assert_eq!(get("/w/etag.json").await.as_deref(), Ok("T2gAfromEtag"));
    assert_eq!(
        get("/w/none.json").await.unwrap_err().kind(),
        ErrorKind::Protocol
    );
    // Learnt, so nothing echoes it.
    assert_eq!(client.redactor().text("T2gAfromBody=="), "<redacted>");
}
