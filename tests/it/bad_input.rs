//! Bad input of every kind (issue 8, item 4): property tests over the request parsers and
//! the upstream SSE reader, then the same abuse over HTTP.
//!
//! The properties are "never panics, always terminates" plus the one invariant a stream
//! reader must keep: how the bytes are cut into chunks never changes what is read. Over
//! HTTP, every malformed, mistyped, oversized or deeply nested body is a 4xx carrying the
//! OpenAI error object: never a 5xx, never a hang. Case counts are fixed (256 per
//! property) and failures are not persisted to disk, so runs are reproducible in CI time.
//! Kept whole: the generators serve both the parser properties and the HTTP abuse.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use proptest::prelude::*;
use proptest::test_runner::Config;
use qwenctl::openai::{parse_chat_request, parse_completion_request};
use qwenctl::qwen::{CompletionStream, QwenError, QwenEvent};
use serde_json::{Value, json};

use crate::common::*;
use crate::robustness::MEMORY_LOCK;

fn config() -> Config {
    Config {
        cases: 256,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Any JSON value, up to a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f)
            .map(Value::Number)),
        "\\PC{0,16}".prop_map(Value::String),
        prop_oneof![
            Just("user"),
            Just("system"),
            Just("assistant"),
            Just("developer"),
            Just("tool"),
            Just("qwen3-max"),
            Just("text"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((key(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Keys the parsers look at, plus noise, so generated objects reach the validators.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "model", "messages", "role", "content", "stream", "stream_options", "include_usage",
            "max_tokens", "max_completion_tokens", "stop", "temperature", "top_p", "n", "user",
            "prompt", "echo", "enable_thinking", "reasoning_effort", "type", "text", "name",
        ])
        .prop_map(str::to_owned),
        1 => "[a-z_]{1,10}",
    ]
}

/// A request-shaped object: a model and messages (or a prompt) of arbitrary values.
fn request_like() -> impl Strategy<Value = Value> {
    let message = (
        prop_oneof![
            Just(json!("user")),
            Just(json!("system")),
            Just(json!("assistant")),
            any_json()
        ],
        any_json(),
        prop::option::of(any_json()),
    )
        .prop_map(|(role, content, extra)| {
            let mut m = json!({"role": role, "content": content});
            if let Some(extra) = extra {
                m["name"] = extra;
            }
            m
        });
    (
        prop_oneof![Just(json!("qwen3-max")), any_json()],
        prop::collection::vec(message, 0..4),
        any_json(),
        prop::collection::vec((key(), any_json()), 0..4),
    )
        .prop_map(|(model, messages, prompt, extra)| {
            let mut obj = serde_json::Map::new();
            obj.insert("model".into(), model);
            obj.insert("messages".into(), Value::Array(messages));
            obj.insert("prompt".into(), prompt);
            for (k, v) in extra {
                obj.insert(k, v);
            }
            Value::Object(obj)
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parsers_survive_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = parse_chat_request(&bytes);
        let _ = parse_completion_request(&bytes);
    }

    #[test]
    fn parsers_survive_arbitrary_json(value in any_json()) {
        let bytes = value.to_string().into_bytes();
        // Only objects can be requests.
        if !value.is_object() {
            prop_assert!(parse_chat_request(&bytes).is_err());
            prop_assert!(parse_completion_request(&bytes).is_err());
        }
        let _ = parse_chat_request(&bytes);
        let _ = parse_completion_request(&bytes);
    }

    #[test]
    fn parsers_survive_request_shaped_json(value in request_like()) {
        let bytes = value.to_string().into_bytes();
        for result in [parse_chat_request(&bytes).map(drop), parse_completion_request(&bytes).map(drop)] {
            if let Err(invalid) = result {
                prop_assert!(!invalid.message.is_empty());
            }
        }
    }
}

/// Everything a reader yields until it ends, with a bound on steps: a parser that kept
/// yielding forever would fail here instead of hanging.
fn read_all(chunks: Vec<Vec<u8>>) -> (Vec<QwenEvent>, Result<(), QwenError>) {
    let body = stream::iter(
        chunks
            .into_iter()
            .map(|c| Ok::<_, QwenError>(Bytes::from(c))),
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut s = CompletionStream::from_byte_stream(body, Duration::from_secs(5), Value::Null);
        let mut events = Vec::new();
        for _ in 0..100_000 {
            match s.next_event().await {
                Ok(Some(event)) => events.push(event),
                Ok(None) => return (events, Ok(())),
                Err(err) => {
                    assert_eq!(s.next_event().await, Ok(None), "errors end the stream");
                    return (events, Err(err));
                }
            }
        }
        panic!("the reader kept yielding events");
    })
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/crates/qwen-fake/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

const FIXTURES: &[&str] = &[
    "stream-basic.sse",
    "stream-basic-2025.sse",
    "stream-thinking.sse",
    "stream-think-legacy.sse",
    "stream-search.sse",
    "stream-turn2.sse",
    "stream-error-inline.sse",
    "stream-truncated.sse",
    "stream-empty.sse",
    "stream-image-gen.sse",
];

/// Cuts `bytes` at the given fractions of its length.
fn cut(bytes: &[u8], mut points: Vec<usize>) -> Vec<Vec<u8>> {
    points.iter_mut().for_each(|p| *p %= bytes.len() + 1);
    points.sort_unstable();
    let mut chunks = Vec::new();
    let mut at = 0;
    for p in points {
        chunks.push(bytes[at..p].to_vec());
        at = p;
    }
    chunks.push(bytes[at..].to_vec());
    chunks
}

/// Bytes that look like SSE: framing, JSON punctuation and the upstream's key words.
fn sse_soup() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        3 => prop::sample::select(vec![
            "data: ", "data:", "event: ", "\n", "\n\n", "\r\n", ": ping\n", "{", "}", "[", "]",
            ",", ":", "\"", "[DONE]", "\"choices\"", "\"delta\"", "\"content\"", "\"phase\"",
            "\"answer\"", "\"think\"", "\"thinking_summary\"", "\"status\"", "\"finished\"",
            "\"typing\"", "\"response.created\"", "\"response_id\"", "\"usage\"",
            "\"output_tokens\"", "\"error\"", "\"code\"", "\"success\"", "false", "null", "1",
            "<html>", "\u{00e9}",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
        1 => prop::collection::vec(any::<u8>(), 1..8),
    ];
    prop::collection::vec(token, 0..64).prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sse_reader_survives_arbitrary_chunks(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..64), 0..16)) {
        let _ = read_all(chunks);
    }

    #[test]
    fn sse_reader_survives_sse_shaped_noise(soup in sse_soup(), points in prop::collection::vec(any::<usize>(), 0..6)) {
        let _ = read_all(cut(&soup, points));
    }

    #[test]
    fn sse_reader_reads_the_same_however_a_fixture_is_cut(
        which in 0..FIXTURES.len(),
        points in prop::collection::vec(any::<usize>(), 0..12),
    ) {
        let bytes = fixture(FIXTURES[which]);
        let whole = read_all(vec![bytes.clone()]);
        prop_assert_eq!(read_all(cut(&bytes, points)), whole, "{}", FIXTURES[which]);
    }

    #[test]
    fn sse_reader_survives_mutated_fixtures(
        which in 0..FIXTURES.len(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0..3u8), 1..8),
        points in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut bytes = fixture(FIXTURES[which]);
        for (at, byte, op) in edits {
            let at = at % (bytes.len() + 1);
            match op {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => { bytes.remove(at); }
                _ => bytes.insert(at, byte),
            }
        }
        let _ = read_all(cut(&bytes, points));
    }
}

