//! Tools on the Messages API: `tool_use` blocks out, `tool_result` blocks in, the same
//! upstream chat with only result blocks after the first turn, and Claude Code's shape.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

const NEW_CHAT: &str = "/api/v2/chats/new";

fn ask(prompt: &str) -> Value {
    json!({"model": "qwen3-max", "max_tokens": 1024, "tools": [weather_tool()], "messages": [user(prompt)]})
}

#[tokio::test]
async fn a_tool_use_loop_continues_one_upstream_chat() {
    for stream in [false, true] {
        let s = TestServer::start().await;
        let mut body =
            ask(r#"Weather in Paris? [[form:prose-before]] [[call:get_weather {"city":"Paris"}]]"#);
        let (content, stop) = if stream {
            rebuild(&events(&s, body.clone()).await)
        } else {
            let m = message(&s, body.clone()).await;
            (
                m["content"].as_array().unwrap().clone(),
                m["stop_reason"].as_str().map(str::to_owned),
            )
        };
        assert_eq!(stop.as_deref(), Some("tool_use"));
        assert_eq!(content[0]["type"], "text");
        assert_eq!(content[0]["text"].as_str().unwrap().trim(), "Let me check.");
        let call = &content[1];
        assert_eq!(call["type"], "tool_use");
        assert_eq!(call["name"], "get_weather");
        assert_eq!(call["input"], json!({"city": "Paris"}));
        let id = call["id"].as_str().unwrap();
        assert!(id.starts_with("toolu_") && id.len() == 30, "{id}");

        // Claude Code sends the blocks back (with cache_control moved around) and the result.
        let mut assistant: Vec<Value> = content
            .iter()
            .map(|b| {
                let mut b = b.clone();
                if let Some(obj) = b.as_object_mut() {
                    obj.remove("partial_json");
                }
                b
            })
            .collect();
        assistant[0]["cache_control"] = json!({"type": "ephemeral"});
        body["messages"][0] = json!({"role": "user", "content": [{"type": "text", "text": body["messages"][0]["content"], "cache_control": {"type": "ephemeral"}}]});
        body["messages"]
            .as_array_mut()
            .unwrap()
            .push(json!({"role": "assistant", "content": assistant}));
        body["messages"].as_array_mut().unwrap().push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": [{"type": "text", "text": "Sunny, 21 °C"}], "cache_control": {"type": "ephemeral"}}
        ]}));
        let done = message(&s, body).await;
        assert_eq!(done["stop_reason"], "end_turn");
        assert_eq!(
            done["content"][0]["text"],
            "Done. get_weather returned: Sunny, 21 °C."
        );

        assert_eq!(s.fake.count(NEW_CHAT), 1, "stream {stream}");
        let sent = s.completions();
        assert_eq!(sent.len(), 2);
        assert_eq!(chat_id(&sent[0]), chat_id(&sent[1]));
        let second = sent_content(&sent[1]);
        assert!(
            second.starts_with("<<<TOOL_RESULT name=\"get_weather\""),
            "{second}"
        );
        assert!(!second.contains("Tools you can call"), "{second}");
    }
}

#[tokio::test]
async fn tool_choice_and_error_results() {
    let s = TestServer::start().await;
    let mut body = ask("Anything.");
    body["tool_choice"] = json!({"type": "any"});
    let m = message(&s, body).await;
    assert_eq!(m["stop_reason"], "tool_use");
    let mut body = ask("Anything.");
    body["tool_choice"] = json!({"type": "tool", "name": "get_weather"});
    let m = message(&s, body).await;
    assert_eq!(m["content"][0]["name"], "get_weather");
    let mut body = ask(r#"[[call:get_weather {"city":"Paris"}]]"#);
    body["tool_choice"] = json!({"type": "none"});
    let m = message(&s, body).await;
    assert_eq!(m["stop_reason"], "end_turn");
    let mut body = ask("x");
    body["tool_choice"] = json!({"type": "tool", "name": "nope"});
    let (status, err) = create(&s, body).await;
    assert_eq!(status, 400);
    assert_eq!(err["error"]["type"], "invalid_request_error");

    // An is_error result goes upstream as the failure it is.
    s.fake.clear_requests();
    let first = message(&s, ask(r#"[[call:get_weather {"city":"Atlantis"}]]"#)).await;
    let id = first["content"][0]["id"].clone();
    let mut body = ask(r#"[[call:get_weather {"city":"Atlantis"}]]"#);
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "assistant", "content": first["content"]}));
    body["messages"]
        .as_array_mut()
        .unwrap()
        .push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": id, "content": "no such city", "is_error": true}
        ]}));
    let done = message(&s, body).await;
    assert_eq!(done["stop_reason"], "end_turn", "{done}");
    let sent = sent_content(s.completions().last().unwrap());
    assert!(sent.contains("no such city"), "{sent}");
    assert!(sent.to_lowercase().contains("error"), "{sent}");
}

