//! `POST /v1/responses`: the object, the event stream, tools and `previous_response_id`,
//! Codex's resent inputs, limits, formats and refusals.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

const NEW_CHAT: &str = "/api/v2/chats/new";

#[tokio::test]
async fn a_response_object_and_its_stream() {
    let s = TestServer::start().await;
    let r = respond(&s, json!({"model": "qwen3-max", "input": "Hello there"})).await;
    assert!(r["id"].as_str().unwrap().starts_with("resp_"));
    assert_eq!(r["object"], "response");
    assert_eq!(r["status"], "completed");
    assert_eq!(r["model"], "qwen3-max");
    assert_eq!(output_text(&r), "You said: Hello there");
    assert!(r["usage"]["total_tokens"].as_u64().unwrap() > 0);

    let events = events(
        &s,
        json!({"model": "qwen3-max", "input": "Stream me", "instructions": "Be brief."}),
    )
    .await;
    let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        &names[..4],
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added"
        ]
    );
    assert_eq!(
        &names[names.len() - 4..],
        [
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let deltas: String = events
        .iter()
        .filter(|(n, _)| n == "response.output_text.delta")
        .map(|(_, d)| d["delta"].as_str().unwrap())
        .collect();
    assert!(
        deltas.starts_with("You said: ") && deltas.ends_with("Stream me"),
        "{deltas}"
    );
    let done = &events.last().unwrap().1["response"];
    assert_eq!(done["status"], "completed");
    assert_eq!(output_text(done), deltas);
    assert_eq!(done["instructions"], "Be brief.");
    // The item id is the same in every event and in the final object.
    let id = &events[2].1["item"]["id"];
    assert_eq!(&done["output"][0]["id"], id);
    assert!(sent_content(&s.completions()[1]).starts_with("System instructions:\nBe brief."));
}

#[tokio::test]
async fn a_function_call_round_trip_over_previous_response_id_is_one_upstream_chat() {
    for stream in [false, true] {
        let s = TestServer::start().await;
        let first = json!({
            "model": "qwen3-max",
            "instructions": "You are a coding agent.",
            "input": r#"List the files. [[call:exec_command {"cmd":"ls"}]]"#,
            "tools": [exec_tool()],
        });
        let r1 = if stream {
            events(&s, first).await.last().unwrap().1["response"].clone()
        } else {
            respond(&s, first).await
        };
        let calls = function_calls(&r1);
        assert_eq!(calls.len(), 1, "{r1}");
        assert_eq!(calls[0]["name"], "exec_command");
        assert_eq!(calls[0]["arguments"], r#"{"cmd":"ls"}"#);
        let call_id = calls[0]["call_id"].as_str().unwrap();
        assert!(call_id.starts_with("call_"));
        assert!(calls[0]["id"].as_str().unwrap().starts_with("fc_"));

        let second = json!({
            "model": "qwen3-max",
            "previous_response_id": r1["id"],
            "input": [{"type": "function_call_output", "call_id": call_id, "output": "Cargo.toml\nsrc"}],
            "tools": [exec_tool()],
        });
        let r2 = if stream {
            events(&s, second).await.last().unwrap().1["response"].clone()
        } else {
            respond(&s, second).await
        };
        assert_eq!(output_text(&r2), "Done. exec_command returned: Cargo.toml.");
        assert_eq!(r2["previous_response_id"], r1["id"]);
        assert_eq!(s.fake.count(NEW_CHAT), 1, "stream {stream}");
        let sent = s.completions();
        assert_eq!(sent.len(), 2);
        assert_eq!(chat_id(&sent[0]), chat_id(&sent[1]));
        let result = sent_content(&sent[1]);
        assert_eq!(
            result,
            format!(
                "<<<TOOL_RESULT name=\"exec_command\" id=\"{call_id}\">>>\nCargo.toml\nsrc\n<<<END_TOOL_RESULT>>>"
            )
        );
    }
}

#[tokio::test]
async fn instructions_repeated_with_previous_response_id_are_not_sent_again() {
    // OpenAI does not carry instructions over to the next response, so the Agents SDK sends
    // them with every request: unchanged, they are already in the upstream chat.
    let s = TestServer::start().await;
    let body = |instructions: &str, previous: Option<&Value>, input: Value| {
        let mut body = json!({
            "model": "qwen3-max", "instructions": instructions, "input": input,
            "tools": [exec_tool()],
        });
        if let Some(previous) = previous {
            body["previous_response_id"] = previous.clone();
        }
        body
    };
    let r1 = respond(
        &s,
        body(
            "You are a coding agent.",
            None,
            json!(r#"List the files. [[call:exec_command {"cmd":"ls"}]]"#),
        ),
    )
    .await;
    let call_id = function_calls(&r1)[0]["call_id"].clone();
    let output = json!([{"type": "function_call_output", "call_id": call_id, "output": "src"}]);
    let r2 = respond(&s, body("You are a coding agent.", Some(&r1["id"]), output)).await;
    assert_eq!(output_text(&r2), "Done. exec_command returned: src.");
    assert_eq!(r2["instructions"], "You are a coding agent.");
    let r3 = respond(
        &s,
        body("You are a coding agent.", Some(&r2["id"]), json!("Thanks.")),
    )
    .await;
    // New instructions replace the old ones: they go upstream with the new input.
    respond(&s, body("You are terse.", Some(&r3["id"]), json!("Bye."))).await;
    assert_eq!(s.fake.count(NEW_CHAT), 1);
    let sent: Vec<String> = s.completions().iter().map(sent_content).collect();
    assert_eq!(sent.len(), 4);
    assert!(sent[0].starts_with("System instructions:\nYou are a coding agent."));
    assert_eq!(
        sent[1],
        format!(
            "<<<TOOL_RESULT name=\"exec_command\" id=\"{}\">>>\nsrc\n<<<END_TOOL_RESULT>>>",
            call_id.as_str().unwrap()
        )
    );
    assert_eq!(sent[2], "Thanks.");
    assert!(
        sent[3].contains("You are terse.") && sent[3].contains("Bye."),
        "{}",
        sent[3]
    );
    // The input items of a continued response are what it added, without instructions.
    let items = s
        .get(&format!(
            "/v1/responses/{}/input_items",
            r2["id"].as_str().unwrap()
        ))
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(items["data"].as_array().unwrap().len(), 1, "{items}");
    assert_eq!(items["data"][0]["type"], "function_call_output");
}

#[tokio::test]
async fn codex_resending_everything_with_store_false_continues_by_prefix() {
    let s = TestServer::start().await;
    let tools = json!([exec_tool(), {"type": "web_search"}, {"type": "namespace", "name": "codex_app", "tools": []}]);
    let mut input = vec![
        json!({"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "<permissions>workspace-write</permissions>"}]}),
        json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": r#"Make a file. [[call:exec_command {"cmd":"touch a"}]]"#}]}),
    ];
    let body = |input: &Vec<Value>| {
        json!({
            "model": "qwen3-max", "instructions": "You are Codex.", "input": input, "tools": tools,
            "tool_choice": "auto", "parallel_tool_calls": false, "store": false, "stream": true,
            "reasoning": {"effort": "medium", "summary": "auto"}, "include": ["reasoning.encrypted_content"],
            "prompt_cache_key": "abc",
        })
    };
    let r1 = events(&s, body(&input)).await.last().unwrap().1["response"].clone();
    let items: Vec<Value> = r1["output"].as_array().unwrap().clone();
    assert!(
        items.iter().any(|i| i["type"] == "reasoning"),
        "reasoning effort turns thinking on"
    );
    let call = function_calls(&r1)[0].clone();
    // Codex sends back every output item, reasoning included, then the command's output.
    input.extend(items);
    input.push(
        json!({"type": "function_call_output", "call_id": call["call_id"], "output": "done"}),
    );
    let r2 = events(&s, body(&input)).await.last().unwrap().1["response"].clone();
    assert_eq!(output_text(&r2), "Done. exec_command returned: done.");
    assert_eq!(s.fake.count(NEW_CHAT), 1);
    let sent = s.completions();
    assert!(sent_content(&sent[1]).starts_with("<<<TOOL_RESULT"));
    // Tools the upstream cannot serve are not offered.
    let first = sent_content(&sent[0]);
    assert!(first.contains("- exec_command: Runs a shell command."));
    assert!(
        !first.contains("codex_app") && !first.contains("web_search"),
        "{first}"
    );
    // store: false responses are not retrievable.
    assert_eq!(
        s.get(&format!("/v1/responses/{}", r1["id"].as_str().unwrap()))
            .await
            .status(),
        404
    );
}

#[tokio::test]
async fn limits_formats_search_and_refusals() {
    let s = TestServer::start().await;
    let r = respond(&s, json!({"model": "qwen3-max", "input": "a long sentence to cut short", "max_output_tokens": 2})).await;
    assert_eq!(r["status"], "incomplete");
    assert_eq!(r["incomplete_details"]["reason"], "max_output_tokens");

    let r = respond(&s, json!({
        "model": "qwen3-max", "input": "Weather as data.",
        "text": {"format": {"type": "json_schema", "name": "weather", "schema": {"type": "object", "properties": {"temp": {"type": "integer"}}, "required": ["temp"]}}},
    })).await;
    let value: Value = serde_json::from_str(&output_text(&r)).unwrap();
    assert!(value["temp"].is_i64(), "{value}");

    s.fake.clear_requests();
    let r = respond(&s, json!({"model": "qwen3-max", "input": "news?", "tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}})).await;
    assert_eq!(r["status"], "completed");
    assert_eq!(
        s.completions()[0].body["messages"][0]["chat_type"],
        "search",
        "a forced web_search searches upstream"
    );

    for (body, param) in [
        (
            json!({"model": "qwen3-max", "input": "x", "tools": [{"type": "file_search"}], "tool_choice": {"type": "file_search"}}),
            "tool_choice",
        ),
        (
            json!({"model": "qwen3-max", "input": [{"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "http://x/y.png"}]}]}),
            "input[0].content[0]",
        ),
        (
            json!({"model": "qwen3-max", "input": "x", "previous_response_id": "resp_nobody"}),
            "previous_response_id",
        ),
        (json!({"model": "qwen3-max"}), "input"),
    ] {
        let (status, err) = create(&s, body).await;
        assert!(status == 400 || status == 404, "{param}: {status} {err}");
        assert_eq!(err["error"]["param"], param, "{err}");
    }
}
