//! The OpenAI Responses API through `serve` (design.md §11): the same engine, store and tool
//! emulation, `previous_response_id` continuing a stored response's upstream chat, and the
//! stored responses retrievable, deletable and listed by their input items.

mod create;
mod stored;

use serde_json::{Value, json};

use crate::common::*;

/// `POST /v1/responses`; returns (status, body).
pub async fn create(s: &TestServer, body: Value) -> (u16, Value) {
    let resp = s.post("/v1/responses", &body).await;
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A successful non-streamed response.
pub async fn respond(s: &TestServer, body: Value) -> Value {
    let (status, body) = create(s, body).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// The `(event, data)` pairs of a streamed response; checks names, types and sequence numbers.
pub async fn events(s: &TestServer, mut body: Value) -> Vec<(String, Value)> {
    body["stream"] = json!(true);
    let resp = s.post("/v1/responses", &body).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    assert!(!text.contains("[DONE]"));
    let events: Vec<(String, Value)> = text
        .split("\n\n")
        .filter(|e| !e.trim().is_empty() && !e.starts_with(':'))
        .map(|e| {
            let name = e
                .lines()
                .find_map(|l| l.strip_prefix("event: "))
                .unwrap()
                .to_owned();
            let data = e.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect();
    for (i, (_, data)) in events.iter().enumerate() {
        assert_eq!(data["sequence_number"], i, "sequence numbers count from 0");
    }
    events
}

/// The text of a response object's message items.
pub fn output_text(response: &Value) -> String {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "message")
        .flat_map(|item| item["content"].as_array().unwrap().iter())
        .filter_map(|part| part["text"].as_str())
        .collect()
}

/// The function_call items of a response object.
pub fn function_calls(response: &Value) -> Vec<Value> {
    response["output"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["type"] == "function_call")
        .cloned()
        .collect()
}

pub fn exec_tool() -> Value {
    json!({
        "type": "function",
        "name": "exec_command",
        "description": "Runs a shell command.",
        "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"], "additionalProperties": false},
        "strict": false,
    })
}
