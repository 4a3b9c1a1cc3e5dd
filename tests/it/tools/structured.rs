//! Structured outputs (design.md §9): `response_format` `json_object` and `json_schema`, one
//! JSON value extracted and validated, one correction on failure, `content` exactly the JSON.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

fn schema() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": "weather",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {"city": {"type": "string"}, "temp": {"type": "integer"}},
                "required": ["city", "temp"],
                "additionalProperties": false,
            }
        }
    })
}

fn ask(prompt: &str, format: Value) -> Value {
    json!({
        "model": "qwen3-max",
        "messages": [{"role": "user", "content": prompt}],
        "response_format": format,
    })
}

#[tokio::test]
async fn json_schema_content_is_exactly_the_json() {
    let s = TestServer::start().await;
    // The fake wraps the value in prose and a fence; the client gets the JSON alone.
    for stream in [false, true] {
        let body = ask(
            r#"Paris please. [[json:{"city":"Paris","temp":21}]]"#,
            schema(),
        );
        let content = if stream {
            streamed(&stream_chunks(&s, body).await).0
        } else {
            message(&s, body).await["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        let value: Value = serde_json::from_str(&content).expect("content is JSON");
        assert_eq!(value, json!({"city": "Paris", "temp": 21}));
    }
    let sent = sent_content(&s.completions()[0]);
    assert!(
        sent.contains("valid against this JSON Schema:\n{"),
        "{sent}"
    );

    // Without a directive the fake answers a value made from the schema.
    let choice = message(&s, ask("Weather?", schema())).await;
    let value: Value =
        serde_json::from_str(choice["message"]["content"].as_str().unwrap()).unwrap();
    assert!(
        value["city"].is_string() && value["temp"].is_i64(),
        "{value}"
    );
}

#[tokio::test]
async fn invalid_json_is_corrected_once() {
    let s = TestServer::start().await;
    let choice = message(&s, ask("[[json-broken]]", schema())).await;
    let value: Value =
        serde_json::from_str(choice["message"]["content"].as_str().unwrap()).unwrap();
    assert!(value["temp"].is_i64(), "{value}");
    let sent = s.completions();
    assert_eq!(sent.len(), 2);
    assert!(sent_content(&sent[1]).ends_with("Answer again with only the JSON value."));
    assert_eq!(chat_id(&sent[0]), chat_id(&sent[1]));
}

#[tokio::test]
async fn json_object_mode() {
    let s = TestServer::start().await;
    let choice = message(&s, ask("Say hi as JSON.", json!({"type": "json_object"}))).await;
    let value: Value =
        serde_json::from_str(choice["message"]["content"].as_str().unwrap()).unwrap();
    assert!(value.is_object());
    assert!(
        sent_content(&s.completions()[0])
            .ends_with("Answer with one JSON object and nothing else (no prose, no code fence).")
    );
}
