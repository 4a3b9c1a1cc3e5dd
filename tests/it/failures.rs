//! The upstream failure table of design.md §3.1, row by row, against the fake's faults.

use serde_json::{Value, json};

use crate::common::*;

async fn fail_with(s: &TestServer, fault: &str) -> (u16, Option<String>, Value) {
    let resp = s
        .post(
            "/v1/chat/completions",
            &json!({"model": "qwen3-max",
                    "messages": [{"role": "user", "content": format!("[[fake:{fault}]] hello")}]}),
        )
        .await;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        retry_after,
        resp.json().await.unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn every_failure_maps_to_its_status_and_code() {
    let s = TestServer::start().await;
    let table = [
        ("auth", 502, "upstream_auth_failed"),
        ("auth-stream", 502, "upstream_auth_failed"),
        ("ratelimit", 429, "rate_limited"),
        ("ratelimit-stream", 429, "rate_limited"),
        ("http429", 429, "rate_limited"),
        ("stream-error", 429, "rate_limited"),
        ("waf", 503, "upstream_blocked"),
        ("waf-json", 503, "upstream_blocked"),
        ("500", 502, "upstream_error"),
        ("bad-request", 502, "upstream_error"),
        ("empty", 502, "upstream_error"),
        ("done-only", 502, "upstream_error"),
        ("disconnect", 502, "upstream_error"),
    ];
    for (fault, status, code) in table {
        let (got, _, body) = fail_with(&s, fault).await;
        assert_eq!(got, status, "{fault}: {body}");
        assert_eq!(body["error"]["code"], code, "{fault}: {body}");
        assert!(body["error"]["message"].is_string(), "{fault}");
    }
    let (_, _, body) = fail_with(&s, "auth").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("QWEN_COOKIES")
    );
}

#[tokio::test]
async fn rate_limits_carry_retry_after_and_are_not_retried() {
    let s = TestServer::start().await;
    let (_, retry_after, _) = fail_with(&s, "ratelimit").await;
    assert_eq!(retry_after.as_deref(), Some("7200"));
    let (_, retry_after, _) = fail_with(&s, "http429").await;
    assert_eq!(retry_after.as_deref(), Some("7"));
    // RETRY_MAX_ATTEMPTS=2 in tests; rate limits get exactly one attempt each.
    assert_eq!(s.completions().len(), 2);
}

#[tokio::test]
async fn server_errors_are_retried_and_a_flaky_upstream_succeeds() {
    let s = TestServer::start().await;
    let _ = fail_with(&s, "500").await;
    assert_eq!(s.completions().len(), 2, "two attempts for a 5xx");
    let answer = s.answer(&msgs(&[("user", "[[fake:flaky]] hi")])).await;
    assert_eq!(answer, "You said: [[fake:flaky]] hi");
    assert_eq!(s.completions().len(), 4);
}

#[tokio::test]
async fn silence_before_the_first_byte_is_a_504() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![
            ("QWEN_FIRST_BYTE_TIMEOUT", "300".into()),
            ("RETRY_MAX_ATTEMPTS", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let (status, _, body) = fail_with(&s, "hang").await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "upstream_timeout");
}

#[tokio::test]
async fn failures_after_streaming_began_are_sse_error_events() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("QWEN_IDLE_TIMEOUT", "300".into())],
        ..Default::default()
    })
    .await;
    for (fault, code) in [
        ("disconnect", "upstream_error"),
        ("stream-error", "rate_limited"),
        ("hang-after-first", "upstream_timeout"),
    ] {
        let resp = s
            .post(
                "/v1/chat/completions",
                &json!({"model": "qwen3-max", "stream": true,
                        "messages": [{"role": "user", "content": format!("[[fake:{fault}]] go")}]}),
            )
            .await;
        assert_eq!(resp.status(), 200, "{fault}");
        let events = sse_events(resp).await;
        assert!(
            !events.iter().any(|e| e == "[DONE]"),
            "{fault}: a failed stream must not end with [DONE]"
        );
        let chunks = json_events(&events);
        let last = chunks.last().unwrap();
        assert_eq!(last["error"]["code"], code, "{fault}: {last}");
        assert!(
            chunks
                .iter()
                .all(|c| c["choices"][0]["finish_reason"] != "stop"),
            "{fault}: no successful finish"
        );
    }
}

#[tokio::test]
async fn failures_are_recorded_with_their_status() {
    let s = TestServer::start().await;
    let _ = fail_with(&s, "waf").await;
    let _ = s
        .post("/v1/chat/completions", &json!({"model": "qwen3-max"}))
        .await;
    let body: Value = s.get("/v1/responses?limit=10").await.json().await.unwrap();
    let rows = body["data"].as_array().unwrap();
    let kinds: Vec<&str> = rows
        .iter()
        .filter_map(|r| r["error_kind"].as_str())
        .collect();
    assert!(kinds.contains(&"blocked"), "{body}");
    assert!(kinds.contains(&"invalid_request"), "{body}");
    assert!(rows.iter().all(|r| r["status"] == "error"));
}

#[tokio::test]
async fn a_client_that_leaves_a_non_streamed_answer_is_recorded_as_cancelled() {
    let s = TestServer::start().await;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(400))
        .build()
        .unwrap();
    let gone = client
        .post(format!("{}/v1/chat/completions", s.url))
        .json(&json!({"model": "qwen3-max",
                      "messages": [{"role": "user", "content": "[[fake:slow=150]] one two three four five six"}]}))
        .send()
        .await;
    assert!(gone.is_err(), "the client should have timed out");
    let mut statuses = Vec::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let body: Value = s.get("/v1/responses").await.json().await.unwrap();
        statuses = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["status"].as_str().unwrap_or_default().to_owned())
            .collect();
        if !statuses.is_empty() {
            break;
        }
    }
    assert_eq!(statuses, ["cancelled"]);
}
