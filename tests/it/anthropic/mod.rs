//! The Anthropic Messages API through `serve` (design.md §10): the same engine, store and
//! tool emulation as chat completions, Anthropic's wire (messages, content blocks, its event
//! stream and error shapes).

mod errors;
mod messages;
mod tools;

use serde_json::{Value, json};

use crate::common::*;

/// `POST path` with Anthropic's headers; returns (status, headers, body text).
pub async fn call(
    s: &TestServer,
    path: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = s
        .http
        .post(format!("{}{path}", s.url))
        .header("anthropic-version", "2023-06-01")
        .header(
            "anthropic-beta",
            "claude-code-20250219,interleaved-thinking-2025-05-14",
        )
        .json(body)
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap_or_default())
}

/// A non-streamed message: (status, body).
pub async fn create(s: &TestServer, body: Value) -> (u16, Value) {
    let (status, _, text) = call(s, "/v1/messages?beta=true", &body).await;
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A successful non-streamed message.
pub async fn message(s: &TestServer, body: Value) -> Value {
    let (status, body) = create(s, body).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The `(event, data)` pairs of a streamed message.
pub async fn events(s: &TestServer, mut body: Value) -> Vec<(String, Value)> {
    body["stream"] = json!(true);
    let (status, headers, text) = call(s, "/v1/messages?beta=true", &body).await;
    assert_eq!(status, 200, "{text}");
    assert_eq!(headers["content-type"], "text/event-stream");
    text.split("\n\n")
        .filter(|e| !e.trim().is_empty())
        .map(|e| {
            let mut name = String::new();
            let mut data = Value::Null;
            for line in e.lines() {
                if let Some(n) = line.strip_prefix("event: ") {
                    name = n.to_owned();
                } else if let Some(d) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(d).unwrap_or_else(|_| panic!("bad data {d}"));
                }
            }
            assert_eq!(
                data["type"],
                name.as_str(),
                "event name and data type agree"
            );
            (name, data)
        })
        .collect()
}

/// Text, thinking and tool_use blocks rebuilt from a stream, plus the stop reason.
pub fn rebuild(events: &[(String, Value)]) -> (Vec<Value>, Option<String>) {
    let mut blocks: Vec<Value> = Vec::new();
    let mut stop = None;
    for (name, data) in events {
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(data["index"], blocks.len());
                blocks.push(data["content_block"].clone());
            }
            "content_block_delta" => {
                let block = blocks.last_mut().expect("a delta inside a block");
                let delta = &data["delta"];
                match delta["type"].as_str().unwrap() {
                    "text_delta" => append(block, "text", &delta["text"]),
                    "thinking_delta" => append(block, "thinking", &delta["thinking"]),
                    "signature_delta" => append(block, "signature", &delta["signature"]),
                    "input_json_delta" => append(block, "partial_json", &delta["partial_json"]),
                    other => panic!("unknown delta {other}"),
                }
            }
            "message_delta" => stop = data["delta"]["stop_reason"].as_str().map(str::to_owned),
            _ => {}
        }
    }
    for block in &mut blocks {
        if let Some(json) = block.get("partial_json").and_then(Value::as_str) {
            block["input"] = serde_json::from_str(json).expect("input_json_delta is JSON");
        }
    }
    (blocks, stop)
}

fn append(block: &mut Value, key: &str, text: &Value) {
    let mut s = block[key].as_str().unwrap_or_default().to_owned();
    s.push_str(text.as_str().expect("delta text"));
    block[key] = json!(s);
}

pub fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

pub fn weather_tool() -> Value {
    json!({
        "name": "get_weather",
        "description": "The weather of a city.",
        "input_schema": {
            "$schema": "http://json-schema.org/draft-07/schema#",
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": false,
        }
    })
}
