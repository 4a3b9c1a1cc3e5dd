//! Upstream failures in Anthropic's shapes and statuses (design.md §3.1 and §10), so Claude
//! Code's and the SDKs' own retry logic see the errors they know.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

#[tokio::test]
async fn every_failure_class_has_its_anthropic_type_and_status() {
    let s = TestServer::start().await;
    for (fault, status, kind) in [
        ("ratelimit", 429, "rate_limit_error"),
        ("http429", 429, "rate_limit_error"),
        ("waf", 503, "overloaded_error"),
        ("auth", 502, "api_error"),
        ("500", 502, "api_error"),
        ("bad-request", 502, "api_error"),
        ("empty", 502, "api_error"),
    ] {
        let body = json!({"model": "qwen3-max", "max_tokens": 50, "messages": [user(&format!("[[fake:{fault}]]"))]});
        let (got, headers, text) = call(&s, "/v1/messages", &body).await;
        assert_eq!(got, status, "{fault}: {text}");
        let error: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(error["type"], "error", "{fault}");
        assert_eq!(error["error"]["type"], kind, "{fault}: {text}");
        assert!(!error["error"]["message"].as_str().unwrap().is_empty());
        if fault == "http429" {
            assert!(headers.contains_key("retry-after"), "{fault}");
        }
    }
}

#[tokio::test]
async fn a_silent_upstream_is_a_504_api_error() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![
            ("QWEN_FIRST_BYTE_TIMEOUT", "300".into()),
            ("RETRY_MAX_ATTEMPTS", "1".into()),
        ],
        ..Default::default()
    })
    .await;
    let body = json!({"model": "qwen3-max", "max_tokens": 50, "messages": [user("[[fake:hang]]")]});
    let (status, _, text) = call(&s, "/v1/messages", &body).await;
    assert_eq!(status, 504, "{text}");
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["error"]["type"], "api_error");
}

#[tokio::test]
async fn a_failure_after_the_stream_began_is_an_error_event() {
    let s = TestServer::start().await;
    let body = json!({"model": "qwen3-max", "max_tokens": 50, "stream": true, "messages": [user("[[fake:stream-error]] go")]});
    let (status, _, text) = call(&s, "/v1/messages", &body).await;
    assert_eq!(status, 200);
    assert!(text.starts_with("event: message_start\n"), "{text}");
    let last = text.trim_end().rsplit("\n\n").next().unwrap();
    assert!(last.starts_with("event: error\ndata: "), "{text}");
    let error: Value = serde_json::from_str(last.split_once("data: ").unwrap().1).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "rate_limit_error");
    assert!(!text.contains("message_stop"));
}
