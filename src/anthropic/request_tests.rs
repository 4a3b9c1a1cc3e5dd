//! The request rules of the Messages API, one test per rule. Kept as one file on purpose:
//! it is the table of the validation the proxy promises Anthropic's clients, read best whole.

use serde_json::{Value, json};

use super::*;
use crate::session::{Role, ToolCall};

fn parse_value(body: &Value) -> Result<MessagesRequest, InvalidRequest> {
    parse_messages_request(body.to_string().as_bytes())
}

fn parse_ok(body: &Value) -> MessagesRequest {
    parse_value(body).unwrap_or_else(|e| panic!("{body} refused: {}", e.message))
}

fn error(body: &Value) -> String {
    match parse_value(body) {
        Ok(req) => panic!("{body} accepted: {req:?}"),
        Err(e) => e.message,
    }
}

/// A minimal valid body with `extra` merged in (a `null` removes a key).
fn body(extra: Value) -> Value {
    let mut body = json!({
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "messages": [{"role": "user", "content": "hi"}],
    });
    if let (Value::Object(obj), Value::Object(extra)) = (&mut body, extra) {
        for (k, v) in extra {
            if v.is_null() {
                obj.remove(&k);
            } else {
                obj.insert(k, v);
            }
        }
    }
    body
}

/// A body whose history is `messages`.
fn history(messages: Value) -> Value {
    body(json!({ "messages": messages }))
}

fn msg(role: Role, content: &str) -> Message {
    Message::text(role, content)
}

