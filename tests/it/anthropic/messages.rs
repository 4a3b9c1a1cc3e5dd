//! Plain messages: the response object, the event stream, thinking, limits, count_tokens,
//! models, auth and the odd requests Claude Code sends.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

#[tokio::test]
async fn a_message_in_anthropic_shape() {
    let s = TestServer::start().await;
    let body = message(
        &s,
        json!({"model": "qwen3-max", "max_tokens": 256, "messages": [user("Hello there")]}),
    )
    .await;
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("msg_") && id.len() == 28, "{id}");
    assert_eq!(body["type"], "message");
    assert_eq!(body["role"], "assistant");
    assert_eq!(body["model"], "qwen3-max");
    assert_eq!(
        body["content"],
        json!([{"type": "text", "text": "You said: Hello there"}])
    );
    assert_eq!(body["stop_reason"], "end_turn");
    assert_eq!(body["stop_sequence"], Value::Null);
    assert!(
        body["usage"]["input_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
    assert!(
        body["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{body}"
    );
    // Recorded like every exchange, under its own endpoint.
    s.store.flush().await.unwrap();
    let requests: Value = s.get("/v1/requests?limit=1").await.json().await.unwrap();
    assert_eq!(requests["data"][0]["endpoint"], "messages");
}

#[tokio::test]
async fn the_event_stream_is_anthropics() {
    let s = TestServer::start().await;
    let events = events(
        &s,
        json!({"model": "qwen3-max", "max_tokens": 256, "messages": [user("Stream this please")]}),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names[0], "message_start");
    assert_eq!(names[1], "content_block_start");
    assert!(
        names[2..names.len() - 3]
            .iter()
            .all(|n| *n == "content_block_delta" || *n == "ping"),
        "{names:?}"
    );
    assert_eq!(
        &names[names.len() - 3..],
        ["content_block_stop", "message_delta", "message_stop"]
    );
    let start = &events[0].1["message"];
    assert!(start["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(start["content"], json!([]));
    assert!(
        start["usage"]["input_tokens"].as_u64().unwrap() > 0,
        "{start}"
    );
    let (blocks, stop) = rebuild(&events);
    assert_eq!(
        blocks,
        [json!({"type": "text", "text": "You said: Stream this please"})]
    );
    assert_eq!(stop.as_deref(), Some("end_turn"));
    let delta = &events[events.len() - 2].1;
    assert!(
        delta["usage"]["output_tokens"].as_u64().unwrap() > 0,
        "{delta}"
    );
}

#[tokio::test]
async fn thinking_comes_first_with_a_signature() {
    let s = TestServer::start().await;
    let body = json!({
        "model": "qwen3.7-plus", "max_tokens": 1024,
        "thinking": {"type": "enabled", "budget_tokens": 512},
        "messages": [user("Why is the sky blue?")],
    });
    let whole = message(&s, body.clone()).await;
    let content = whole["content"].as_array().unwrap();
    assert_eq!(content[0]["type"], "thinking");
    assert!(!content[0]["thinking"].as_str().unwrap().is_empty());
    assert!(!content[0]["signature"].as_str().unwrap().is_empty());
    assert_eq!(
        content[1],
        json!({"type": "text", "text": "You said: Why is the sky blue?"})
    );

    let (blocks, _) = rebuild(&events(&s, body).await);
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0]["type"], "thinking");
    assert_eq!(blocks[0]["thinking"], content[0]["thinking"]);
    assert!(!blocks[0]["signature"].as_str().unwrap().is_empty());
    assert_eq!(blocks[1]["text"], "You said: Why is the sky blue?");

    // disabled wins over the model's default; adaptive follows the model name.
    let off = message(&s, json!({"model": "qwen3.7-plus-thinking", "max_tokens": 64, "thinking": {"type": "disabled"}, "messages": [user("x")]})).await;
    assert_eq!(off["content"][0]["type"], "text");
}

#[tokio::test]
async fn max_tokens_and_stop_sequences_are_honoured() {
    let s = TestServer::start().await;
    let cut = message(&s, json!({"model": "qwen3-max", "max_tokens": 2, "messages": [user("a rather long sentence to cut")]})).await;
    assert_eq!(cut["stop_reason"], "max_tokens");
    assert!(
        cut["content"][0]["text"].as_str().unwrap().len() <= 8,
        "{cut}"
    );
    let body = json!({"model": "qwen3-max", "max_tokens": 100, "stop_sequences": ["STOP", "long"], "messages": [user("a long sentence")]});
    let stopped = message(&s, body.clone()).await;
    assert_eq!(stopped["stop_reason"], "stop_sequence");
    assert_eq!(stopped["stop_sequence"], "long");
    assert_eq!(stopped["content"][0]["text"], "You said: a ");
    let events = events(&s, body).await;
    let delta = &events.iter().find(|(n, _)| n == "message_delta").unwrap().1;
    assert_eq!(
        delta["delta"],
        json!({"stop_reason": "stop_sequence", "stop_sequence": "long"})
    );
}

#[tokio::test]
async fn count_tokens_models_root_and_query_strings() {
    let s = TestServer::start().await;
    let small = json!({"model": "qwen3-max", "messages": [user("hi")]});
    let (status, _, text) = call(&s, "/v1/messages/count_tokens?beta=true", &small).await;
    assert_eq!(status, 200, "{text}");
    let small: Value = serde_json::from_str(&text).unwrap();
    let big = json!({"model": "qwen3-max", "messages": [user("hi")], "tools": [weather_tool()], "system": "Be brief. ".repeat(50)});
    let (_, _, text) = call(&s, "/v1/messages/count_tokens", &big).await;
    let big: Value = serde_json::from_str(&text).unwrap();
    assert!(big["input_tokens"].as_u64().unwrap() > small["input_tokens"].as_u64().unwrap() + 100);
    // count_tokens says what message_start reports.
    let events = events(
        &s,
        json!({"model": "qwen3-max", "max_tokens": 50, "messages": [user("hi")]}),
    )
    .await;
    assert_eq!(
        events[0].1["message"]["usage"]["input_tokens"],
        small["input_tokens"]
    );

    let models: Value = s
        .http
        .get(format!("{}/v1/models?beta=true", s.url))
        .header("anthropic-version", "2023-06-01")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(models["has_more"], false);
    let first = &models["data"][0];
    assert_eq!(first["type"], "model");
    assert!(
        first["display_name"].is_string() && first["created_at"].as_str().unwrap().ends_with('Z'),
        "{first}"
    );
    assert_eq!(models["first_id"], first["id"]);
    // Without the header, OpenAI's shape as before.
    let openai: Value = s.get("/v1/models").await.json().await.unwrap();
    assert_eq!(openai["object"], "list");

    let head = s.http.head(format!("{}/", s.url)).send().await.unwrap();
    assert_eq!(head.status(), 200);
}

#[tokio::test]
async fn x_api_key_is_a_key_and_refusals_are_anthropic_shaped() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("API_KEYS", "sk-ant-test".into())],
        ..Default::default()
    })
    .await;
    let body = json!({"model": "qwen3-max", "max_tokens": 50, "messages": [user("hi")]});
    let (status, _, text) = call(&s, "/v1/messages", &body).await;
    assert_eq!(status, 401);
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "authentication_error");
    let resp = s
        .http
        .post(format!("{}/v1/messages", s.url))
        .header("x-api-key", "sk-ant-test")
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    // The preconnect needs no key.
    assert_eq!(
        s.http
            .head(format!("{}/", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn aliases_map_claude_names_and_the_answer_echoes_them() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("MODEL_ALIASES", "claude-*=qwen3-max".into())],
        ..Default::default()
    })
    .await;
    let body = message(
        &s,
        json!({"model": "claude-sonnet-4-5-20250929", "max_tokens": 50, "messages": [user("hi")]}),
    )
    .await;
    assert_eq!(body["model"], "claude-sonnet-4-5-20250929");
    assert_eq!(s.completions()[0].body["model"], "qwen3-max");
    let (status, body) = create(
        &s,
        json!({"model": "gpt-5", "max_tokens": 50, "messages": [user("hi")]}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["type"], "not_found_error");
}
