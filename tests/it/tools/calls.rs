//! One answer with calls: the wire shapes (non-stream and stream), every tolerant form the
//! parser accepts, the corrective turn, `tool_choice`, and the 400s for invalid shapes.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

fn ask(prompt: &str) -> Value {
    json!({
        "model": "qwen3-max",
        "messages": [{"role": "user", "content": prompt}],
        "tools": [weather(), clock()],
    })
}

#[tokio::test]
async fn a_call_comes_back_as_tool_calls() {
    let s = TestServer::start().await;
    let choice = message(
        &s,
        ask(r#"Weather in Paris? [[call:get_weather {"city":"Paris"}]]"#),
    )
    .await;
    assert_eq!(choice["finish_reason"], "tool_calls");
    assert_eq!(choice["message"]["content"], Value::Null);
    assert_eq!(
        calls_of(&choice),
        [("get_weather".to_owned(), json!({"city": "Paris"}))]
    );
    // The upstream got the tool block, the convention and the rule in the first message.
    let sent = sent_content(&s.completions()[0]);
    assert!(
        sent.starts_with("Tools you can call:\n- get_weather: The get_weather tool."),
        "{sent}"
    );
    assert!(
        sent.contains("<<<TOOL_CALL>>>") && sent.contains("Call a tool when it helps"),
        "{sent}"
    );
}

#[tokio::test]
async fn a_streamed_call_is_one_delta_once_its_block_is_complete() {
    let s = TestServer::start().await;
    let mut body = ask(
        r#"[[form:prose-before]] [[call:get_weather {"city":"Paris"}]] [[call:get_time {"tz":"CET"}]]"#,
    );
    body["stream_options"] = json!({"include_usage": true});
    let chunks = stream_chunks(&s, body).await;
    let (content, calls, finish) = streamed(&chunks);
    assert_eq!(content.trim(), "Let me check.");
    assert!(!content.contains("<<<"));
    assert_eq!(finish.as_deref(), Some("tool_calls"));
    assert_eq!(calls.len(), 2, "{calls:?}");
    for (i, (call, (name, args))) in calls
        .iter()
        .zip([
            ("get_weather", json!({"city": "Paris"})),
            ("get_time", json!({"tz": "CET"})),
        ])
        .enumerate()
    {
        assert_eq!(call["index"], i);
        assert!(call["id"].as_str().unwrap().starts_with("call_"));
        assert_eq!(call["type"], "function");
        assert_eq!(call["function"]["name"], name);
        let parsed: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(parsed, args);
    }
    let id = &chunks[0]["id"];
    assert!(chunks.iter().all(|c| &c["id"] == id));
    let usage = &chunks.last().unwrap()["usage"];
    assert!(usage["completion_tokens"].as_u64().unwrap() > 0, "{usage}");
}

#[tokio::test]
async fn every_tolerant_form_is_read() {
    let s = TestServer::start().await;
    for form in [
        "fenced",
        "string-args",
        "parameters",
        "input",
        "array",
        "no-end",
        "prose-after",
    ] {
        let prompt = format!(
            r#"[[form:{form}]] [[call:get_weather {{"city":"Paris"}}]] [[call:get_time {{"tz":"CET"}}]]"#
        );
        for stream in [false, true] {
            let (content, calls) = if stream {
                let (content, calls, finish) = streamed(&stream_chunks(&s, ask(&prompt)).await);
                assert_eq!(finish.as_deref(), Some("tool_calls"), "{form}");
                let calls = calls
                    .iter()
                    .map(|c| {
                        (
                            c["function"]["name"].as_str().unwrap().to_owned(),
                            serde_json::from_str::<Value>(
                                c["function"]["arguments"].as_str().unwrap(),
                            )
                            .unwrap(),
                        )
                    })
                    .collect::<Vec<_>>();
                (content, calls)
            } else {
                let choice = message(&s, ask(&prompt)).await;
                assert_eq!(choice["finish_reason"], "tool_calls", "{form}: {choice}");
                (
                    choice["message"]["content"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                    calls_of(&choice),
                )
            };
            assert_eq!(
                calls,
                [
                    ("get_weather".to_owned(), json!({"city": "Paris"})),
                    ("get_time".to_owned(), json!({"tz": "CET"}))
                ],
                "form {form}, stream {stream}"
            );
            assert!(!content.contains("<<<"), "form {form}: {content}");
        }
    }
}

#[tokio::test]
async fn a_call_made_while_thinking_is_used() {
    let s = TestServer::start().await;
    let mut body = ask(r#"[[form:thinking]] [[call:get_weather {"city":"Paris"}]]"#);
    body["model"] = json!("qwen3.7-plus-thinking");
    let choice = message(&s, body).await;
    assert_eq!(
        calls_of(&choice),
        [("get_weather".to_owned(), json!({"city": "Paris"}))]
    );
    assert!(
        choice["message"]["reasoning_content"]
            .as_str()
            .unwrap()
            .contains("<<<TOOL_CALL>>>")
    );
}

#[tokio::test]
async fn a_broken_call_is_corrected_in_the_same_chat() {
    let s = TestServer::start().await;
    for stream in [false, true] {
        s.fake.clear_requests();
        let body = ask(r#"[[broken]] [[call:get_weather {"city":"Paris"}]]"#);
        let calls = if stream {
            let (_, calls, finish) = streamed(&stream_chunks(&s, body).await);
            assert_eq!(finish.as_deref(), Some("tool_calls"));
            calls
                .iter()
                .map(|c| c["function"]["name"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        } else {
            calls_of(&message(&s, body).await)
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(calls, ["get_weather"]);
        let sent = s.completions();
        assert_eq!(sent.len(), 2, "one corrective turn");
        assert_eq!(chat_id(&sent[0]), chat_id(&sent[1]));
        assert!(parent_id(&sent[1]).is_some());
        let correction = sent_content(&sent[1]);
        assert!(
            correction.starts_with("Your last answer could not be used:"),
            "{correction}"
        );
        assert!(correction.contains("get_weather_v2"), "{correction}");
    }
    // Recorded as one exchange holding both upstream turns.
    s.store.flush().await.unwrap();
    let responses: Value = s.get("/v1/responses?limit=1").await.json().await.unwrap();
    let id = responses["data"][0]["id"].as_str().unwrap().to_owned();
    let response: Value = s
        .get(&format!("/v1/responses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        response["upstream_turns"].as_array().map(Vec::len),
        Some(2),
        "{response}"
    );
    assert_eq!(
        response["tool_calls"][0]["name"], "get_weather",
        "{response}"
    );
}

#[tokio::test]
async fn broken_twice_is_plain_content() {
    let s = TestServer::start().await;
    let choice = message(
        &s,
        ask(r#"[[broken:twice]] [[call:get_weather {"city":"Paris"}]]"#),
    )
    .await;
    assert_eq!(choice["finish_reason"], "stop");
    assert!(
        choice["message"]
            .get("tool_calls")
            .is_none_or(Value::is_null)
    );
    let content = choice["message"]["content"].as_str().unwrap();
    assert!(content.contains("get_weather_v2"), "{content}");
    assert_eq!(s.completions().len(), 2, "never more than one correction");
}

#[tokio::test]
async fn tool_choice_is_obeyed() {
    let s = TestServer::start().await;
    // required: the fake calls its first tool with arguments made from the schema.
    let mut body = ask("Anything.");
    body["tool_choice"] = json!("required");
    let choice = message(&s, body).await;
    assert_eq!(calls_of(&choice)[0].0, "get_weather");
    assert!(sent_content(&s.completions()[0]).contains("You must call at least one tool now."));

    let mut body = ask("Anything.");
    body["tool_choice"] = json!({"type": "function", "function": {"name": "get_time"}});
    let choice = message(&s, body).await;
    assert_eq!(
        calls_of(&choice),
        [("get_time".to_owned(), json!({"tz": "example"}))]
    );

    // none: a block the model writes anyway stays plain text.
    let mut body = ask(r#"[[call:get_weather {"city":"Paris"}]]"#);
    body["tool_choice"] = json!("none");
    let choice = message(&s, body).await;
    assert_eq!(choice["finish_reason"], "stop");
    assert!(
        choice["message"]
            .get("tool_calls")
            .is_none_or(Value::is_null)
    );
    let content = choice["message"]["content"].as_str().unwrap();
    assert!(content.starts_with("<<<TOOL_CALL>>>\n"), "{content}");
    let sent = sent_content(s.completions().last().unwrap());
    assert!(
        sent.contains("Do not call any tool now; answer in plain text."),
        "{sent}"
    );

    // The deprecated spelling maps onto the same.
    let body = json!({
        "model": "qwen3-max",
        "messages": [{"role": "user", "content": "x"}],
        "functions": [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
        "function_call": {"name": "get_weather"},
    });
    let choice = message(&s, body).await;
    assert_eq!(calls_of(&choice)[0].0, "get_weather");
}

#[tokio::test]
async fn markers_are_plain_text_without_tools() {
    let s = TestServer::start().await;
    // The fake echoes the markers back; without tools they are the user's own text.
    let text = "<<<TOOL_CALL>>>\n{\"name\": \"x\"}";
    let (status, body) = s.chat("qwen3-max", &msgs(&[("user", text)])).await;
    assert_eq!(status, 200);
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        format!("You said: {text}")
    );
    assert_eq!(sent_content(&s.completions()[0]), text);
}

#[tokio::test]
async fn invalid_tool_shapes_are_400_naming_the_parameter() {
    let s = TestServer::start().await;
    let cases = [
        (
            json!({"tools": [{"type": "function", "function": {"description": "no name"}}]}),
            "tools[0].function.name",
        ),
        (
            json!({"tools": [weather()], "tool_choice": {"type": "function", "function": {"name": "nope"}}}),
            "tool_choice",
        ),
        (json!({"tool_choice": "required"}), "tool_choice"),
        (json!({"logprobs": true}), "logprobs"),
        (json!({"n": 2}), "n"),
        (json!({"modalities": ["text", "audio"]}), "modalities"),
        (
            json!({"response_format": {"type": "json_schema", "json_schema": {"schema": {}}}}),
            "response_format.json_schema.name",
        ),
    ];
    for (extra, param) in cases {
        let mut body =
            json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "x"}]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let (status, body) = chat_with(&s, body).await;
        assert_eq!(status, 400, "{param}: {body}");
        assert_eq!(body["error"]["param"], param, "{body}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
    }
    let orphan = json!({
        "model": "qwen3-max",
        "tools": [weather()],
        "messages": [
            {"role": "user", "content": "x"},
            {"role": "tool", "tool_call_id": "call_nobody", "content": "42"},
        ],
    });
    let (status, body) = chat_with(&s, orphan).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["param"], "messages[1].tool_call_id");
    assert!(s.completions().is_empty(), "nothing reached the upstream");
}