fn tool_msg(id: &str, name: &str, content: &str) -> Message {
    let mut m = msg(Role::Tool, content);
    m.tool_call_id = Some(id.to_owned());
    m.name = Some(name.to_owned());
    m
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

#[test]
fn minimal_request() {
    let req = parse_ok(&body(json!({})));
    assert_eq!(
        req,
        MessagesRequest {
            model: "claude-sonnet-4-5".to_owned(),
            messages: vec![msg(Role::User, "hi")],
            max_tokens: Some(1024),
            stop: Vec::new(),
            stream: false,
            thinking: None,
            tools: Vec::new(),
            tool_choice: ToolChoice::Auto,
            parallel_tool_calls: true,
            format: OutputFormat::Text,
            params: json!({"model": "claude-sonnet-4-5", "max_tokens": 1024}),
        }
    );
}

#[test]
fn params_keep_everything_but_messages_and_system() {
    let req = parse_ok(&body(json!({
        "system": "be brief", "stream": true, "metadata": {"user_id": "u"}, "unknown": 1,
    })));
    assert_eq!(
        req.params,
        json!({"model": "claude-sonnet-4-5", "max_tokens": 1024, "stream": true,
            "metadata": {"user_id": "u"}, "unknown": 1})
    );
    assert!(req.stream);
}

#[test]
fn body_must_be_a_json_object() {
    for bad in [&b"{"[..], b"", b"\xff", b"{} {}"] {
        let e = parse_messages_request(bad).unwrap_err();
        assert!(e.message.contains("not valid JSON"), "{}", e.message);
    }
    let e = parse_messages_request(b"[1]").unwrap_err();
    assert_eq!(e.message, "The request body must be a JSON object.");
}

#[test]
fn model_rules() {
    assert_eq!(
        error(&body(json!({"model": null}))),
        "model: Field required"
    );
    assert_eq!(
        error(&body(json!({"model": 4}))),
        "model: Input should be a valid string"
    );
    assert_eq!(
        error(&body(json!({"model": " "}))),
        "model: String should have at least 1 character"
    );
}

#[test]
fn max_tokens_rules() {
    assert_eq!(
        error(&body(json!({"max_tokens": null}))),
        "max_tokens: Field required"
    );
    assert_eq!(
        error(&body(json!({"max_tokens": 0}))),
        "max_tokens: Input should be greater than or equal to 1"
    );
    assert_eq!(
        error(&body(json!({"max_tokens": -3}))),
        "max_tokens: Input should be greater than or equal to 1"
    );
    assert_eq!(
        error(&body(json!({"max_tokens": "10"}))),
        "max_tokens: Input should be a valid integer"
    );
    assert_eq!(
        error(&body(json!({"max_tokens": 1.5}))),
        "max_tokens: Input should be a valid integer, got a number with a fractional part"
    );
    assert_eq!(
        parse_ok(&body(json!({"max_tokens": 2048.0}))).max_tokens,
        Some(2048)
    );
    assert_eq!(
        parse_ok(&body(json!({"max_tokens": 1u64 << 40}))).max_tokens,
        Some(u32::MAX)
    );
}

#[test]
fn count_tokens_needs_no_max_tokens() {
    let no_max = body(json!({"max_tokens": null}));
    let req = parse_count_tokens_request(no_max.to_string().as_bytes()).unwrap();
    assert_eq!(req.max_tokens, None);
    let bad = body(json!({"max_tokens": 0}));
    let e = parse_count_tokens_request(bad.to_string().as_bytes()).unwrap_err();
    assert_eq!(
        e.message,
        "max_tokens: Input should be greater than or equal to 1"
    );
    let no_messages = body(json!({"messages": null}));
    let e = parse_count_tokens_request(no_messages.to_string().as_bytes()).unwrap_err();
    assert_eq!(e.message, "messages: Field required");
}

#[test]
fn messages_rules() {
    assert_eq!(
        error(&body(json!({"messages": null}))),
        "messages: Field required"
    );
    assert_eq!(
        error(&history(json!("hi"))),
        "messages: Input should be a valid list"
    );
    assert_eq!(
        error(&history(json!([]))),
        "messages: List should have at least 1 item after validation, not 0"
    );
    assert_eq!(
        error(&history(json!(["hi"]))),
        "messages.0: Input should be a valid dictionary"
    );
    assert_eq!(
        error(&history(json!([{"content": "hi"}]))),
        "messages.0.role: Field required"
    );
    assert_eq!(
        error(&history(json!([{"role": "tool", "content": "hi"}]))),
        "messages.0.role: Input should be 'user', 'assistant' or 'system'"
    );
    assert_eq!(
        error(&history(json!([{"role": "user"}]))),
        "messages.0.content: Field required"
    );
    assert_eq!(
        error(&history(json!([{"role": "user", "content": 5}]))),
        "messages.0.content: Input should be a valid string or a list of content blocks"
    );
    assert_eq!(
        error(&history(
            json!([{"role": "user", "content": [{"text": "x"}]}])
        )),
        "messages.0.content.0.type: Field required"
    );
    assert_eq!(
        error(&history(
            json!([{"role": "user", "content": [{"type": "text"}]}])
        )),
        "messages.0.content.0.text: Field required"
    );
    assert_eq!(
        error(&history(
            json!([{"role": "user", "content": [{"type": "text", "text": 1}]}])
        )),
        "messages.0.content.0.text: Input should be a valid string"
    );
}

#[test]
fn block_types_are_checked_per_role() {
    let with_block = |role: &str, block: Value| {
        history(json!([
            {"role": "user", "content": "hi"},
            {"role": role, "content": [{"type": "text", "text": "x"}, block]},
        ]))
    };
    assert_eq!(
        error(&with_block(
            "user",
            json!({"type": "tool_use", "id": "t", "name": "f", "input": {}})
        )),
        "messages.1.content.1.type: Input should be 'text' or 'tool_result'"
    );
    assert_eq!(
        error(&with_block(
            "user",
            json!({"type": "thinking", "thinking": "x"})
        )),
        "messages.1.content.1.type: Input should be 'text' or 'tool_result'"
    );
    assert_eq!(
        error(&with_block(
            "assistant",
            json!({"type": "tool_result", "tool_use_id": "t"})
        )),
        "messages.1.content.1.type: Input should be 'text', 'thinking', 'redacted_thinking' or 'tool_use'"
    );
    assert_eq!(
        error(&with_block(
            "assistant",
            json!({"type": "server_tool_use", "id": "s"})
        )),
        "messages.1.content.1.type: Input should be 'text', 'thinking', 'redacted_thinking' or 'tool_use'"
    );
    assert_eq!(
        error(&with_block(
            "system",
            json!({"type": "tool_result", "tool_use_id": "t"})
        )),
        "messages.1.content.1.type: Input should be 'text'"
    );
    assert_eq!(
        error(&with_block("user", json!({"type": 7}))),
        "messages.1.content.1.type: Input should be a valid string"
    );
}

#[test]
fn images_and_documents_are_refused_by_name() {
    let image = json!({"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AA=="}});
    assert_eq!(
        error(&history(
            json!([{"role": "user", "content": [{"type": "text", "text": "see"}, image]}])
        )),
        "messages.0.content.1: image input is not supported yet: this proxy forwards text only. \
         Send the content as text blocks."
    );
    let document = json!({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "d"}});
    assert!(
        error(&history(json!([{"role": "user", "content": [document]}])))
            .starts_with("messages.0.content.0: document input is not supported yet")
    );
    let in_result = history(json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
            "content": [{"type": "text", "text": "here"}, image]}]},
    ]));
    assert!(
        error(&in_result)
            .starts_with("messages.2.content.0.content.1: image input is not supported yet"),
        "{}",
        error(&in_result)
    );
}