/// A request shaped like Claude Code 2.x's: system blocks with cache_control, a `system`
/// role inside messages, many tools with `$schema`, adaptive thinking, metadata,
/// context_management.
fn claude_code_like(prompt: &str) -> Value {
    let tools: Vec<Value> = (0..20)
        .map(|i| {
            let mut t = weather_tool();
            t["name"] = json!(format!("Tool{i}"));
            t["description"] = json!("A long description of what the tool does. ".repeat(20));
            t
        })
        .chain([weather_tool()])
        .collect();
    json!({
        "model": "qwen3-max",
        "max_tokens": 32000,
        "stream": true,
        "system": [
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be helpful. ".repeat(400)},
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>context</system-reminder>"},
                {"type": "text", "text": prompt, "cache_control": {"type": "ephemeral"}},
            ]},
        ],
        "tools": tools,
        "thinking": {"type": "adaptive"},
        "metadata": {"user_id": "user_abc_account__session_123"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "temperature": 1,
    })
}

#[tokio::test]
async fn claude_codes_request_shape_works_and_states_the_tools_once() {
    let s = TestServer::start().await;
    let body = claude_code_like(r#"Check Paris. [[call:get_weather {"city":"Paris"}]]"#);
    let (blocks, stop) = rebuild(&events(&s, body.clone()).await);
    assert_eq!(stop.as_deref(), Some("tool_use"));
    let call = blocks
        .iter()
        .find(|b| b["type"] == "tool_use")
        .unwrap()
        .clone();
    let first = sent_content(&s.completions()[0]);
    assert!(
        first.starts_with("System instructions:\nYou are Claude Code"),
        "{}",
        &first[..200]
    );
    assert!(first.contains("- get_weather: The weather of a city."));
    assert!(!first.contains("$schema"), "schemas are sent compact");

    // Next turn: a `system` entry appears inside messages, cache_control moved.
    let mut next = body.clone();
    let messages = next["messages"].as_array_mut().unwrap();
    messages[0]["content"][1]
        .as_object_mut()
        .unwrap()
        .remove("cache_control");
    messages.push(json!({"role": "assistant", "content": [call.clone()]}));
    messages.push(json!({"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": call["id"], "content": "Sunny", "cache_control": {"type": "ephemeral"}},
    ]}));
    let (blocks, stop) = rebuild(&events(&s, next).await);
    assert_eq!(stop.as_deref(), Some("end_turn"));
    assert_eq!(
        blocks.last().unwrap()["text"],
        "Done. get_weather returned: Sunny."
    );
    let sent = s.completions();
    assert_eq!(sent.len(), 2);
    assert_eq!(chat_id(&sent[0]), chat_id(&sent[1]));
    assert!(sent_content(&sent[1]).len() < 200, "only the result block");
}

#[tokio::test]
async fn output_config_asks_for_json() {
    let s = TestServer::start().await;
    let body = json!({
        "model": "qwen3-max", "max_tokens": 512,
        "messages": [user("Title for this chat?")],
        "output_config": {"format": {"type": "json_schema", "schema": {
            "type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"], "additionalProperties": false
        }}},
    });
    let m = message(&s, body).await;
    let text = m["content"][0]["text"].as_str().unwrap();
    let value: Value = serde_json::from_str(text).expect("the text is the JSON");
    assert!(value["title"].is_string(), "{value}");
}

#[tokio::test]
async fn invalid_requests_name_the_field() {
    let s = TestServer::start().await;
    for (body, field) in [
        (
            json!({"model": "qwen3-max", "messages": [user("x")]}),
            "max_tokens",
        ),
        (
            json!({"model": "qwen3-max", "max_tokens": 10, "messages": [{"role": "robot", "content": "x"}]}),
            "messages.0.role",
        ),
        (
            json!({"model": "qwen3-max", "max_tokens": 10, "messages": [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}}]}]}),
            "messages.0.content.0",
        ),
        (
            json!({"model": "qwen3-max", "max_tokens": 10, "messages": [user("x"), {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_nobody", "content": "x"}]}]}),
            "tool_use_id",
        ),
    ] {
        let (status, err) = create(&s, body).await;
        assert_eq!(status, 400, "{field}: {err}");
        assert_eq!(err["type"], "error");
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert!(
            err["error"]["message"].as_str().unwrap().contains(field),
            "{field}: {err}"
        );
    }
    assert!(s.completions().is_empty());
}