/// Posts raw bytes; returns (status, content type, body as JSON or Null).
async fn post_raw(
    s: &TestServer,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, Value) {
    let mut req = s.http.post(format!("{}{path}", s.url)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = tokio::time::timeout(Duration::from_secs(60), req.send())
        .await
        .expect("the server hung")
        .expect("request");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = tokio::time::timeout(Duration::from_secs(60), resp.bytes())
        .await
        .expect("the server hung on the body")
        .expect("body");
    (
        status,
        ct,
        serde_json::from_slice(&body).unwrap_or(Value::Null),
    )
}

/// Asserts an OpenAI-shaped client error.
fn assert_client_error(what: &str, (status, ct, body): &(u16, String, Value), expected: u16) {
    assert_eq!(*status, expected, "{what}: {body}");
    assert!(ct.starts_with("application/json"), "{what}: {ct}");
    let error = &body["error"];
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {body}"
    );
    assert!(error["type"].is_string(), "{what}: {body}");
    assert!(
        error.get("param").is_some() && error.get("code").is_some(),
        "{what}: {body}"
    );
}

fn nested(depth: usize, open: &str, close: &str, inner: &str) -> String {
    format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_400s() {
    let s = TestServer::start().await;
    let json_ct = Some("application/json");
    let chat = "/v1/chat/completions";
    let legacy = "/v1/completions";
    let user = |content: Value| json!({"model": "qwen3-max", "messages": [{"role": "user", "content": content}]});
    let cases: Vec<(&str, &str, Option<&str>, Vec<u8>)> = vec![
        ("empty body", chat, json_ct, Vec::new()),
        ("empty body, no content type", chat, None, Vec::new()),
        ("empty body, legacy", legacy, json_ct, Vec::new()),
        ("truncated JSON", chat, json_ct, br#"{"model": "qwen3-max", "messages": ["#.to_vec()),
        ("trailing garbage", chat, json_ct, [user(json!("hi")).to_string().as_bytes(), b"}"].concat()),
        ("not an object", chat, json_ct, b"[1, 2, 3]".to_vec()),
        ("a bare string", legacy, json_ct, br#""hello""#.to_vec()),
        ("model is a number", chat, json_ct, json!({"model": 5, "messages": [{"role": "user", "content": "hi"}]}).to_string().into_bytes()),
        ("messages is a string", chat, json_ct, json!({"model": "qwen3-max", "messages": "hi"}).to_string().into_bytes()),
        ("messages is empty", chat, json_ct, json!({"model": "qwen3-max", "messages": []}).to_string().into_bytes()),
        ("unknown role", chat, json_ct, json!({"model": "qwen3-max", "messages": [{"role": "wizard", "content": "hi"}]}).to_string().into_bytes()),
        ("content is a number", chat, json_ct, user(json!(42)).to_string().into_bytes()),
        ("stream is a string", chat, json_ct, json!({"model": "qwen3-max", "stream": "yes", "messages": [{"role": "user", "content": "hi"}]}).to_string().into_bytes()),
        ("max_tokens is negative", chat, json_ct, json!({"model": "qwen3-max", "max_tokens": -1, "messages": [{"role": "user", "content": "hi"}]}).to_string().into_bytes()),
        ("temperature is a word", chat, json_ct, json!({"model": "qwen3-max", "temperature": "hot", "messages": [{"role": "user", "content": "hi"}]}).to_string().into_bytes()),
        ("prompt is an object", legacy, json_ct, json!({"model": "qwen3-max", "prompt": {"a": 1}}).to_string().into_bytes()),
        ("prompt is missing", legacy, json_ct, json!({"model": "qwen3-max"}).to_string().into_bytes()),
        ("invalid UTF-8 in a string", chat, json_ct,
            [&br#"{"model": "qwen3-max", "messages": [{"role": "user", "content": "a"#[..], b"\xff\xfe", br#""}]}"#].concat()),
        ("invalid UTF-8 in a legacy prompt", legacy, json_ct,
            [&br#"{"model": "qwen3-max", "prompt": "caf"#[..], b"\xc3\x28", br#""}"#].concat()),
        ("a lone surrogate escape", chat, json_ct, br#"{"model": "qwen3-max", "messages": [{"role": "user", "content": "\ud800"}]}"#.to_vec()),
        ("NUL bytes", chat, json_ct, b"\0\0\0\0".to_vec()),
        ("a form body", chat, Some("application/x-www-form-urlencoded"), b"model=qwen3-max&messages=hi".to_vec()),
        ("plain text", legacy, Some("text/plain"), b"complete this sentence".to_vec()),
        ("10,000 nested arrays as content", chat, json_ct,
            format!(r#"{{"model": "qwen3-max", "messages": [{{"role": "user", "content": {}}}]}}"#, nested(10_000, "[", "]", "")).into_bytes()),
        ("10,000 nested objects in an unknown field", chat, json_ct,
            format!(r#"{{"model": "qwen3-max", "extra": {}, "messages": []}}"#, nested(10_000, r#"{"a":"#, "}", "1")).into_bytes()),
        ("10,000 nested arrays as the whole body", legacy, json_ct, nested(10_000, "[", "]", "").into_bytes()),
    ];
    for (what, path, ct, body) in cases {
        let got = post_raw(&s, path, ct, body).await;
        assert_client_error(what, &got, 400);
    }
    // Every refusal was recorded as such; none reached the upstream.
    assert!(s.completions().is_empty());
}

#[tokio::test]
async fn huge_inputs_are_refused_or_answered_never_a_5xx() {
    let _quiet = MEMORY_LOCK.lock().await;
    let s = TestServer::start().await;
    let chat = "/v1/chat/completions";
    let json_ct = Some("application/json");
    let mega = "x".repeat(1 << 20);

    // 1 MB where a short value belongs: refused with a 4xx naming the problem.
    let got = post_raw(
        &s,
        chat,
        json_ct,
        json!({"model": mega, "messages": [{"role": "user", "content": "hi"}]})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_client_error("1 MB model name", &got, 404);
    let got = post_raw(
        &s,
        chat,
        json_ct,
        json!({"model": "qwen3-max", "messages": [{"role": mega, "content": "hi"}]})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_client_error("1 MB role", &got, 400);
    let got = post_raw(
        &s,
        chat,
        json_ct,
        json!({"model": "qwen3-max", "messages": [{"role": "wizard", "content": mega}]})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_client_error("1 MB content under a bad role", &got, 400);
    let digits = format!(
        r#"{{"model": "qwen3-max", "max_tokens": {}, "messages": [{{"role": "user", "content": "hi"}}]}}"#,
        "9".repeat(1 << 20)
    );
    let got = post_raw(&s, chat, json_ct, digits.into_bytes()).await;
    assert_client_error("a 1 MB number", &got, 400);
    assert!(s.completions().is_empty());

    // Over MAX_REQUEST_BODY (10 MB by default): 413, still the OpenAI shape.
    let over = json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "y".repeat(11 << 20)}]});
    let got = post_raw(&s, chat, json_ct, over.to_string().into_bytes()).await;
    assert_client_error("an 11 MB body", &got, 413);

    // 1 MB of valid content is a valid request: answered, not refused.
    let (status, _, body) = post_raw(
        &s,
        chat,
        json_ct,
        json!({"model": "qwen3-max", "messages": [{"role": "user", "content": mega}]})
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("You said: xxx") && content.ends_with('…'),
        "{content}"
    );
}

#[tokio::test]
async fn the_content_type_is_not_what_decides() {
    let s = TestServer::start().await;
    // A JSON body is read as JSON whatever the header says (curl -d sends a form type):
    // the body alone decides, so a valid one is answered and an invalid one is a 400.
    let valid = json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "typed"}]});
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let (status, _, body) = post_raw(
            &s,
            "/v1/chat/completions",
            ct,
            valid.to_string().into_bytes(),
        )
        .await;
        assert_eq!(status, 200, "{ct:?}: {body}");
        assert_eq!(body["choices"][0]["message"]["content"], "You said: typed");
    }
    let got = post_raw(
        &s,
        "/v1/chat/completions",
        Some("multipart/form-data; boundary=x"),
        b"--x\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nqwen3-max\r\n--x--\r\n"
            .to_vec(),
    )
    .await;
    assert_client_error("a multipart body", &got, 400);
}
