//! `GET /v1/events` (issue 16): each exchange arrives once its response is recorded, as the
//! object `GET /v1/requests` lists plus the response's figures; a key hears only of its own
//! exchanges; the stream ends cleanly when the server shuts down.

use futures_util::StreamExt as _;
use serde_json::{Value, json};

use crate::common::*;

/// An open event stream, read one event at a time.
struct Events {
    body: futures_util::stream::BoxStream<'static, reqwest::Result<bytes::Bytes>>,
    buffer: String,
}

impl Events {
    async fn open(s: &TestServer, key: &str) -> Events {
        let resp = s
            .http
            .get(format!("{}/v1/events", s.url))
            .bearer_auth(key)
            .send()
            .await
            .expect("events");
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Events {
            body: resp.bytes_stream().boxed(),
            buffer: String::new(),
        }
    }

    /// The next event (`name`, parsed `data`), skipping comments; `None` when the stream
    /// ended cleanly. A broken stream fails the test.
    async fn next(&mut self) -> Option<(String, Value)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::new();
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                if name.is_empty() {
                    continue; // a `: keep-alive` comment
                }
                return Some((name, serde_json::from_str(&data).expect("JSON data")));
            }
            match self.body.next().await {
                Some(chunk) => {
                    let chunk = chunk.expect("the stream broke instead of ending");
                    self.buffer
                        .push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
                }
                None => {
                    assert!(self.buffer.trim().is_empty(), "cut: {:?}", self.buffer);
                    return None;
                }
            }
        }
    }

    async fn exchange(&mut self) -> Value {
        let (name, data) = self.next().await.expect("an event");
        assert_eq!(name, "exchange", "{data}");
        data
    }
}

async fn keyed() -> TestServer {
    TestServer::start_with(ServerOptions {
        env: vec![
            ("API_KEYS", "sk-one,sk-two".into()),
            ("ADMIN_API_KEYS", "sk-admin".into()),
        ],
        ..Default::default()
    })
    .await
}

async fn chat(s: &TestServer, key: &str, text: &str, stream: bool) {
    let resp = s
        .http
        .post(format!("{}/v1/chat/completions", s.url))
        .bearer_auth(key)
        .json(&json!({"model": "qwen3-max", "stream": stream,
            "messages": [{"role": "user", "content": text}]}))
        .send()
        .await
        .expect("chat");
    assert_eq!(resp.status(), 200);
    resp.bytes().await.expect("answer");
}

#[tokio::test]
async fn each_exchange_arrives_once_recorded_and_each_key_hears_only_its_own() {
    let s = keyed().await;
    let mut one = Events::open(&s, "sk-one").await;
    let mut admin = Events::open(&s, "sk-admin").await;

    chat(&s, "sk-one", "first of key one", false).await;
    let event = one.exchange().await;
    // The item `GET /v1/requests` lists for it, plus the response's figures.
    let listed: Value = s
        .http
        .get(format!("{}/v1/requests?limit=1", s.url))
        .bearer_auth("sk-one")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let item = listed["data"][0].as_object().unwrap();
    for (field, value) in item {
        assert_eq!(&event[field], value, "{field}");
    }
    assert_eq!(event["object"], "request");
    assert_eq!(event["status"], "ok");
    assert_eq!(event["model"], "qwen3-max");
    assert_eq!(event["api_key_id"], "key-1");
    assert!(event["session_id"].is_string());
    for field in [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "duration_ms",
    ] {
        assert!(event[field].as_i64().is_some(), "{field}: {event}");
    }
    assert!(event["total_tokens"].as_i64().unwrap() > 0);
    assert!(event["first_token_ms"].as_i64().is_some(), "{event}");
    let response: Value = s
        .http
        .get(format!(
            "{}/v1/responses/{}",
            s.url,
            event["response_id"].as_str().unwrap()
        ))
        .bearer_auth("sk-one")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["request_id"], event["id"]);
    assert_eq!(response["duration_ms"], event["duration_ms"]);

    // Key two's exchange is not key one's business; the admin hears both, in order.
    chat(&s, "sk-two", "secret of key two", true).await;
    chat(&s, "sk-one", "second of key one", true).await;
    let next = one.exchange().await;
    assert_eq!(next["api_key_id"], "key-1");
    assert_ne!(next["id"], event["id"]);
    assert!(next["stream"].as_bool().unwrap());
    let keys: Vec<Value> = [
        admin.exchange().await,
        admin.exchange().await,
        admin.exchange().await,
    ]
    .iter()
    .map(|e| e["api_key_id"].clone())
    .collect();
    assert_eq!(keys, [json!("key-1"), json!("key-2"), json!("key-1")]);
}

#[tokio::test]
async fn a_failed_exchange_arrives_with_its_error_class() {
    let s = TestServer::start().await;
    let mut events = Events::open(&s, "unused").await;
    let (status, _) = s
        .chat("qwen3-max", &msgs(&[("user", "[[fake:ratelimit]] fail")]))
        .await;
    assert_eq!(status, 429);
    let event = events.exchange().await;
    assert_eq!(event["status"], "error");
    assert_eq!(event["error_kind"], "rate_limited");
}

#[tokio::test]
async fn the_stream_needs_a_key_and_the_data_api() {
    let s = keyed().await;
    let resp = s.get("/v1/events").await;
    assert_eq!(resp.status(), 401);
    let off = TestServer::start_with(ServerOptions {
        env: vec![("ENABLE_CRUD_API", "false".into())],
        ..Default::default()
    })
    .await;
    assert_eq!(off.get("/v1/events").await.status(), 404);
}

#[tokio::test]
async fn the_stream_ends_cleanly_when_the_server_shuts_down() {
    let mut s = keyed().await;
    let mut events = Events::open(&s, "sk-admin").await;
    chat(&s, "sk-one", "before the shutdown", false).await;
    assert_eq!(events.exchange().await["status"], "ok");
    let handle = s.begin_shutdown().expect("running");
    // Ends without an error event and without the connection being cut.
    assert_eq!(events.next().await, None);
    handle.await.expect("serve").expect("serve ended cleanly");
}