#[test]
fn text_blocks_join_with_newlines() {
    let req = parse_ok(&history(json!([
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>x</system-reminder>"},
            {"type": "text", "text": ""},
            {"type": "text", "text": "question", "cache_control": {"type": "ephemeral"}},
        ]},
        {"role": "assistant", "content": [
            {"type": "text", "text": "a", "citations": []}, {"type": "text", "text": "b"},
        ]},
        {"role": "user", "content": []},
        {"role": "assistant", "content": "plain"},
    ])));
    assert_eq!(
        req.messages,
        [
            msg(Role::User, "<system-reminder>x</system-reminder>\nquestion"),
            msg(Role::Assistant, "a\nb"),
            msg(Role::User, ""),
            msg(Role::Assistant, "plain"),
        ]
    );
}

#[test]
fn system_field_and_system_role() {
    let req = parse_ok(&body(json!({
        "system": "be brief",
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "system", "content": [{"type": "text", "text": "now be verbose"}]},
            {"role": "system", "content": ""},
            {"role": "user", "content": "again"},
        ],
    })));
    assert_eq!(
        req.messages,
        [
            msg(Role::System, "be brief"),
            msg(Role::User, "hi"),
            msg(Role::System, "now be verbose"),
            msg(Role::User, "again"),
        ]
    );
    // An empty system prompt adds nothing.
    for empty in [json!(""), json!([]), json!([{"type": "text", "text": ""}])] {
        let req = parse_ok(&body(json!({ "system": empty })));
        assert_eq!(req.messages, [msg(Role::User, "hi")]);
    }
    assert_eq!(
        error(&body(json!({"system": 3}))),
        "system: Input should be a valid string or a list of text blocks"
    );
    assert_eq!(
        error(&body(json!({"system": [{"type": "image"}]}))),
        "system.0: image input is not supported yet: this proxy forwards text only. Send the \
         content as text blocks."
    );
    assert_eq!(
        error(&body(json!({"system": [{"type": "tool_use"}]}))),
        "system.0.type: Input should be 'text'"
    );
    assert_eq!(
        error(&body(json!({"system": [{"type": "text"}]}))),
        "system.0.text: Field required"
    );
}

#[test]
fn billing_header_block_is_dropped() {
    let system = |cch: &str| {
        json!([
            {"type": "text", "text": format!("x-anthropic-billing-header: cc_version=2.1.37.0d9; cc_entrypoint=cli; cch={cch};")},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "Be helpful."},
        ])
    };
    let a = parse_ok(&body(json!({"system": system("fa690")})));
    let b = parse_ok(&body(json!({"system": system("0b1c2")})));
    assert_eq!(
        a.messages[0],
        msg(
            Role::System,
            "You are Claude Code, Anthropic's official CLI for Claude.\nBe helpful."
        )
    );
    assert_eq!(a.messages, b.messages);
    // Joined into a string by some client: only its first line goes.
    let joined = parse_ok(&body(json!({
        "system": "x-anthropic-billing-header: cc_version=1; cch=2;\nYou are Claude Code.",
    })));
    assert_eq!(
        joined.messages[0],
        msg(Role::System, "You are Claude Code.")
    );
    // Only at the start of a block.
    let quoted = parse_ok(&body(
        json!({"system": "see x-anthropic-billing-header: here"}),
    ));
    assert_eq!(
        quoted.messages[0],
        msg(Role::System, "see x-anthropic-billing-header: here")
    );
}

