//! Tools and structured outputs on chat completions (design.md §9), through `serve` against
//! the fake, which answers like a tool-calling model: `[[call:NAME {json}]]` directives in a
//! prompt make it call, `[[then]]` separates the steps of a loop, `[[form:…]]` picks a
//! tolerant form, `[[broken]]` a wrong first answer; without directives it obeys the
//! `tool_choice` rule and summarises results.

mod archive;
mod calls;
mod loops;
mod structured;

use serde_json::{Value, json};

use crate::common::*;

/// A function tool in OpenAI's shape.
pub fn tool(name: &str, properties: Value, required: &[&str]) -> Value {
    json!({
        "type": "function",
        "function": {
            "name": name,
            "description": format!("The {name} tool."),
            "parameters": {"type": "object", "properties": properties, "required": required},
        }
    })
}

pub fn weather() -> Value {
    tool(
        "get_weather",
        json!({"city": {"type": "string"}}),
        &["city"],
    )
}

pub fn clock() -> Value {
    tool("get_time", json!({"tz": {"type": "string"}}), &["tz"])
}

/// A chat completion with tools; returns (status, body).
pub async fn chat_with(s: &TestServer, body: Value) -> (u16, Value) {
    let resp = s.post("/v1/chat/completions", &body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// The message of a successful non-streamed chat.
pub async fn message(s: &TestServer, body: Value) -> Value {
    let (status, body) = chat_with(s, body).await;
    assert_eq!(status, 200, "{body}");
    body["choices"][0].clone()
}

/// `(name, parsed arguments)` of each call in a choice.
pub fn calls_of(choice: &Value) -> Vec<(String, Value)> {
    choice["message"]["tool_calls"]
        .as_array()
        .map(|calls| {
            calls
                .iter()
                .map(|c| {
                    assert_eq!(c["type"], "function");
                    let id = c["id"].as_str().expect("call id");
                    assert!(
                        id.len() == 29
                            && id.starts_with("call_")
                            && id[5..].chars().all(|c| c.is_ascii_alphanumeric()),
                        "{id}"
                    );
                    let args = c["function"]["arguments"]
                        .as_str()
                        .expect("string arguments");
                    (
                        c["function"]["name"].as_str().unwrap().to_owned(),
                        serde_json::from_str(args).expect("arguments are JSON"),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The streamed chunks of a request, parsed (without `[DONE]`).
pub async fn stream_chunks(s: &TestServer, mut body: Value) -> Vec<Value> {
    body["stream"] = json!(true);
    let resp = s.post("/v1/chat/completions", &body).await;
    assert_eq!(resp.status(), 200);
    let events = sse_events(resp).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    json_events(&events)
}

/// Content deltas joined, tool-call deltas in order, and the finish reason of a stream.
pub fn streamed(chunks: &[Value]) -> (String, Vec<Value>, Option<String>) {
    let mut content = String::new();
    let mut calls = Vec::new();
    let mut finish = None;
    for chunk in chunks {
        let Some(choice) = chunk["choices"].get(0) else {
            continue;
        };
        if let Some(text) = choice["delta"]["content"].as_str() {
            content.push_str(text);
        }
        if let Some(deltas) = choice["delta"]["tool_calls"].as_array() {
            calls.extend(deltas.iter().cloned());
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            finish = Some(reason.to_owned());
        }
    }
    (content, calls, finish)
}

/// The assistant message a client sends back for a choice with tool calls.
pub fn assistant_turn(choice: &Value) -> Value {
    json!({
        "role": "assistant",
        "content": choice["message"]["content"],
        "tool_calls": choice["message"]["tool_calls"],
    })
}

/// One `tool` message per call of `choice`, answered by `result`.
pub fn results(choice: &Value, result: impl Fn(&str) -> String) -> Vec<Value> {
    choice["message"]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!({
                "role": "tool",
                "tool_call_id": c["id"],
                "content": result(c["function"]["name"].as_str().unwrap()),
            })
        })
        .collect()
}
