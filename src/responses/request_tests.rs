//! Tests of the request parser: every validation rule, with the parameter it names, and the
//! input items' mapping onto messages. One file on purpose, like the chat parser's: it is the
//! table of rules the proxy promises, and reads best whole.

use serde_json::{Value, json};

use super::*;
use crate::session::ToolCall;

fn parse(body: Value) -> Result<ResponsesRequest, InvalidRequest> {
    parse_responses_request(body.to_string().as_bytes())
}

/// A valid body with `extra` merged in (a `null` in `extra` removes the key).
fn with(extra: Value) -> Value {
    let mut body = json!({"model": "qwen3-max", "input": "hi"});
    for (k, v) in extra.as_object().expect("object") {
        if v.is_null() {
            body.as_object_mut().expect("object").remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

#[track_caller]
fn ok(extra: Value) -> ResponsesRequest {
    parse(with(extra)).expect("should be accepted")
}

#[track_caller]
fn refused(extra: Value) -> InvalidRequest {
    parse(with(extra)).expect_err("should be refused")
}

/// The parameter a refusal names.
#[track_caller]
fn param(extra: Value) -> String {
    refused(extra).param.expect("a refusal names its parameter")
}

/// The messages of `input` (given as items).
#[track_caller]
fn messages(items: Value) -> Vec<Message> {
    ok(json!({"input": items})).messages
}

#[track_caller]
fn input_param(items: Value) -> String {
    param(json!({"input": items}))
}

fn user(text: &str) -> Message {
    Message::text(Role::User, text)
}

fn assistant(text: &str, calls: &[(&str, &str, &str)]) -> Message {
    let mut message = Message::text(Role::Assistant, text);
    message.tool_calls = calls
        .iter()
        .map(|(id, name, arguments)| ToolCall {
            id: (*id).to_owned(),
            name: (*name).to_owned(),
            arguments: (*arguments).to_owned(),
        })
        .collect();
    message
}

fn tool(call_id: &str, name: Option<&str>, output: &str) -> Message {
    let mut message = Message::text(Role::Tool, output);
    message.tool_call_id = Some(call_id.to_owned());
    message.name = name.map(str::to_owned);
    message
}

fn call(call_id: &str, name: &str, arguments: &str) -> Value {
    json!({"type": "function_call", "call_id": call_id, "name": name, "arguments": arguments})
}

fn output(call_id: &str, output: &str) -> Value {
    json!({"type": "function_call_output", "call_id": call_id, "output": output})
}

fn message(role: &str, content: Value) -> Value {
    json!({"type": "message", "role": role, "content": content})
}

#[test]
fn minimal_request_has_defaults_and_echo() {
    let req = ok(json!({"x_unknown": {"a": 1}}));
    assert_eq!(req.model, "qwen3-max");
    assert_eq!(req.messages, vec![user("hi")]);
    assert_eq!(req.input(), [user("hi")]);
    assert_eq!(req.instructions, None);
    assert_eq!(req.previous_response_id, None);
    assert!(req.store && !req.stream && !req.search && req.parallel_tool_calls);
    assert_eq!((req.max_output_tokens, req.thinking), (None, None));
    assert!(req.tools.is_empty() && req.unserved_tools.is_empty());
    assert_eq!(req.tool_choice, ToolChoice::Auto);
    assert_eq!(req.format, OutputFormat::Text);
    assert_eq!(
        req.echo,
        json!({
            "instructions": null,
            "tools": [],
            "tool_choice": "auto",
            "parallel_tool_calls": true,
            "text": {"format": {"type": "text"}, "verbosity": "medium"},
            "store": true,
            "metadata": {},
            "temperature": 1.0,
            "top_p": 1.0,
            "truncation": "disabled",
            "user": null,
            "reasoning": {"effort": null, "summary": null},
            "max_output_tokens": null,
            "max_tool_calls": null,
            "previous_response_id": null,
            "background": false,
            "service_tier": "default",
            "prompt_cache_key": null,
            "safety_identifier": null,
            "top_logprobs": 0,
        })
    );
    assert_eq!(
        req.params,
        json!({"model": "qwen3-max", "x_unknown": {"a": 1}})
    );
}

#[test]
fn echo_carries_what_was_given() {
    let tools = json!([
        {"type": "function", "name": "f", "parameters": {"type": "object"}},
        {"type": "web_search"},
    ]);
    let req = ok(json!({
        "instructions": "Be brief.",
        "tools": tools,
        "tool_choice": {"type": "function", "name": "f"},
        "parallel_tool_calls": false,
        "text": {"format": {"type": "json_object"}, "verbosity": "low"},
        "store": false,
        "metadata": {"k": "v"},
        "temperature": 0.2,
        "top_p": 0.5,
        "truncation": "auto",
        "user": "u1",
        "reasoning": {"effort": "high"},
        "max_output_tokens": 64,
        "max_tool_calls": 3,
        "previous_response_id": "resp_abc",
        "prompt_cache_key": "k",
        "safety_identifier": "s",
        "service_tier": "flex",
    }));
    assert_eq!(
        req.echo,
        json!({
            "instructions": "Be brief.",
            "tools": tools,
            "tool_choice": {"type": "function", "name": "f"},
            "parallel_tool_calls": false,
            "text": {"format": {"type": "json_object"}, "verbosity": "low"},
            "store": false,
            "metadata": {"k": "v"},
            "temperature": 0.2,
            "top_p": 0.5,
            "truncation": "auto",
            "user": "u1",
            "reasoning": {"effort": "high", "summary": null},
            "max_output_tokens": 64,
            "max_tool_calls": 3,
            "previous_response_id": "resp_abc",
            "background": false,
            "service_tier": "default",
            "prompt_cache_key": "k",
            "safety_identifier": "s",
            "top_logprobs": 0,
        })
    );
    // The body without `input` and `instructions`, for the store.
    let params = req.params.as_object().unwrap();
    assert!(!params.contains_key("input") && !params.contains_key("instructions"));
    assert_eq!(params["tools"], tools);
}

#[test]
fn unparsable_bodies_have_no_param() {
    for body in [&b"{"[..], b"", b"{\"model\": \"\xff\"}", b"{} trailing"] {
        let err = parse_responses_request(body).unwrap_err();
        assert!(
            err.message.starts_with("We could not parse the JSON body"),
            "{err}"
        );
        assert_eq!(err.param, None);
    }
    for body in [json!([]), json!("x"), json!(null)] {
        let err = parse(body).unwrap_err();
        assert_eq!(err.param, None);
        assert!(err.message.contains("JSON object"), "{err}");
    }
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body = format!(r#"{{"model": "m", "input": {deep}}}"#);
    assert_eq!(
        parse_responses_request(body.as_bytes()).unwrap_err().param,
        None
    );
}

#[test]
fn model_is_required() {
    let err = refused(json!({"model": null}));
    assert_eq!(err.param.as_deref(), Some("model"));
    assert_eq!(err.message, "Missing required parameter: 'model'.");
    assert_eq!(param(json!({"model": "  "})), "model");
    let err = refused(json!({"model": 3}));
    assert_eq!(
        err.message,
        "Invalid type for 'model': expected a string, but got an integer instead."
    );
}

#[test]
fn instructions_come_first_as_system() {
    let req = ok(json!({"instructions": "Be brief.", "input": "hi"}));
    assert_eq!(
        req.messages,
        vec![Message::text(Role::System, "Be brief."), user("hi")]
    );
    assert_eq!(req.instructions.as_deref(), Some("Be brief."));
    assert_eq!(req.input(), [user("hi")]);
    let req = ok(json!({"instructions": ""}));
    assert_eq!((req.messages, req.instructions), (vec![user("hi")], None));
    assert_eq!(param(json!({"instructions": ["x"]})), "instructions");
}

#[test]
fn input_is_a_string_or_items() {
    let err = refused(json!({"input": null}));
    assert_eq!(err.param.as_deref(), Some("input"));
    assert_eq!(err.message, "Missing required parameter: 'input'.");
    assert_eq!(param(json!({"input": 1})), "input");
    assert_eq!(param(json!({"input": []})), "input");
    assert_eq!(messages(json!("")), vec![user("")]);
    assert_eq!(input_param(json!(["hi"])), "input[0]");
    assert_eq!(input_param(json!([{"content": "hi"}])), "input[0].type");
    assert_eq!(input_param(json!([{"type": 1}])), "input[0].type");
}

#[test]
fn message_items() {
    let items = json!([
        {"role": "user", "content": "easy form, no type"},
        message("developer", json!("dev")),
        message("system", json!([{"type": "input_text", "text": "sys"}])),
        message("user", json!([
            {"type": "input_text", "text": "a"},
            {"type": "input_text", "text": ""},
            {"type": "input_text", "text": "b"},
        ])),
        {"type": "message", "id": "msg_1", "status": "completed", "role": "assistant",
         "phase": "final_answer",
         "content": [{"type": "output_text", "text": "out", "annotations": []},
                     {"type": "refusal", "refusal": "no"}]},
    ]);
    assert_eq!(
        messages(items),
        vec![
            user("easy form, no type"),
            Message::text(Role::Developer, "dev"),
            Message::text(Role::System, "sys"),
            user("a\nb"),
            assistant("out\nno", &[]),
        ]
    );
}

#[test]
fn message_item_errors_name_their_place() {
    let err = refused(json!({"input": [message("tool", json!("x"))]}));
    assert_eq!(err.param.as_deref(), Some("input[0].role"));
    assert_eq!(
        err.message,
        "Invalid value: 'tool'. Supported values are: 'user', 'assistant', 'system', and \
         'developer'."
    );
    assert_eq!(
        input_param(json!([{"type": "message", "content": "x"}])),
        "input[0].role"
    );
    assert_eq!(
        input_param(json!([{"type": "message", "role": "user"}])),
        "input[0].content"
    );
    assert_eq!(
        input_param(json!([message("user", json!(3))])),
        "input[0].content"
    );
    assert_eq!(
        input_param(json!([message("user", json!(["x"]))])),
        "input[0].content[0]"
    );
    assert_eq!(
        input_param(json!([message("user", json!([{"text": "x"}]))])),
        "input[0].content[0].type"
    );
    assert_eq!(
        input_param(json!([message("user", json!([{"type": "input_text"}]))])),
        "input[0].content[0].text"
    );
    assert_eq!(
        input_param(json!([message(
            "assistant",
            json!([{"type": "refusal", "text": "x"}])
        )])),
        "input[0].content[0].refusal"
    );
    let err = refused(json!({"input": [message("user", json!([{"type": "video", "text": "x"}]))]}));
    assert_eq!(err.param.as_deref(), Some("input[0].content[0].type"));
    assert_eq!(
        err.message,
        "Invalid value: 'video'. Supported values are: 'input_text', 'output_text', and \
         'refusal'."
    );
}

#[test]
fn images_files_and_audio_are_refused_by_name() {
    for (kind, what) in [
        ("input_image", "image input"),
        ("input_file", "file input"),
        ("input_audio", "audio input"),
    ] {
        let content = json!([{"type": "input_text", "text": "look"}, {"type": kind}]);
        let err = refused(json!({"input": [user_item("x"), message("user", content)]}));
        assert_eq!(err.param.as_deref(), Some("input[1].content[1]"), "{kind}");
        assert!(err.message.starts_with(what), "{err}");
        assert!(err.message.contains("text only"), "{err}");
    }
}

fn user_item(text: &str) -> Value {
    message("user", json!(text))
}

#[test]
fn function_calls_join_the_assistant_message_before_them() {
    let items = json!([
        user_item("weather?"),
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "hm"}]},
        {"type": "message", "role": "assistant", "id": "msg_1", "status": "completed",
         "content": [{"type": "output_text", "text": "Checking.", "annotations": []}]},
        {"type": "reasoning", "id": "rs_2", "summary": []},
        {"type": "function_call", "id": "fc_1", "status": "completed", "call_id": "call_A",
         "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
        call("call_B", "get_weather", "{\"city\":\"Rome\"}"),
        output("call_A", "sunny"),
        output("call_B", "rain"),
    ]);
    assert_eq!(
        messages(items),
        vec![
            user("weather?"),
            assistant(
                "Checking.",
                &[
                    ("call_A", "get_weather", "{\"city\":\"Paris\"}"),
                    ("call_B", "get_weather", "{\"city\":\"Rome\"}"),
                ]
            ),
            tool("call_A", Some("get_weather"), "sunny"),
            tool("call_B", Some("get_weather"), "rain"),
        ]
    );
}

#[test]
fn function_calls_without_an_assistant_message_make_one() {
    // After a user message, after a tool result, and at the start.
    let items = json!([
        call("call_0", "f", "{}"),
        output("call_0", "r0"),
        call("call_1", "f", "{}"),
        output("call_1", "r1"),
        user_item("again"),
        call("call_2", "f", "{}"),
        // An assistant message after calls is a message of its own.
        message("assistant", json!("done")),
    ]);
    assert_eq!(
        messages(items),
        vec![
            assistant("", &[("call_0", "f", "{}")]),
            tool("call_0", Some("f"), "r0"),
            assistant("", &[("call_1", "f", "{}")]),
            tool("call_1", Some("f"), "r1"),
            user("again"),
            assistant("", &[("call_2", "f", "{}")]),
            assistant("done", &[]),
        ]
    );
}

#[test]
fn function_call_fields() {
    assert_eq!(
        input_param(json!([{"type": "function_call", "name": "f", "arguments": "{}"}])),
        "input[0].call_id"
    );
    assert_eq!(
        input_param(json!([{"type": "function_call", "call_id": "c", "arguments": "{}"}])),
        "input[0].name"
    );
    assert_eq!(
        input_param(json!([{"type": "function_call", "call_id": "c", "name": "f"}])),
        "input[0].arguments"
    );
    assert_eq!(
        input_param(
            json!([{"type": "function_call", "call_id": "c", "name": "f", "arguments": 1}])
        ),
        "input[0].arguments"
    );
    // Arguments as an object are accepted and serialised.
    let items =
        json!([{"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}]);
    assert_eq!(
        messages(items),
        vec![assistant("", &[("c", "f", r#"{"a":1}"#)])]
    );
}

#[test]
fn function_call_outputs_answer_an_earlier_call() {
    let err = refused(json!({"input": [user_item("x"), output("call_X", "r")]}));
    assert_eq!(err.param.as_deref(), Some("input[1].call_id"));
    assert!(err.message.contains("'call_X'"), "{err}");
    assert!(err.message.contains("previous_response_id"), "{err}");
    // A later output can't answer a call that comes after it.
    assert_eq!(
        input_param(json!([output("call_A", "r"), call("call_A", "f", "{}")])),
        "input[0].call_id"
    );
    assert_eq!(
        input_param(json!([call("c", "f", "{}"), {"type": "function_call_output", "output": "r"}])),
        "input[1].call_id"
    );
    assert_eq!(
        input_param(
            json!([call("c", "f", "{}"), {"type": "function_call_output", "call_id": "c"}])
        ),
        "input[1].output"
    );
    assert_eq!(
        input_param(
            json!([call("c", "f", "{}"), {"type": "function_call_output", "call_id": "c", "output": 1}])
        ),
        "input[1].output"
    );
}

#[test]
fn function_call_output_parts() {
    let parts =
        json!([{"type": "input_text", "text": "line 1"}, {"type": "input_text", "text": "line 2"}]);
    let items = json!([call("c", "f", "{}"), {"type": "function_call_output", "call_id": "c", "output": parts}]);
    assert_eq!(messages(items)[1], tool("c", Some("f"), "line 1\nline 2"));
    let parts =
        json!([{"type": "input_text", "text": "see"}, {"type": "input_image", "image_url": "x"}]);
    let items = json!([call("c", "f", "{}"), {"type": "function_call_output", "call_id": "c", "output": parts}]);
    assert_eq!(input_param(items), "input[1].output[1]");
    let parts = json!([{"type": "output_text", "text": "x"}]);
    let items = json!([call("c", "f", "{}"), {"type": "function_call_output", "call_id": "c", "output": parts}]);
    assert_eq!(input_param(items), "input[1].output[0].type");
}

#[test]
fn previous_response_id_lets_outputs_answer_calls_of_that_response() {
    let req = ok(json!({
        "previous_response_id": "resp_0123",
        "input": [output("call_A", "sunny"), call("call_B", "f", "{}"), output("call_B", "r")],
    }));
    assert_eq!(req.previous_response_id.as_deref(), Some("resp_0123"));
    assert_eq!(
        req.messages,
        vec![
            tool("call_A", None, "sunny"),
            assistant("", &[("call_B", "f", "{}")]),
            tool("call_B", Some("f"), "r"),
        ]
    );
}

#[test]
fn previous_response_id_is_a_response_id() {
    let err = refused(json!({"previous_response_id": "chatcmpl-1"}));
    assert_eq!(err.param.as_deref(), Some("previous_response_id"));
    assert_eq!(
        err.message,
        "Invalid 'previous_response_id': 'chatcmpl-1'. Expected an ID that begins with 'resp_'."
    );
    assert_eq!(
        param(json!({"previous_response_id": 1})),
        "previous_response_id"
    );
    assert_eq!(
        ok(json!({"previous_response_id": null})).previous_response_id,
        None
    );
}

#[test]
fn reasoning_items_and_item_ids_are_ignored() {
    let items = json!([
        {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": null},
        {"type": "message", "id": "msg_x", "status": "in_progress", "role": "user", "content": "hi"},
    ]);
    assert_eq!(messages(items), vec![user("hi")]);
}

#[test]
fn unsupported_item_types_are_refused_by_name() {
    for kind in [
        "custom_tool_call",
        "custom_tool_call_output",
        "local_shell_call",
        "web_search_call",
        "file_search_call",
        "computer_call",
        "mcp_call",
    ] {
        let err = refused(json!({"input": [user_item("x"), {"type": kind, "call_id": "c"}]}));
        assert_eq!(err.param.as_deref(), Some("input[1].type"), "{kind}");
        assert!(
            err.message
                .contains(&format!("'{kind}' items are not supported")),
            "{err}"
        );
    }
    let err = refused(json!({"input": [{"type": "item_reference", "id": "msg_1"}]}));
    assert_eq!(err.param.as_deref(), Some("input[0].type"));
    assert!(
        err.message.contains("item references are not supported"),
        "{err}"
    );
    let err = refused(json!({"input": [{"type": "banana"}]}));
    assert_eq!(err.param.as_deref(), Some("input[0].type"));
    assert_eq!(
        err.message,
        "Invalid value: 'banana'. Supported values are: 'message', 'function_call', \
         'function_call_output', and 'reasoning'."
    );
}

#[test]
fn booleans() {
    let req = ok(json!({"store": false, "stream": true, "parallel_tool_calls": false}));
    assert!(!req.store && req.stream && !req.parallel_tool_calls);
    for key in ["store", "stream", "parallel_tool_calls"] {
        let err = refused(json!({key: "true"}));
        assert_eq!(err.param.as_deref(), Some(key));
        assert_eq!(
            err.message,
            format!("Invalid type for '{key}': expected a boolean, but got a string instead.")
        );
    }
    // Explicit nulls are absent.
    let req = ok(json!({"store": null, "stream": null, "tools": null, "text": null}));
    assert!(req.store && !req.stream);
}

#[test]
fn max_output_tokens() {
    assert_eq!(
        ok(json!({"max_output_tokens": 100})).max_output_tokens,
        Some(100)
    );
    assert_eq!(
        ok(json!({"max_output_tokens": 1u64 << 40})).max_output_tokens,
        Some(u32::MAX)
    );
    let err = refused(json!({"max_output_tokens": 0}));
    assert_eq!(err.param.as_deref(), Some("max_output_tokens"));
    assert_eq!(
        err.message,
        "Invalid 'max_output_tokens': integer below minimum value. Expected a value >= 1, but \
         got 0 instead."
    );
    assert_eq!(param(json!({"max_output_tokens": -5})), "max_output_tokens");
    assert_eq!(
        param(json!({"max_output_tokens": 10.5})),
        "max_output_tokens"
    );
    assert_eq!(
        param(json!({"max_output_tokens": "10"})),
        "max_output_tokens"
    );
}

#[test]
fn reasoning_effort_turns_thinking_on_or_off() {
    for (effort, thinking) in [
        ("none", false),
        ("minimal", false),
        ("low", true),
        ("medium", true),
        ("high", true),
        ("xhigh", true),
    ] {
        let req = ok(json!({"reasoning": {"effort": effort, "summary": "auto"}}));
        assert_eq!(req.thinking, Some(thinking), "{effort}");
    }
    assert_eq!(ok(json!({"reasoning": {}})).thinking, None);
    assert_eq!(ok(json!({"reasoning": {"effort": null}})).thinking, None);
    let err = refused(json!({"reasoning": {"effort": "extreme"}}));
    assert_eq!(err.param.as_deref(), Some("reasoning.effort"));
    assert!(
        err.message.starts_with("Invalid value: 'extreme'."),
        "{err}"
    );
    assert_eq!(
        param(json!({"reasoning": {"summary": "long"}})),
        "reasoning.summary"
    );
    assert_eq!(
        param(json!({"reasoning": {"generate_summary": 1}})),
        "reasoning.generate_summary"
    );
    assert_eq!(param(json!({"reasoning": "high"})), "reasoning");
}

#[test]
fn function_tools_are_emulated_others_are_not_offered() {
    let req = ok(json!({"tools": [
        {"type": "function", "name": "get_weather", "description": "Weather now.",
         "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
         "strict": true},
        {"type": "function", "name": "ping", "parameters": null},
        {"type": "web_search"},
        {"type": "web_search_preview", "search_context_size": "low"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "namespace", "name": "codex_app", "tools": []},
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar"}},
        {"type": "mcp", "server_label": "deepwiki"},
        {"type": "image_generation"},
    ]}));
    assert_eq!(
        req.tools,
        vec![
            ToolSpec {
                name: "get_weather".to_owned(),
                description: Some("Weather now.".to_owned()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            },
            ToolSpec {
                name: "ping".to_owned(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
            },
        ]
    );
    assert_eq!(
        req.unserved_tools,
        [
            "web_search",
            "web_search_preview",
            "file_search",
            "codex_app",
            "apply_patch",
            "mcp",
            "image_generation"
        ]
    );
    assert_eq!(req.tool_choice, ToolChoice::Auto);
    assert!(!req.search);
}

#[test]
fn tool_declaration_errors() {
    assert_eq!(param(json!({"tools": {}})), "tools");
    assert_eq!(param(json!({"tools": ["f"]})), "tools[0]");
    assert_eq!(param(json!({"tools": [{"name": "f"}]})), "tools[0].type");
    assert_eq!(
        param(json!({"tools": [{"type": "function"}]})),
        "tools[0].name"
    );
    assert_eq!(
        param(json!({"tools": [{"type": "function", "name": "a b"}]})),
        "tools[0].name"
    );
    assert_eq!(
        param(json!({"tools": [{"type": "function", "name": "x".repeat(65)}]})),
        "tools[0].name"
    );
    assert_eq!(
        param(json!({"tools": [{"type": "function", "name": "f", "parameters": "{}"}]})),
        "tools[0].parameters"
    );
    assert_eq!(
        param(json!({"tools": [{"type": "function", "name": "f", "description": 1}]})),
        "tools[0].description"
    );
    assert_eq!(
        param(json!({"tools": [{"type": "function", "name": "f", "strict": "yes"}]})),
        "tools[0].strict"
    );
    let err = refused(json!({"tools": [
        {"type": "function", "name": "f"},
        {"type": "web_search"},
        {"type": "function", "name": "f"},
    ]}));
    assert_eq!(err.param.as_deref(), Some("tools[2].name"));
    assert!(
        err.message.contains("already declared by tools[0]"),
        "{err}"
    );
}

fn with_tools(choice: Value) -> Value {
    json!({
        "tools": [{"type": "function", "name": "f"}, {"type": "web_search"}],
        "tool_choice": choice,
    })
}

#[test]
fn tool_choice() {
    for (choice, expected) in [
        (json!("auto"), ToolChoice::Auto),
        (json!("none"), ToolChoice::None),
        (json!("required"), ToolChoice::Required),
        (
            json!({"type": "function", "name": "f"}),
            ToolChoice::Named("f".to_owned()),
        ),
    ] {
        let req = ok(with_tools(choice.clone()));
        assert_eq!(req.tool_choice, expected, "{choice}");
        assert!(!req.search);
    }
    // "none" and "auto" need no tools.
    assert_eq!(
        ok(json!({"tool_choice": "none"})).tool_choice,
        ToolChoice::None
    );
}

#[test]
fn forced_web_search_is_the_upstreams_search_mode() {
    for kind in [
        "web_search",
        "web_search_preview",
        "web_search_preview_2025_03_11",
    ] {
        let req = ok(with_tools(json!({"type": kind})));
        assert!(req.search, "{kind}");
        assert_eq!(req.tool_choice, ToolChoice::Auto);
    }
    // Even without function tools.
    let req = ok(json!({"tools": [{"type": "web_search"}], "tool_choice": {"type": "web_search"}}));
    assert!(req.search);
}

#[test]
fn tool_choice_errors() {
    let err = refused(with_tools(json!("any")));
    assert_eq!(err.param.as_deref(), Some("tool_choice"));
    assert_eq!(
        err.message,
        "Invalid value: 'any'. Supported values are: 'none', 'auto', and 'required'."
    );
    assert_eq!(param(with_tools(json!(1))), "tool_choice");
    assert_eq!(param(with_tools(json!({"name": "f"}))), "tool_choice.type");
    assert_eq!(
        param(with_tools(json!({"type": "function"}))),
        "tool_choice.name"
    );
    // The chat shape (name under `function`) is not the Responses shape.
    assert_eq!(
        param(with_tools(
            json!({"type": "function", "function": {"name": "f"}})
        )),
        "tool_choice.name"
    );
    let err = refused(with_tools(json!({"type": "function", "name": "g"})));
    assert_eq!(err.param.as_deref(), Some("tool_choice"));
    assert!(err.message.contains("no function named 'g'"), "{err}");
    for kind in [
        "file_search",
        "code_interpreter",
        "image_generation",
        "computer_use_preview",
        "custom",
        "mcp",
    ] {
        let err = refused(with_tools(
            json!({"type": kind, "name": "x", "server_label": "s"}),
        ));
        assert_eq!(err.param.as_deref(), Some("tool_choice"), "{kind}");
        assert!(
            err.message.contains(&format!("cannot run '{kind}' tools")),
            "{err}"
        );
    }
    let err = refused(with_tools(
        json!({"type": "allowed_tools", "mode": "auto", "tools": []}),
    ));
    assert_eq!(err.param.as_deref(), Some("tool_choice"));
    assert!(
        err.message.contains("'allowed_tools' is not supported"),
        "{err}"
    );
    // Forcing a call needs a function tool.
    let err = refused(json!({"tool_choice": "required"}));
    assert_eq!(err.param.as_deref(), Some("tool_choice"));
    let err = refused(json!({"tools": [{"type": "web_search"}], "tool_choice": "required"}));
    assert_eq!(err.param.as_deref(), Some("tool_choice"));
    assert!(err.message.contains("web_search"), "{err}");
}

#[test]
fn text_format() {
    assert_eq!(ok(json!({"text": {}})).format, OutputFormat::Text);
    assert_eq!(
        ok(json!({"text": {"verbosity": "low"}})).format,
        OutputFormat::Text
    );
    assert_eq!(
        ok(json!({"text": {"format": {"type": "text"}}})).format,
        OutputFormat::Text
    );
    assert_eq!(
        ok(json!({"text": {"format": {"type": "json_object"}}})).format,
        OutputFormat::JsonObject
    );
    let schema =
        json!({"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"]});
    let req = ok(json!({"text": {"format": {
        "type": "json_schema", "name": "answer", "schema": schema, "strict": true,
        "description": "The answer.",
    }}}));
    assert_eq!(
        req.format,
        OutputFormat::JsonSchema {
            name: "answer".to_owned(),
            schema
        }
    );
}

#[test]
fn text_format_errors() {
    assert_eq!(param(json!({"text": "json"})), "text");
    assert_eq!(param(json!({"text": {"format": "json"}})), "text.format");
    assert_eq!(param(json!({"text": {"format": {}}})), "text.format.type");
    let err = refused(json!({"text": {"format": {"type": "yaml"}}}));
    assert_eq!(err.param.as_deref(), Some("text.format.type"));
    assert_eq!(
        err.message,
        "Invalid value: 'yaml'. Supported values are: 'text', 'json_schema', and 'json_object'."
    );
    // The chat shape (nested under `json_schema`) is not the Responses shape.
    assert_eq!(
        param(
            json!({"text": {"format": {"type": "json_schema", "json_schema": {"name": "a", "schema": {}}}}})
        ),
        "text.format.name"
    );
    assert_eq!(
        param(json!({"text": {"format": {"type": "json_schema", "name": "a"}}})),
        "text.format.schema"
    );
    assert_eq!(
        param(json!({"text": {"format": {"type": "json_schema", "name": "a", "schema": []}}})),
        "text.format.schema"
    );
    assert_eq!(
        param(json!({"text": {"format": {"type": "json_schema", "name": "a b", "schema": {}}}})),
        "text.format.name"
    );
    assert_eq!(
        param(
            json!({"text": {"format": {"type": "json_schema", "name": "a", "schema": {}, "strict": 1}}})
        ),
        "text.format.strict"
    );
    assert_eq!(
        param(json!({"text": {"verbosity": "terse"}})),
        "text.verbosity"
    );
}

#[test]
fn ignored_fields_are_still_type_checked() {
    let accepted = json!({
        "include": ["reasoning.encrypted_content", "message.output_text.logprobs"],
        "metadata": {"a": "b"},
        "truncation": "auto",
        "user": "u",
        "prompt_cache_key": "k",
        "prompt_cache_retention": "24h",
        "client_metadata": {"x": 1},
        "service_tier": "priority",
        "safety_identifier": "s",
        "temperature": 2,
        "top_p": 0,
        "max_tool_calls": 5,
        "stream_options": {"include_obfuscation": false},
        "context_management": [{"type": "compaction"}],
        "top_logprobs": 0,
        "background": false,
    });
    ok(accepted);
    for (extra, name) in [
        (json!({"include": "reasoning.encrypted_content"}), "include"),
        (json!({"include": [1]}), "include"),
        (json!({"metadata": []}), "metadata"),
        (json!({"client_metadata": "x"}), "client_metadata"),
        (json!({"truncation": "middle"}), "truncation"),
        (json!({"user": 1}), "user"),
        (json!({"prompt_cache_key": 1}), "prompt_cache_key"),
        (json!({"service_tier": 1}), "service_tier"),
        (json!({"safety_identifier": 1}), "safety_identifier"),
        (json!({"temperature": 2.5}), "temperature"),
        (json!({"temperature": "hot"}), "temperature"),
        (json!({"top_p": 1.5}), "top_p"),
        (json!({"max_tool_calls": -1}), "max_tool_calls"),
        (json!({"stream_options": true}), "stream_options"),
        (json!({"context_management": {}}), "context_management"),
    ] {
        assert_eq!(param(extra.clone()), name, "{extra}");
    }
}

#[test]
fn what_cannot_be_honoured_is_refused() {
    let err = refused(json!({"background": true}));
    assert_eq!(err.param.as_deref(), Some("background"));
    assert!(err.message.contains("not supported"), "{err}");
    assert_eq!(param(json!({"background": "yes"})), "background");
    let err = refused(json!({"conversation": "conv_1"}));
    assert_eq!(err.param.as_deref(), Some("conversation"));
    assert!(err.message.contains("previous_response_id"), "{err}");
    assert_eq!(
        param(json!({"conversation": {"id": "conv_1"}})),
        "conversation"
    );
    assert_eq!(param(json!({"prompt": {"id": "pmpt_1"}})), "prompt");
    assert_eq!(param(json!({"top_logprobs": 5})), "top_logprobs");
}

/// What Codex CLI (0.17x) sends on its second turn with `store: false`: its instructions,
/// `developer` messages, the user's task, the first answer's reasoning, message and
/// `exec_command` call as it received them (ids, statuses), and the call's output; tools: a
/// function, a `namespace` and `web_search`.
#[test]
fn a_codex_turn() {
    let exec_schema = json!({
        "type": "object",
        "properties": {
            "cmd": {"type": "string", "description": "Shell command to execute."},
            "workdir": {"type": "string"},
            "yield_time_ms": {"type": "number"},
        },
        "required": ["cmd"],
        "additionalProperties": false,
    });
    let body = json!({
        "model": "qwen3-coder-plus",
        "instructions": "You are Codex, a coding agent.",
        "input": [
            {"type": "message", "role": "developer", "content": [
                {"type": "input_text", "text": "<permissions instructions>sandbox: workspace-write</permissions instructions>"},
            ]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "<environment_context>\n  <cwd>/tmp/w</cwd>\n</environment_context>"},
            ]},
            {"type": "message", "role": "user", "content": [
                {"type": "input_text", "text": "Create hello.txt containing hi."},
            ]},
            {"type": "reasoning", "id": "rs_0a0000000000000000000000000000000000000000000000000000",
             "summary": [{"type": "summary_text", "text": "I'll write the file."}],
             "content": null, "encrypted_content": null},
            {"type": "message", "role": "assistant", "id": "msg_0a0000000000000000000000000000000000000000000000000001",
             "content": [{"type": "output_text", "text": "Creating the file."}]},
            {"type": "function_call", "id": "fc_0a0000000000000000000000000000000000000000000000000002",
             "name": "exec_command", "arguments": "{\"cmd\":\"echo hi > hello.txt\"}",
             "call_id": "call_AAAAAAAAAAAAAAAAAAAAAAAA"},
            {"type": "function_call_output", "call_id": "call_AAAAAAAAAAAAAAAAAAAAAAAA",
             "output": "Chunk ID: 1\nWall time: 0.01 seconds\nProcess exited with code 0\nOutput:\n"},
        ],
        "tools": [
            {"type": "function", "name": "exec_command", "description": "Runs a command in a PTY.",
             "strict": false, "parameters": exec_schema},
            {"type": "namespace", "name": "codex_app", "description": "Codex app tools.", "tools": [
                {"type": "function", "name": "open_file", "parameters": {"type": "object"}},
            ]},
            {"type": "web_search", "external_web_access": false},
        ],
        "tool_choice": "auto",
        "parallel_tool_calls": false,
        "reasoning": {"effort": "medium", "summary": "auto"},
        "store": false,
        "stream": true,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "019a0000-0000-7000-8000-000000000000",
        "text": {"verbosity": "low"},
        "client_metadata": {"x-codex-turn-metadata": "{}"},
    });
    let req = parse(body).unwrap();
    assert_eq!(req.model, "qwen3-coder-plus");
    assert_eq!(
        req.messages,
        vec![
            Message::text(Role::System, "You are Codex, a coding agent."),
            Message::text(
                Role::Developer,
                "<permissions instructions>sandbox: workspace-write</permissions instructions>"
            ),
            user("<environment_context>\n  <cwd>/tmp/w</cwd>\n</environment_context>"),
            user("Create hello.txt containing hi."),
            assistant(
                "Creating the file.",
                &[(
                    "call_AAAAAAAAAAAAAAAAAAAAAAAA",
                    "exec_command",
                    "{\"cmd\":\"echo hi > hello.txt\"}"
                )]
            ),
            tool(
                "call_AAAAAAAAAAAAAAAAAAAAAAAA",
                Some("exec_command"),
                "Chunk ID: 1\nWall time: 0.01 seconds\nProcess exited with code 0\nOutput:\n"
            ),
        ]
    );
    assert_eq!(req.input().len(), 5);
    assert!(!req.store && req.stream && !req.parallel_tool_calls && !req.search);
    assert_eq!(req.thinking, Some(true));
    assert_eq!(req.tools.len(), 1);
    assert_eq!(req.tools[0].name, "exec_command");
    assert_eq!(req.tools[0].parameters, exec_schema);
    assert_eq!(req.unserved_tools, ["codex_app", "web_search"]);
    assert_eq!(req.tool_choice, ToolChoice::Auto);
    assert_eq!(req.format, OutputFormat::Text);
    assert_eq!(
        req.echo["text"],
        json!({"format": {"type": "text"}, "verbosity": "low"})
    );
    assert_eq!(
        req.echo["reasoning"],
        json!({"effort": "medium", "summary": "auto"})
    );
    assert_eq!(req.echo["tools"].as_array().map(Vec::len), Some(3));
}