#[test]
fn tool_use_and_results() {
    let req = parse_ok(&history(json!([
        {"role": "user", "content": "weather in Paris and Rome?"},
        {"role": "assistant", "content": [
            {"type": "thinking", "thinking": "two calls", "signature": "sig"},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_a", "name": "get_weather", "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_b", "name": "get_weather", "input": {"city": "Rome"}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": "sunny"},
            {"type": "tool_result", "tool_use_id": "toolu_b", "is_error": true,
                "content": [{"type": "text", "text": "timeout"}, {"type": "text", "text": "retry later"}]},
            {"type": "text", "text": "and tomorrow?"},
        ]},
        {"role": "assistant", "content": [
            {"type": "redacted_thinking", "data": "xyz"},
            {"type": "tool_use", "id": "toolu_c", "name": "forecast", "input": {}},
        ]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_c", "cache_control": {"type": "ephemeral"}},
            {"type": "tool_result", "tool_use_id": "toolu_a", "content": [], "is_error": true},
        ]},
    ])));
    let mut checking = msg(Role::Assistant, "Checking.");
    checking.tool_calls = vec![
        call("toolu_a", "get_weather", r#"{"city":"Paris"}"#),
        call("toolu_b", "get_weather", r#"{"city":"Rome"}"#),
    ];
    let mut forecast = msg(Role::Assistant, "");
    forecast.tool_calls = vec![call("toolu_c", "forecast", "{}")];
    assert_eq!(
        req.messages,
        [
            msg(Role::User, "weather in Paris and Rome?"),
            checking,
            tool_msg("toolu_a", "get_weather", "sunny"),
            tool_msg("toolu_b", "get_weather", "Error: timeout\nretry later"),
            msg(Role::User, "and tomorrow?"),
            forecast,
            tool_msg("toolu_c", "forecast", ""),
            tool_msg("toolu_a", "get_weather", "Error"),
        ]
    );
}

#[test]
fn tool_history_rules() {
    let with_result = |result: Value| {
        history(json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
            {"role": "user", "content": [result]},
        ]))
    };
    assert_eq!(
        error(&with_result(
            json!({"type": "tool_result", "tool_use_id": "toolu_9"})
        )),
        "messages.2.content.0.tool_use_id: no earlier tool_use block has the id 'toolu_9'. Each \
         tool_result block must answer a tool_use block of a preceding assistant message."
    );
    assert_eq!(
        error(&with_result(json!({"type": "tool_result"}))),
        "messages.2.content.0.tool_use_id: Field required"
    );
    assert_eq!(
        error(&with_result(
            json!({"type": "tool_result", "tool_use_id": "toolu_1", "content": 4})
        )),
        "messages.2.content.0.content: Input should be a valid string or a list of content blocks"
    );
    assert_eq!(
        error(&with_result(
            json!({"type": "tool_result", "tool_use_id": "toolu_1",
            "content": [{"type": "tool_reference", "tool_name": "x"}]})
        )),
        "messages.2.content.0.content.0.type: Input should be 'text'"
    );
    assert_eq!(
        error(&with_result(
            json!({"type": "tool_result", "tool_use_id": "toolu_1", "is_error": "yes"})
        )),
        "messages.2.content.0.is_error: Input should be a valid boolean"
    );
    // A result must follow its call, not precede it.
    assert!(
        error(&history(json!([
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1"}]},
            {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}]},
        ])))
        .starts_with("messages.0.content.0.tool_use_id: no earlier tool_use block")
    );
    let with_use = |tool_use: Value| {
        history(json!([
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": [tool_use]},
        ]))
    };
    assert_eq!(
        error(&with_use(
            json!({"type": "tool_use", "id": "t", "name": "f", "input": "{}"})
        )),
        "messages.1.content.0.input: Input should be a valid dictionary"
    );
    assert_eq!(
        error(&with_use(
            json!({"type": "tool_use", "id": "t", "name": "f"})
        )),
        "messages.1.content.0.input: Field required"
    );
    assert_eq!(
        error(&with_use(
            json!({"type": "tool_use", "name": "f", "input": {}})
        )),
        "messages.1.content.0.id: Field required"
    );
    assert_eq!(
        error(&with_use(
            json!({"type": "tool_use", "id": "t", "name": 1, "input": {}})
        )),
        "messages.1.content.0.name: Input should be a valid string"
    );
}

#[test]
fn stop_sequences_and_stream() {
    let req = parse_ok(&body(
        json!({"stop_sequences": ["END", "", "\n\nHuman:"], "stream": true}),
    ));
    assert_eq!(req.stop, ["END", "\n\nHuman:"]);
    assert!(req.stream);
    assert_eq!(
        error(&body(json!({"stop_sequences": "END"}))),
        "stop_sequences: Input should be a valid list"
    );
    assert_eq!(
        error(&body(json!({"stop_sequences": ["a", 2]}))),
        "stop_sequences.1: Input should be a valid string"
    );
    assert_eq!(
        error(&body(json!({"stream": "yes"}))),
        "stream: Input should be a valid boolean"
    );
}

#[test]
fn ignored_fields_are_type_checked() {
    parse_ok(&body(json!({
        "temperature": 1, "top_p": 0.9, "top_k": 40, "metadata": {"user_id": "u"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015"}]},
        "service_tier": "auto", "container": "c", "mcp_servers": [],
        "cache_control": {"type": "ephemeral"},
    })));
    for (extra, message) in [
        (
            json!({"temperature": 1.5}),
            "temperature: Input should be less than or equal to 1",
        ),
        (
            json!({"temperature": -0.1}),
            "temperature: Input should be greater than or equal to 0",
        ),
        (
            json!({"temperature": "hot"}),
            "temperature: Input should be a valid number",
        ),
        (
            json!({"top_p": 2}),
            "top_p: Input should be less than or equal to 1",
        ),
        (
            json!({"top_k": -1}),
            "top_k: Input should be greater than or equal to 0",
        ),
        (
            json!({"top_k": 0.5}),
            "top_k: Input should be a valid integer, got a number with a fractional part",
        ),
        (
            json!({"metadata": "u"}),
            "metadata: Input should be a valid dictionary",
        ),
        (
            json!({"context_management": []}),
            "context_management: Input should be a valid dictionary",
        ),
        (
            json!({"service_tier": 1}),
            "service_tier: Input should be a valid string",
        ),
        (
            json!({"mcp_servers": {}}),
            "mcp_servers: Input should be a valid list",
        ),
    ] {
        assert_eq!(error(&body(extra.clone())), message, "{extra}");
    }
    assert!(
        error(&body(
            json!({"mcp_servers": [{"type": "url", "url": "https://x", "name": "x"}]})
        ))
        .starts_with("mcp_servers: MCP servers are not supported")
    );
}

fn weather_tool() -> Value {
    json!({
        "name": "get_weather",
        "description": "Weather of a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    })
}

#[test]
fn tools_rules() {
    let req = parse_ok(&body(json!({"tools": [
        weather_tool(),
        {"type": "custom", "name": "mcp__git__log", "input_schema": {"type": "object"},
            "cache_control": {"type": "ephemeral"}, "strict": true},
    ]})));
    assert_eq!(
        req.tools,
        [
            ToolSpec {
                name: "get_weather".to_owned(),
                description: Some("Weather of a city".to_owned()),
                parameters: weather_tool()["input_schema"].clone(),
            },
            ToolSpec {
                name: "mcp__git__log".to_owned(),
                description: None,
                parameters: json!({"type": "object"}),
            },
        ]
    );
    assert!(parse_ok(&body(json!({"tools": []}))).tools.is_empty());
    assert_eq!(
        error(&body(json!({"tools": {}}))),
        "tools: Input should be a valid list"
    );
    assert_eq!(
        error(&body(
            json!({"tools": [weather_tool(), {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}]})
        )),
        "tools.1.type: server tool 'web_search_20250305' is not supported: this proxy emulates \
         custom tools (no 'type', or 'custom') only. For web search, ask for the model's \
         '-search' variant instead."
    );
    assert!(
        error(&body(
            json!({"tools": [{"type": "bash_20250124", "name": "bash"}]})
        ))
        .starts_with("tools.0.type: server tool 'bash_20250124' is not supported")
    );
    assert_eq!(
        error(&body(json!({"tools": [{"name": "f"}]}))),
        "tools.0.input_schema: Field required"
    );
    assert_eq!(
        error(&body(
            json!({"tools": [{"name": "f", "input_schema": "{}"}]})
        )),
        "tools.0.input_schema: Input should be a valid dictionary"
    );
    assert_eq!(
        error(&body(json!({"tools": [{"input_schema": {}}]}))),
        "tools.0.name: Field required"
    );
    assert_eq!(
        error(&body(
            json!({"tools": [{"name": "a b", "input_schema": {}}]})
        )),
        "tools.0.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"
    );
    assert_eq!(
        error(&body(json!({"tools": [{"name": "", "input_schema": {}}]}))),
        "tools.0.name: String should have at least 1 character"
    );
    assert_eq!(
        error(&body(
            json!({"tools": [{"name": "x".repeat(129), "input_schema": {}}]})
        )),
        "tools.0.name: String should have at most 128 characters"
    );
    assert_eq!(
        error(&body(
            json!({"tools": [{"name": "f", "description": 1, "input_schema": {}}]})
        )),
        "tools.0.description: Input should be a valid string"
    );
    assert_eq!(
        error(&body(json!({"tools": [weather_tool(), weather_tool()]}))),
        "tools.1.name: Tool names must be unique: 'get_weather' is already declared by tools.0."
    );
    assert_eq!(
        error(&body(json!({"tools": [1]}))),
        "tools.0: Input should be a valid dictionary"
    );
}

#[test]
fn tool_choice_rules() {
    let choose = |choice: Value| {
        parse_value(&body(
            json!({"tools": [weather_tool()], "tool_choice": choice}),
        ))
    };
    let ok = |choice: Value| {
        let req = choose(choice).unwrap();
        (req.tool_choice, req.parallel_tool_calls)
    };
    assert_eq!(ok(json!({"type": "auto"})), (ToolChoice::Auto, true));
    assert_eq!(ok(json!({"type": "none"})), (ToolChoice::None, true));
    assert_eq!(ok(json!({"type": "any"})), (ToolChoice::Required, true));
    assert_eq!(
        ok(json!({"type": "tool", "name": "get_weather", "disable_parallel_tool_use": true})),
        (ToolChoice::Named("get_weather".to_owned()), false)
    );
    assert_eq!(
        ok(json!({"type": "auto", "disable_parallel_tool_use": true})),
        (ToolChoice::Auto, false)
    );
    let err = |choice: Value| choose(choice).unwrap_err().message;
    assert_eq!(
        err(json!({"type": "tool", "name": "nope"})),
        "tool_choice.name: no tool named 'nope' is declared in tools."
    );
    assert_eq!(
        err(json!({"type": "tool"})),
        "tool_choice.name: Field required"
    );
    assert_eq!(
        err(json!({"type": "required"})),
        "tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'"
    );
    assert_eq!(err(json!({})), "tool_choice.type: Field required");
    assert_eq!(
        err(json!("auto")),
        "tool_choice: Input should be a valid dictionary"
    );
    assert_eq!(
        err(json!({"type": "any", "disable_parallel_tool_use": 1})),
        "tool_choice.disable_parallel_tool_use: Input should be a valid boolean"
    );
    // Without tools, only choices that need none.
    assert_eq!(
        parse_ok(&body(json!({"tool_choice": {"type": "none"}}))).tool_choice,
        ToolChoice::None
    );
    assert_eq!(
        error(&body(json!({"tool_choice": {"type": "any"}}))),
        "tool_choice: tool_choice.type 'any' may only be specified while providing tools."
    );
}

#[test]
fn thinking_rules() {
    let thinking = |value: Value, tools: bool| {
        let tools = if tools {
            json!([weather_tool()])
        } else {
            json!([])
        };
        parse_ok(&body(json!({"thinking": value, "tools": tools}))).thinking
    };
    assert_eq!(
        thinking(json!({"type": "enabled", "budget_tokens": 10000}), false),
        Some(true)
    );
    assert_eq!(
        thinking(json!({"type": "enabled", "budget_tokens": 10000}), true),
        Some(true)
    );
    assert_eq!(thinking(json!({"type": "disabled"}), false), Some(false));
    assert_eq!(thinking(json!({"type": "adaptive"}), false), None);
    assert_eq!(thinking(json!({"type": "adaptive"}), true), Some(false));
    assert_eq!(parse_ok(&body(json!({}))).thinking, None);
    assert_eq!(
        error(&body(json!({"thinking": {"type": "on"}}))),
        "thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'"
    );
    assert_eq!(
        error(&body(json!({"thinking": {"budget_tokens": 5}}))),
        "thinking.type: Field required"
    );
    assert_eq!(
        error(&body(
            json!({"thinking": {"type": "enabled", "budget_tokens": "lots"}})
        )),
        "thinking.budget_tokens: Input should be a valid integer"
    );
    assert_eq!(
        error(&body(json!({"thinking": true}))),
        "thinking: Input should be a valid dictionary"
    );
}

#[test]
fn output_format_rules() {
    let schema = json!({"type": "object", "properties": {"answer": {"type": "string"}}});
    let expected = OutputFormat::JsonSchema {
        name: "output".to_owned(),
        schema: schema.clone(),
    };
    let req = parse_ok(&body(json!({"output_config": {
        "effort": "high", "format": {"type": "json_schema", "schema": schema},
    }})));
    assert_eq!(req.format, expected);
    let legacy = parse_ok(&body(
        json!({"output_format": {"type": "json_schema", "schema": schema}}),
    ));
    assert_eq!(legacy.format, expected);
    assert_eq!(
        parse_ok(&body(json!({"output_config": {"effort": "low"}}))).format,
        OutputFormat::Text
    );
    assert_eq!(
        error(&body(
            json!({"output_config": {"format": {"type": "json_object"}}})
        )),
        "output_config.format.type: Input should be 'json_schema'"
    );
    assert_eq!(
        error(&body(
            json!({"output_config": {"format": {"type": "json_schema"}}})
        )),
        "output_config.format.schema: Field required"
    );
    assert_eq!(
        error(&body(json!({"output_config": {"format": "json"}}))),
        "output_config.format: Input should be a valid dictionary"
    );
    assert_eq!(
        error(&body(json!({"output_config": {"effort": 3}}))),
        "output_config.effort: Input should be a valid string"
    );
    assert_eq!(
        error(&body(
            json!({"output_format": {"type": "json_schema", "schema": []}})
        )),
        "output_format.schema: Input should be a valid dictionary"
    );
}

/// A request shaped like the ones Claude Code 2.x sends: system blocks with the billing header
/// and `cache_control`, a `role: "system"` message, 20+ tools with `$schema`, adaptive thinking,
/// `output_config`, `context_management`, `metadata`, and a tool loop whose assistant turns
/// carry thinking blocks.
#[test]
fn claude_code_request() {
    let names = [
        "Task",
        "Bash",
        "Glob",
        "Grep",
        "ExitPlanMode",
        "Read",
        "Edit",
        "Write",
        "NotebookEdit",
        "WebFetch",
        "TodoWrite",
        "WebSearch",
        "BashOutput",
        "KillShell",
        "Skill",
        "SlashCommand",
        "AskUserQuestion",
        "mcp__github__get_issue",
        "mcp__github__list_prs",
        "mcp__fs__tree",
        "EnterPlanMode",
        "ListMcpResources",
    ];
    let tools: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut tool = json!({
                "name": name,
                "description": format!("The {name} tool."),
                "input_schema": {
                    "$schema": "http://json-schema.org/draft-07/schema#",
                    "type": "object",
                    "properties": {"file_path": {"type": "string", "description": "Absolute path"}},
                    "required": ["file_path"],
                    "additionalProperties": false,
                },
            });
            if i == names.len() - 1 {
                tool["cache_control"] = json!({"type": "ephemeral"});
            }
            tool
        })
        .collect();
    let body = json!({
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "stream": true,
        "temperature": 1,
        "metadata": {"user_id": "user_abc_account__session_123"},
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "medium"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1.37.0d9; cc_entrypoint=cli; cch=fa690;"},
            {"type": "text", "text": "You are Claude Code, Anthropic's official CLI for Claude.", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "You are an interactive CLI tool.", "cache_control": {"type": "ephemeral"}},
        ],
        "tools": tools,
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "<system-reminder>\nAs you answer, use this context.\n</system-reminder>"},
                {"type": "text", "text": "read src/main.rs"},
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "I should read the file.", "signature": "EqQBCgIYAhIM"},
                {"type": "text", "text": "I'll read it."},
                {"type": "tool_use", "id": "toolu_01ABCDEFGHIJKLMNOPQRSTUV", "name": "Read",
                    "input": {"file_path": "/repo/src/main.rs"}},
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "toolu_01ABCDEFGHIJKLMNOPQRSTUV",
                    "content": "     1\tfn main() {}\n"},
                {"type": "text", "text": "<system-reminder>The file is short.</system-reminder>",
                    "cache_control": {"type": "ephemeral"}},
            ]},
            {"role": "system", "content": "Keep answers short."},
            {"role": "assistant", "content": [
                {"type": "redacted_thinking", "data": "opaque"},
                {"type": "text", "text": "It is an empty main."},
            ]},
            {"role": "user", "content": [{"type": "text", "text": "thanks", "cache_control": {"type": "ephemeral"}}]},
        ],
    });
    let req = parse_ok(&body);
    let mut read = msg(Role::Assistant, "I'll read it.");
    read.tool_calls = vec![call(
        "toolu_01ABCDEFGHIJKLMNOPQRSTUV",
        "Read",
        r#"{"file_path":"/repo/src/main.rs"}"#,
    )];
    assert_eq!(
        req.messages,
        [
            msg(
                Role::System,
                "You are Claude Code, Anthropic's official CLI for Claude.\nYou are an interactive CLI tool."
            ),
            msg(
                Role::User,
                "<system-reminder>\nAs you answer, use this context.\n</system-reminder>\nread src/main.rs"
            ),
            read,
            tool_msg(
                "toolu_01ABCDEFGHIJKLMNOPQRSTUV",
                "Read",
                "     1\tfn main() {}\n"
            ),
            msg(
                Role::User,
                "<system-reminder>The file is short.</system-reminder>"
            ),
            msg(Role::System, "Keep answers short."),
            msg(Role::Assistant, "It is an empty main."),
            msg(Role::User, "thanks"),
        ]
    );
    assert_eq!(req.tools.len(), 22);
    assert_eq!(req.tools[0].name, "Task");
    assert_eq!(
        req.tools[21].parameters["$schema"],
        "http://json-schema.org/draft-07/schema#"
    );
    assert_eq!(req.thinking, Some(false), "adaptive with tools is off");
    assert_eq!(req.format, OutputFormat::Text);
    assert_eq!(req.tool_choice, ToolChoice::Auto);
    assert!(req.parallel_tool_calls);
    assert!(req.stream);
    assert_eq!(req.max_tokens, Some(32000));
    assert!(req.params.get("system").is_none() && req.params.get("messages").is_none());
    assert_eq!(req.params["tools"].as_array().map(Vec::len), Some(22));
}

#[test]
fn input_tokens_counts_everything() {
    let plain = parse_ok(&body(json!({})));
    // "hi" is one token.
    assert_eq!(input_tokens(&plain), 1);
    let with_system = parse_ok(&body(json!({"system": "abcdefgh"})));
    assert_eq!(input_tokens(&with_system), 3);
    let with_tools = parse_ok(&body(json!({"tools": [weather_tool()]})));
    assert!(input_tokens(&with_tools) > input_tokens(&plain) + 10);
    let with_calls = parse_ok(&history(json!([
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "get_weather", "input": {"city": "Paris"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "sunny and warm"}]},
    ])));
    // "go" 1 + "get_weather" 3 + {"city":"Paris"} 4 + "sunny and warm" 4.
    assert_eq!(input_tokens(&with_calls), 12);
    let empty = parse_ok(&history(json!([{"role": "user", "content": ""}])));
    assert_eq!(input_tokens(&empty), 1, "never 0");
}

#[test]
fn deferred_tools_are_not_offered() {
    let req = parse_ok(&body(json!({"tools": [
        {"name": "Read", "input_schema": {"type": "object"}},
        {"name": "DeferredToolPlaceholder", "defer_loading": true, "input_schema": {"type": "object", "properties": {}}},
        {"name": "Write", "input_schema": {"type": "object"}},
    ]})));
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["Read", "Write"]);
}
