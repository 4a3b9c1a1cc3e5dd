//! Tests of the request parsers: every validation rule, with the parameter it names.
//! Kept as one file on purpose: it is the table of OpenAI's validation rules that the proxy
//! promises, and reads best whole, rule after rule.

use serde_json::{Value, json};

use super::*;
use crate::session::{OutputFormat, Role, ToolCall, ToolChoice, ToolSpec};

fn chat(body: Value) -> Result<ChatRequest, InvalidRequest> {
    parse_chat_request(body.to_string().as_bytes())
}

fn completion(body: Value) -> Result<CompletionRequest, InvalidRequest> {
    parse_completion_request(body.to_string().as_bytes())
}

/// A valid chat body with `extra` merged in (a `null` in `extra` removes the key).
fn chat_with(extra: Value) -> Value {
    let mut body = json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}]});
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
fn chat_param(extra: Value) -> Option<String> {
    chat(chat_with(extra)).expect_err("should be refused").param
}

#[test]
fn minimal_chat_request_has_defaults_and_keeps_params() {
    let body = chat_with(json!({"temperature": 0.5, "tools": [], "x_unknown": {"a": 1}}));
    let req = chat(body).unwrap();
    assert_eq!(req.model, "qwen3-max");
    assert_eq!(req.messages, vec![Message::text(Role::User, "hi")]);
    assert!(!req.stream && !req.include_usage);
    assert_eq!(
        (req.max_tokens, req.thinking, req.user.as_deref()),
        (None, None, None)
    );
    assert!(req.stop.is_empty());
    assert_eq!(
        req.params,
        json!({"model": "qwen3-max", "temperature": 0.5, "tools": [], "x_unknown": {"a": 1}})
    );
}

#[test]
fn unparsable_bodies_have_no_param() {
    for body in [
        &b"{"[..],
        b"",
        b"[1,",
        b"{\"model\": \"\xff\"}",
        b"{} trailing",
    ] {
        let err = parse_chat_request(body).unwrap_err();
        assert!(
            err.message.starts_with("We could not parse the JSON body"),
            "{err}"
        );
        assert_eq!(err.param, None);
    }
    for body in [json!([]), json!("x"), json!(1), json!(null)] {
        let err = chat(body).unwrap_err();
        assert_eq!(err.param, None);
        assert!(err.message.contains("JSON object"), "{err}");
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let body =
        format!(r#"{{"model":"m","messages":[{{"role":"user","content":"x"}}],"x":{deep}}}"#);
    let err = parse_chat_request(body.as_bytes()).unwrap_err();
    assert_eq!(err.param, None);
    assert!(parse_completion_request(body.as_bytes()).is_err());
}

#[test]
fn model_is_required_and_a_non_empty_string() {
    for model in [Value::Null, json!(""), json!("  "), json!(3), json!(["m"])] {
        assert_eq!(
            chat_param(json!({ "model": model })).as_deref(),
            Some("model")
        );
    }
    let err = completion(json!({"prompt": "x"})).unwrap_err();
    assert_eq!(err.param.as_deref(), Some("model"));
}

#[test]
fn messages_must_be_a_non_empty_array_of_objects() {
    for messages in [Value::Null, json!([]), json!("hi"), json!({"role": "user"})] {
        assert_eq!(
            chat_param(json!({ "messages": messages })).as_deref(),
            Some("messages")
        );
    }
    let p = chat_param(json!({"messages": [{"role": "user", "content": "a"}, "b"]}));
    assert_eq!(p.as_deref(), Some("messages[1]"));
}

#[test]
fn roles_are_checked_and_function_is_tool() {
    for role in [json!("robot"), json!(1), Value::Null, json!("User")] {
        let p = chat_param(json!({"messages": [{"content": "a"}, {"role": role, "content": "b"}]}));
        assert_eq!(p.as_deref(), Some("messages[0].role"));
        let p = chat_param(
            json!({"messages": [{"role": "user", "content": "a"}, {"role": role, "content": "b"}]}),
        );
        assert_eq!(p.as_deref(), Some("messages[1].role"));
    }
    let call =
        json!({"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}});
    let messages = json!([
        {"role": "system", "content": "system"},
        {"role": "developer", "content": "developer"},
        {"role": "user", "content": "user"},
        {"role": "assistant", "content": "assistant", "tool_calls": [call],
            "function_call": {"name": "g", "arguments": "{}"}},
        {"role": "tool", "tool_call_id": "c1", "content": "tool"},
        {"role": "function", "name": "g", "content": "function"},
    ]);
    let req = chat(chat_with(json!({ "messages": messages }))).unwrap();
    let got: Vec<&str> = req.messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(
        got,
        ["system", "developer", "user", "assistant", "tool", "tool"]
    );
    assert_eq!(req.messages[5].content, "function");
}

#[test]
fn content_forms() {
    let req = chat(chat_with(json!({"messages": [
        {"role": "system", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
        {"role": "user", "content": []},
        {"role": "assistant", "content": null, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "assistant", "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}]},
        {"role": "tool", "tool_call_id": "c1", "content": "42"},
    ]})))
    .unwrap();
    let got: Vec<&str> = req.messages.iter().map(|m| m.content.as_str()).collect();
    assert_eq!(got, ["a\nb", "", "", "", "no", "42"]);
}

#[test]
fn bad_content_names_the_message() {
    let cases = [
        (json!({"role": "user"}), "messages[0].content"),
        (
            json!({"role": "user", "content": null}),
            "messages[0].content",
        ),
        (
            json!({"role": "assistant", "content": null}),
            "messages[0].content",
        ),
        (json!({"role": "user", "content": 5}), "messages[0].content"),
        (
            json!({"role": "user", "content": ["x"]}),
            "messages[0].content[0]",
        ),
        (
            json!({"role": "user", "content": [{"text": "x"}]}),
            "messages[0].content[0].type",
        ),
        (
            json!({"role": "user", "content": [{"type": "text"}]}),
            "messages[0].content[0].text",
        ),
        (
            json!({"role": "user", "content": [{"type": "text", "text": 1}]}),
            "messages[0].content[0].text",
        ),
        (
            json!({"role": "user", "content": [{"type": "refusal", "refusal": "x"}]}),
            "messages[0].content",
        ),
    ];
    for (message, param) in cases {
        assert_eq!(
            chat_param(json!({ "messages": [message] })).as_deref(),
            Some(param)
        );
    }
}

#[test]
fn non_text_parts_are_refused() {
    for (kind, word) in [
        ("image_url", "image"),
        ("input_audio", "audio"),
        ("file", "file"),
        ("video", "video"),
    ] {
        let part = json!({"type": kind, kind: {"url": "data:..."}});
        let body = chat_with(json!({"messages": [
            {"role": "user", "content": "a"},
            {"role": "user", "content": [{"type": "text", "text": "t"}, part]},
        ]}));
        let err = chat(body).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("messages[1].content"));
        assert!(err.message.contains(word), "{err}");
    }
    let err = chat(chat_with(
        json!({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]}),
    ));
    assert!(
        err.unwrap_err()
            .message
            .starts_with("image input is not supported yet")
    );
}

#[test]
fn n_must_be_one() {
    assert!(chat(chat_with(json!({"n": 1}))).is_ok());
    let err = chat(chat_with(json!({"n": 2}))).unwrap_err();
    assert_eq!(err.param.as_deref(), Some("n"));
    assert!(err.message.starts_with("n > 1 is not supported"));
    for n in [json!(0), json!(-1), json!(1.0), json!("1"), json!(true)] {
        assert_eq!(chat_param(json!({ "n": n })).as_deref(), Some("n"));
    }
}

#[test]
fn stream_and_include_usage() {
    let req = chat(chat_with(
        json!({"stream": true, "stream_options": {"include_usage": true}}),
    ))
    .unwrap();
    assert!(req.stream && req.include_usage);
    let req = chat(chat_with(json!({"stream": true, "stream_options": {}}))).unwrap();
    assert!(req.stream && !req.include_usage);
    assert_eq!(
        chat_param(json!({"stream": "yes"})).as_deref(),
        Some("stream")
    );
    assert_eq!(
        chat_param(json!({"stream_options": true})).as_deref(),
        Some("stream_options")
    );
    let p = chat_param(json!({"stream_options": {"include_usage": 1}}));
    assert_eq!(p.as_deref(), Some("stream_options.include_usage"));
}

#[test]
fn max_tokens_rules() {
    assert_eq!(
        chat(chat_with(json!({"max_tokens": 5})))
            .unwrap()
            .max_tokens,
        Some(5)
    );
    let both = chat(chat_with(
        json!({"max_tokens": 5, "max_completion_tokens": 7}),
    ))
    .unwrap();
    assert_eq!(both.max_tokens, Some(7));
    let huge = chat(chat_with(json!({"max_tokens": 1u64 << 40}))).unwrap();
    assert_eq!(huge.max_tokens, Some(u32::MAX));
    for key in ["max_tokens", "max_completion_tokens"] {
        for bad in [json!(0), json!(-3), json!(10.0), json!(2.5), json!("10")] {
            assert_eq!(chat_param(json!({ key: bad })).as_deref(), Some(key));
        }
    }
}

#[test]
fn stop_rules() {
    let req = chat(chat_with(json!({"stop": "END"}))).unwrap();
    assert_eq!(req.stop, ["END"]);
    let req = chat(chat_with(json!({"stop": ["a", "", "b", "c"]}))).unwrap();
    assert_eq!(req.stop, ["a", "b", "c"]);
    for bad in [
        json!(["a", "b", "c", "d", "e"]),
        json!([1]),
        json!(3),
        json!({"s": 1}),
    ] {
        assert_eq!(chat_param(json!({ "stop": bad })).as_deref(), Some("stop"));
    }
}

#[test]
fn sampling_ranges() {
    let ok =
        json!({"temperature": 2, "top_p": 0, "presence_penalty": -2, "frequency_penalty": 1.5});
    assert!(chat(chat_with(ok)).is_ok());
    let bad = [
        ("temperature", json!(2.1)),
        ("temperature", json!("hot")),
        ("top_p", json!(1.01)),
        ("top_p", json!(-0.1)),
        ("presence_penalty", json!(-2.5)),
        ("frequency_penalty", json!(3)),
        ("frequency_penalty", json!([])),
    ];
    for (key, value) in bad {
        assert_eq!(chat_param(json!({ key: value })).as_deref(), Some(key));
    }
}

#[test]
fn thinking_switches() {
    let thinking = |extra: Value| chat(chat_with(extra)).unwrap().thinking;
    assert_eq!(thinking(json!({"enable_thinking": true})), Some(true));
    assert_eq!(thinking(json!({"enable_thinking": false})), Some(false));
    for (effort, on) in [
        ("none", false),
        ("minimal", false),
        ("low", true),
        ("medium", true),
        ("high", true),
    ] {
        assert_eq!(thinking(json!({ "reasoning_effort": effort })), Some(on));
    }
    assert_eq!(
        thinking(json!({"enable_thinking": false, "reasoning_effort": "high"})),
        Some(false)
    );
    assert_eq!(
        chat_param(json!({"reasoning_effort": "max"})).as_deref(),
        Some("reasoning_effort")
    );
    assert_eq!(
        chat_param(json!({"reasoning_effort": 1})).as_deref(),
        Some("reasoning_effort")
    );
    assert_eq!(
        chat_param(json!({"enable_thinking": "on"})).as_deref(),
        Some("enable_thinking")
    );
}

#[test]
fn nulls_count_as_absent_and_user_is_a_string() {
    let nulls = json!({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": null,
        "stream": null, "stop": null, "max_tokens": null, "temperature": null, "user": null});
    assert!(parse_chat_request(nulls.to_string().as_bytes()).is_ok());
    assert_eq!(
        chat(chat_with(json!({"user": "u1"})))
            .unwrap()
            .user
            .as_deref(),
        Some("u1")
    );
    assert_eq!(chat_param(json!({"user": 7})).as_deref(), Some("user"));
}

#[test]
fn completion_request_rules() {
    let req = completion(
        json!({"model": "m", "prompt": "Say hi", "echo": true, "stop": ["\n"],
        "stream": true, "stream_options": {"include_usage": true}, "best_of": 1}),
    )
    .unwrap();
    assert_eq!((req.model.as_str(), req.prompt.as_str()), ("m", "Say hi"));
    assert!(req.echo && req.stream && req.include_usage);
    assert_eq!(
        (req.max_tokens, req.stop.clone()),
        (None, vec!["\n".to_owned()])
    );
    assert_eq!(req.params["best_of"], 1);
    assert!(req.params.get("prompt").is_none());
    assert_eq!(
        completion(json!({"model": "m", "prompt": ["one"]}))
            .unwrap()
            .prompt,
        "one"
    );
    for bad in [
        Value::Null,
        json!(["a", "b"]),
        json!([1, 2, 3]),
        json!([[1]]),
        json!([]),
        json!(5),
    ] {
        let err = completion(json!({"model": "m", "prompt": bad})).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("prompt"));
    }
    let bad = [
        ("echo", json!(1)),
        ("n", json!(3)),
        ("max_tokens", json!(1.5)),
        ("top_p", json!(9)),
    ];
    for (key, value) in bad {
        let err = completion(json!({"model": "m", "prompt": "p", key: value})).unwrap_err();
        assert_eq!(err.param.as_deref(), Some(key));
    }
}

#[test]
fn errors_display_their_message() {
    let err = InvalidRequest::new("boom", Some("x"));
    assert_eq!(err.to_string(), "boom");
}

// --- Tools, tool choice, response format ---------------------------------------------------

fn tool(name: &str) -> Value {
    json!({"type": "function", "function": {"name": name}})
}

#[test]
fn tools_are_read_with_their_defaults() {
    let weather = json!({"type": "function", "function": {"name": "get_weather",
        "description": "Weather of a city", "strict": true,
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}});
    let req = chat(chat_with(json!({"tools": [weather, tool("now")]}))).unwrap();
    assert_eq!(
        req.tools,
        [
            ToolSpec {
                name: "get_weather".into(),
                description: Some("Weather of a city".into()),
                parameters: json!({"type": "object", "properties": {"city": {"type": "string"}}}),
            },
            ToolSpec {
                name: "now".into(),
                description: None,
                parameters: json!({"type": "object", "properties": {}}),
            },
        ]
    );
    assert_eq!(req.tool_choice, ToolChoice::Auto);
    assert!(req.parallel_tool_calls);
    assert_eq!(req.format, OutputFormat::Text);
    let plain = chat(chat_with(json!({}))).unwrap();
    assert!(plain.tools.is_empty() && plain.parallel_tool_calls);
    assert_eq!(plain.tool_choice, ToolChoice::Auto);
    let null_description = json!({"type": "function",
        "function": {"name": "f", "description": null, "parameters": null, "strict": null}});
    assert!(chat(chat_with(json!({"tools": [null_description]}))).is_ok());
}

#[test]
fn tool_declaration_rules() {
    let long = "a".repeat(65);
    let cases = [
        (json!({}), "tools"),
        (json!("f"), "tools"),
        (json!(["f"]), "tools[0]"),
        (json!([{"function": {"name": "f"}}]), "tools[0].type"),
        (
            json!([{"type": 1, "function": {"name": "f"}}]),
            "tools[0].type",
        ),
        (json!([{"type": "function"}]), "tools[0].function"),
        (
            json!([{"type": "function", "function": "f"}]),
            "tools[0].function",
        ),
        (
            json!([{"type": "function", "function": {}}]),
            "tools[0].function.name",
        ),
        (json!([tool("ok"), tool("")]), "tools[1].function.name"),
        (
            json!([{"type": "function", "function": {"name": 5}}]),
            "tools[0].function.name",
        ),
        (json!([tool("get weather")]), "tools[0].function.name"),
        (json!([tool("météo")]), "tools[0].function.name"),
        (json!([tool(&long)]), "tools[0].function.name"),
        (
            json!([tool("f"), tool("g"), tool("f")]),
            "tools[2].function.name",
        ),
        (
            json!([{"type": "function", "function": {"name": "f", "parameters": "{}"}}]),
            "tools[0].function.parameters",
        ),
        (
            json!([{"type": "function", "function": {"name": "f", "description": 3}}]),
            "tools[0].function.description",
        ),
        (
            json!([{"type": "function", "function": {"name": "f", "strict": "yes"}}]),
            "tools[0].function.strict",
        ),
    ];
    for (tools, param) in cases {
        assert_eq!(
            chat_param(json!({ "tools": tools.clone() })).as_deref(),
            Some(param),
            "{tools}"
        );
    }
    let message = |tools: Value| {
        chat(chat_with(json!({ "tools": tools })))
            .unwrap_err()
            .message
    };
    assert_eq!(
        message(json!([tool("get weather")])),
        "Invalid 'tools[0].function.name': string does not match pattern. Expected a string \
         that matches the pattern '^[a-zA-Z0-9_-]+$'."
    );
    assert!(message(json!([tool(&long)])).contains("maximum length 64"));
    assert!(message(json!([tool("")])).contains("empty string"));
    assert!(message(json!([tool("f"), tool("f")])).contains("already declared by tools[0]"));
    let web = message(json!([{"type": "web_search"}]));
    assert!(web.contains("Only function tools are supported"), "{web}");
    let max = "A-z_09".repeat(10) + "abcd";
    assert!(chat(chat_with(json!({"tools": [tool(&max)]}))).is_ok());
}

#[test]
fn deprecated_functions_are_tools() {
    let req = chat(chat_with(json!({"functions": [
        {"name": "f", "description": "does f", "parameters": {"type": "object"}},
        {"name": "g"},
    ]})))
    .unwrap();
    let names: Vec<&str> = req.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["f", "g"]);
    assert_eq!(req.tools[0].description.as_deref(), Some("does f"));
    assert_eq!(
        req.tools[1].parameters,
        json!({"type": "object", "properties": {}})
    );
    let cases = [
        (
            json!({"functions": [{"name": "f"}], "tools": [tool("g")]}),
            "functions",
        ),
        (json!({"functions": {"name": "f"}}), "functions"),
        (
            json!({"functions": [{"name": "f"}, {}]}),
            "functions[1].name",
        ),
        (json!({"functions": [{"name": "a b"}]}), "functions[0].name"),
        (
            json!({"functions": [{"name": "f"}, {"name": "f"}]}),
            "functions[1].name",
        ),
        (
            json!({"functions": [{"name": "f", "parameters": []}]}),
            "functions[0].parameters",
        ),
    ];
    for (extra, param) in cases {
        assert_eq!(chat_param(extra.clone()).as_deref(), Some(param), "{extra}");
    }
    // `null` is absent: a null `tools` beside `functions` is no conflict.
    assert!(
        chat(chat_with(
            json!({"functions": [{"name": "f"}], "tools": null})
        ))
        .is_ok()
    );
}

#[test]
fn tool_choice_rules() {
    let tools = json!([tool("f"), tool("g")]);
    let choice = |value: Value| {
        chat(chat_with(
            json!({"tools": tools.clone(), "tool_choice": value}),
        ))
        .map(|r| r.tool_choice)
    };
    assert_eq!(choice(json!("auto")), Ok(ToolChoice::Auto));
    assert_eq!(choice(json!("none")), Ok(ToolChoice::None));
    assert_eq!(choice(json!("required")), Ok(ToolChoice::Required));
    assert_eq!(
        choice(json!({"type": "function", "function": {"name": "g"}})),
        Ok(ToolChoice::Named("g".into()))
    );
    for ok in ["auto", "none"] {
        assert!(
            chat(chat_with(json!({ "tool_choice": ok }))).is_ok(),
            "{ok}"
        );
    }
    let cases = [
        (json!("any"), "tool_choice"),
        (json!(true), "tool_choice"),
        (
            json!({"type": "function", "function": {"name": "h"}}),
            "tool_choice",
        ),
        (json!({"function": {"name": "f"}}), "tool_choice.type"),
        (
            json!({"type": "allowed_tools", "allowed_tools": {}}),
            "tool_choice.type",
        ),
        (json!({"type": "function"}), "tool_choice.function"),
        (
            json!({"type": "function", "function": "f"}),
            "tool_choice.function",
        ),
        (
            json!({"type": "function", "function": {}}),
            "tool_choice.function.name",
        ),
        (
            json!({"type": "function", "function": {"name": 1}}),
            "tool_choice.function.name",
        ),
    ];
    for (value, param) in cases {
        let err = choice(value.clone()).unwrap_err();
        assert_eq!(err.param.as_deref(), Some(param), "{value}");
    }
    let err = choice(json!({"type": "function", "function": {"name": "h"}})).unwrap_err();
    assert!(err.message.contains("no function named 'h'"), "{err}");
    for value in [
        json!("required"),
        json!({"type": "function", "function": {"name": "f"}}),
    ] {
        let err = chat(chat_with(json!({ "tool_choice": value }))).unwrap_err();
        assert_eq!(err.param.as_deref(), Some("tool_choice"));
        assert_eq!(
            err.message,
            "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are \
             specified."
        );
    }
}

#[test]
fn deprecated_function_call_is_the_tool_choice() {
    let functions = json!([{"name": "f"}]);
    let choice = |value: Value| {
        chat(chat_with(
            json!({"functions": functions.clone(), "function_call": value}),
        ))
        .map(|r| r.tool_choice)
    };
    assert_eq!(choice(json!("auto")), Ok(ToolChoice::Auto));
    assert_eq!(choice(json!("none")), Ok(ToolChoice::None));
    assert_eq!(
        choice(json!({"name": "f"})),
        Ok(ToolChoice::Named("f".into()))
    );
    let named = chat(chat_with(
        json!({"tools": [tool("f")], "function_call": {"name": "f"}}),
    ));
    assert_eq!(named.unwrap().tool_choice, ToolChoice::Named("f".into()));
    for (value, param) in [
        (json!("required"), "function_call"),
        (json!(3), "function_call"),
        (json!({"name": "g"}), "function_call"),
        (json!({}), "function_call.name"),
    ] {
        let err = choice(value.clone()).unwrap_err();
        assert_eq!(err.param.as_deref(), Some(param), "{value}");
    }
    let err = choice(json!({"name": "g"})).unwrap_err();
    assert!(err.message.contains("declared in 'functions'"), "{err}");
    let p = chat_param(json!({"function_call": {"name": "f"}}));
    assert_eq!(p.as_deref(), Some("function_call"));
    let p = chat_param(json!({"functions": functions, "function_call": "auto",
        "tool_choice": "auto"}));
    assert_eq!(p.as_deref(), Some("function_call"));
}

#[test]
fn parallel_tool_calls_is_a_boolean() {
    let req = chat(chat_with(
        json!({"tools": [tool("f")], "parallel_tool_calls": false}),
    ));
    assert!(!req.unwrap().parallel_tool_calls);
    assert_eq!(
        chat_param(json!({"parallel_tool_calls": "no"})).as_deref(),
        Some("parallel_tool_calls")
    );
}

#[test]
fn response_format_rules() {
    let format =
        |value: Value| chat(chat_with(json!({ "response_format": value }))).map(|r| r.format);
    assert_eq!(format(json!({"type": "text"})), Ok(OutputFormat::Text));
    assert_eq!(
        format(json!({"type": "json_object"})),
        Ok(OutputFormat::JsonObject)
    );
    let schema = json!({"type": "object", "properties": {"a": {"type": "integer"}},
        "required": ["a"], "additionalProperties": false});
    assert_eq!(
        format(
            json!({"type": "json_schema", "json_schema": {"name": "answer",
            "description": "the answer", "strict": true, "schema": schema}})
        ),
        Ok(OutputFormat::JsonSchema {
            name: "answer".into(),
            schema: schema.clone()
        })
    );
    assert_eq!(
        format(json!({"type": "json_schema", "json_schema": {"name": "any"}})),
        Ok(OutputFormat::JsonSchema {
            name: "any".into(),
            schema: json!({})
        })
    );
    let cases = [
        (json!("json"), "response_format"),
        (json!({}), "response_format.type"),
        (json!({"type": 1}), "response_format.type"),
        (json!({"type": "xml"}), "response_format.type"),
        (
            json!({"type": "json_schema"}),
            "response_format.json_schema",
        ),
        (
            json!({"type": "json_schema", "json_schema": "s"}),
            "response_format.json_schema",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"schema": {}}}),
            "response_format.json_schema.name",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "a b"}}),
            "response_format.json_schema.name",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "n", "schema": "{}"}}),
            "response_format.json_schema.schema",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "n", "strict": 1}}),
            "response_format.json_schema.strict",
        ),
        (
            json!({"type": "json_schema", "json_schema": {"name": "n", "description": []}}),
            "response_format.json_schema.description",
        ),
    ];
    for (value, param) in cases {
        let err = format(value.clone()).unwrap_err();
        assert_eq!(err.param.as_deref(), Some(param), "{value}");
    }
    let err = format(json!({"type": "xml"})).unwrap_err();
    assert_eq!(
        err.message,
        "Invalid value: 'xml'. Supported values are: 'text', 'json_object', and 'json_schema'."
    );
    let both = chat(chat_with(
        json!({"tools": [tool("f")], "tool_choice": "required",
        "response_format": {"type": "json_object"}}),
    ))
    .unwrap();
    assert_eq!(
        (both.tools.len(), both.format),
        (1, OutputFormat::JsonObject)
    );
}

// --- Tool calls in the history -------------------------------------------------------------

fn call(id: &str, name: &str, arguments: Value) -> Value {
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

fn history(messages: Value) -> Result<Vec<Message>, InvalidRequest> {
    chat(chat_with(json!({ "messages": messages }))).map(|r| r.messages)
}

#[test]
fn assistant_tool_calls_and_their_results() {
    let messages = history(json!([
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {"role": "assistant", "content": null, "tool_calls": [
            call("call_a", "get_weather", json!("{\"city\":\"Paris\"}")),
            {"id": "call_b", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}},
        ]},
        {"role": "tool", "tool_call_id": "call_b", "content": [{"type": "text", "text": "18C"}]},
        {"role": "tool", "tool_call_id": "call_a", "content": "21C"},
    ]))
    .unwrap();
    assert_eq!(
        messages[1].tool_calls,
        [
            ToolCall {
                id: "call_a".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Paris"}"#.into(),
            },
            ToolCall {
                id: "call_b".into(),
                name: "get_weather".into(),
                arguments: r#"{"city":"Rome"}"#.into(),
            },
        ]
    );
    assert_eq!(messages[1].content, "");
    let result = |m: &Message| (m.tool_call_id.clone(), m.name.clone(), m.content.clone());
    assert_eq!(
        result(&messages[2]),
        (
            Some("call_b".into()),
            Some("get_weather".into()),
            "18C".into()
        )
    );
    assert_eq!(
        result(&messages[3]),
        (
            Some("call_a".into()),
            Some("get_weather".into()),
            "21C".into()
        )
    );
    // Other messages carry no tool fields.
    assert_eq!(
        messages[0],
        Message::text(Role::User, "Weather in Paris and Rome?")
    );
}

#[test]
fn legacy_function_calls_get_an_id_and_their_results_match_by_name() {
    let messages = history(json!([
        {"role": "user", "content": "x"},
        {"role": "assistant", "content": null, "function_call": {"name": "f", "arguments": "{}"}},
        {"role": "function", "name": "f", "content": "one"},
        {"role": "assistant", "function_call": {"name": "f", "arguments": {"n": 2}}},
        {"role": "function", "name": "f", "content": "two"},
    ]))
    .unwrap();
    assert_eq!(
        messages[3].tool_calls,
        [ToolCall {
            id: "call_legacy_3".into(),
            name: "f".into(),
            arguments: r#"{"n":2}"#.into(),
        }]
    );
    let ids: Vec<Option<&str>> = messages.iter().map(|m| m.tool_call_id.as_deref()).collect();
    assert_eq!(
        ids,
        [
            None,
            None,
            Some("call_legacy_1"),
            None,
            Some("call_legacy_3")
        ]
    );
    assert_eq!(messages[4].role, Role::Tool);
    assert_eq!(messages[4].name.as_deref(), Some("f"));
}

#[test]
fn history_tool_call_rules() {
    let asked = json!({"role": "assistant", "tool_calls": [call("c1", "f", json!("{}"))]});
    let cases = [
        (
            json!([{"role": "tool", "content": "r"}]),
            "messages[0].tool_call_id",
        ),
        (
            json!([{"role": "tool", "tool_call_id": 7, "content": "r"}]),
            "messages[0].tool_call_id",
        ),
        (
            json!([asked, {"role": "tool", "tool_call_id": "c2", "content": "r"}]),
            "messages[1].tool_call_id",
        ),
        // The call must come before its result.
        (
            json!([{"role": "tool", "tool_call_id": "c1", "content": "r"}, asked]),
            "messages[0].tool_call_id",
        ),
        (
            json!([asked, {"role": "tool", "tool_call_id": "c1"}]),
            "messages[1].content",
        ),
        (
            json!([{"role": "assistant", "tool_calls": {"id": "c1"}}]),
            "messages[0].tool_calls",
        ),
        (
            json!([{"role": "assistant", "tool_calls": ["c1"]}]),
            "messages[0].tool_calls[0]",
        ),
        (
            json!([{"role": "assistant", "tool_calls": [{"function": {"name": "f", "arguments": "{}"}}]}]),
            "messages[0].tool_calls[0].id",
        ),
        (
            json!([{"role": "assistant", "tool_calls": [{"id": "c", "type": "custom",
                "function": {"name": "f", "arguments": "{}"}}]}]),
            "messages[0].tool_calls[0].type",
        ),
        (
            json!([{"role": "assistant", "tool_calls": [{"id": "c", "type": "function"}]}]),
            "messages[0].tool_calls[0].function",
        ),
        (
            json!([{"role": "assistant", "tool_calls": [{"id": "c",
                "function": {"arguments": "{}"}}]}]),
            "messages[0].tool_calls[0].function.name",
        ),
        (
            json!([{"role": "assistant", "tool_calls": [call("c", "f", json!(1))]}]),
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            json!([{"role": "assistant", "tool_calls": [{"id": "c", "function": {"name": "f"}}]}]),
            "messages[0].tool_calls[0].function.arguments",
        ),
        (
            json!([{"role": "assistant", "function_call": "f"}]),
            "messages[0].function_call",
        ),
        (
            json!([{"role": "assistant", "function_call": {"name": "f"}}]),
            "messages[0].function_call.arguments",
        ),
        (
            json!([{"role": "function", "content": "r"}]),
            "messages[0].name",
        ),
        (
            json!([{"role": "function", "name": "f", "content": "r"}]),
            "messages[0].name",
        ),
        // A legacy result answers a legacy call, not a `tool_calls` entry of the same name.
        (
            json!([asked, {"role": "function", "name": "f", "content": "r"}]),
            "messages[1].name",
        ),
    ];
    for (messages, param) in cases {
        let err = history(messages.clone()).unwrap_err();
        assert_eq!(err.param.as_deref(), Some(param), "{messages}");
    }
    let err = history(json!([asked, {"role": "tool", "tool_call_id": "c2", "content": "r"}]));
    assert_eq!(
        err.unwrap_err().message,
        "Invalid 'messages[1].tool_call_id': no earlier tool call has the id 'c2'. A message with \
         role 'tool' must answer a tool call of a preceding assistant message."
    );
    let err = history(json!([{"role": "function", "name": "f", "content": "r"}]));
    assert_eq!(
        err.unwrap_err().message,
        "Invalid 'messages[0].name': no earlier assistant message has a function_call named 'f'. \
         A message with role 'function' must answer a preceding function_call."
    );
    // Tool calls on other roles are not theirs to make, and are ignored like unknown fields.
    let user = history(json!([{"role": "user", "content": "u", "tool_calls": "x"}])).unwrap();
    assert!(user[0].tool_calls.is_empty());
}

// --- Every parameter of the reference ------------------------------------------------------

/// What qwenctl does with one parameter of OpenAI's chat-completions request.
enum Fate {
    /// Read into the request: sending the value gives a request the check holds for.
    Honoured(Value, fn(&ChatRequest) -> bool),
    /// The first value changes the answer's meaning in a way qwenctl cannot honour, so it is
    /// refused naming the parameter; the second (`null`: only absence) is accepted.
    Refused(Value, Value),
    /// Listed in `params::IGNORED`: the value is accepted and changes nothing but `params`.
    Ignored(Value),
}

/// Every request parameter of the chat-completions API reference (as of 2026), plus
/// qwenctl's own `enable_thinking`.
const REFERENCE: &[&str] = &[
    "model",
    "messages",
    "audio",
    "frequency_penalty",
    "function_call",
    "functions",
    "logit_bias",
    "logprobs",
    "max_completion_tokens",
    "max_tokens",
    "metadata",
    "modalities",
    "n",
    "parallel_tool_calls",
    "prediction",
    "presence_penalty",
    "prompt_cache_key",
    "reasoning_effort",
    "response_format",
    "safety_identifier",
    "seed",
    "service_tier",
    "stop",
    "store",
    "stream",
    "stream_options",
    "temperature",
    "tool_choice",
    "tools",
    "top_logprobs",
    "top_p",
    "user",
    "verbosity",
    "web_search_options",
    "enable_thinking",
];

fn fate(param: &str) -> Fate {
    use Fate::*;
    match param {
        "model" => Honoured(json!("qwen3-coder"), |r| r.model == "qwen3-coder"),
        "messages" => Honoured(json!([{"role": "user", "content": "yo"}]), |r| {
            r.messages == [Message::text(Role::User, "yo")]
        }),
        "functions" => Honoured(json!([{"name": "f"}]), |r| r.tools[0].name == "f"),
        "function_call" => Honoured(json!("none"), |r| r.tool_choice == ToolChoice::None),
        "tools" => Honoured(json!([tool("f")]), |r| r.tools[0].name == "f"),
        "tool_choice" => Honoured(json!("none"), |r| r.tool_choice == ToolChoice::None),
        "parallel_tool_calls" => Honoured(json!(false), |r| !r.parallel_tool_calls),
        "response_format" => Honoured(json!({"type": "json_object"}), |r| {
            r.format == OutputFormat::JsonObject
        }),
        "max_completion_tokens" => Honoured(json!(6), |r| r.max_tokens == Some(6)),
        "max_tokens" => Honoured(json!(5), |r| r.max_tokens == Some(5)),
        "stop" => Honoured(json!("END"), |r| r.stop == ["END"]),
        "stream" => Honoured(json!(true), |r| r.stream),
        "stream_options" => Honoured(json!({"include_usage": true}), |r| r.include_usage),
        "reasoning_effort" => Honoured(json!("high"), |r| r.thinking == Some(true)),
        "enable_thinking" => Honoured(json!(false), |r| r.thinking == Some(false)),
        "user" => Honoured(json!("u-1"), |r| r.user.as_deref() == Some("u-1")),
        "n" => Refused(json!(2), json!(1)),
        "logprobs" => Refused(json!(true), json!(false)),
        "top_logprobs" => Refused(json!(3), Value::Null),
        "modalities" => Refused(json!(["text", "audio"]), json!(["text"])),
        "audio" => Refused(json!({"voice": "alloy", "format": "mp3"}), Value::Null),
        "logit_bias" => Refused(json!({"50256": -100}), json!({})),
        "web_search_options" => Refused(json!({}), Value::Null),
        "temperature" => Ignored(json!(0.3)),
        "top_p" => Ignored(json!(0.5)),
        "presence_penalty" => Ignored(json!(1)),
        "frequency_penalty" => Ignored(json!(-1.5)),
        "seed" => Ignored(json!(42)),
        "store" => Ignored(json!(true)),
        "metadata" => Ignored(json!({"purpose": "test"})),
        "service_tier" => Ignored(json!("flex")),
        "prompt_cache_key" => Ignored(json!("k-1")),
        "safety_identifier" => Ignored(json!("user-hash")),
        "verbosity" => Ignored(json!("low")),
        "prediction" => Ignored(json!({"type": "content", "content": "draft"})),
        other => panic!("{other} is in the reference but not accounted for"),
    }
}

#[test]
fn every_chat_completions_parameter_is_accounted_for() {
    let baseline = chat(chat_with(json!({}))).unwrap();
    let mut ignored = Vec::new();
    for &param in REFERENCE {
        match fate(param) {
            Fate::Honoured(value, check) => {
                let req = chat(chat_with(json!({ param: value }))).unwrap();
                assert!(check(&req), "{param} not honoured");
            }
            Fate::Refused(value, benign) => {
                let err = chat(chat_with(json!({ param: value }))).unwrap_err();
                assert_eq!(err.param.as_deref(), Some(param), "{err}");
                let req = chat(chat_with(json!({ param: benign })));
                assert!(req.is_ok(), "{param}: {req:?}");
            }
            Fate::Ignored(value) => {
                let mut req = chat(chat_with(json!({ param: value }))).unwrap();
                assert_eq!(req.params[param], value);
                req.params = baseline.params.clone();
                assert_eq!(req, baseline, "{param} changed the request");
                ignored.push(param);
            }
        }
    }
    let listed: Vec<&str> = super::params::IGNORED.iter().map(|(p, _)| *p).collect();
    ignored.sort_unstable();
    let mut sorted = listed.clone();
    sorted.sort_unstable();
    assert_eq!(ignored, sorted, "IGNORED and the ignored parameters differ");
    assert!(super::params::IGNORED.iter().all(|(_, why)| why.len() > 20));
}

#[test]
fn refusals_say_why() {
    let message = |extra: Value| chat(chat_with(extra)).unwrap_err().message;
    assert!(message(json!({"logprobs": true})).starts_with("logprobs are not supported"));
    assert!(message(json!({"modalities": ["audio"]})).contains("audio output is not supported"));
    assert!(message(json!({"audio": {"voice": "alloy"}})).contains("audio output"));
    assert!(message(json!({"web_search_options": {}})).contains("'-search' variant"));
    assert!(message(json!({"logit_bias": {"1": 5}})).starts_with("logit_bias is not supported"));
    let cases = [
        ("logprobs", json!("yes")),
        ("top_logprobs", json!("3")),
        ("top_logprobs", json!(0)),
        ("modalities", json!("text")),
        ("modalities", json!(["text", "video"])),
        ("modalities", json!([1])),
        ("logit_bias", json!([1])),
        ("seed", json!("42")),
        ("seed", json!(4.2)),
        ("store", json!("yes")),
        ("metadata", json!(["k"])),
        ("service_tier", json!(1)),
        ("prompt_cache_key", json!({})),
        ("safety_identifier", json!(1)),
        ("verbosity", json!("max")),
        ("verbosity", json!(1)),
        ("prediction", json!("draft")),
    ];
    for (key, value) in cases {
        assert_eq!(
            chat_param(json!({ key: value.clone() })).as_deref(),
            Some(key),
            "{value}"
        );
    }
}

#[test]
fn legacy_parameters_that_change_the_answer_are_refused() {
    for (extra, param) in [
        (r#""logprobs": 5"#, "logprobs"),
        (r#""best_of": 3"#, "best_of"),
        (r#""suffix": "}""#, "suffix"),
        (r#""logprobs": "yes""#, "logprobs"),
    ] {
        let body = format!(r#"{{"model": "m", "prompt": "x", {extra}}}"#);
        let err = parse_completion_request(body.as_bytes()).unwrap_err();
        assert_eq!(err.param.as_deref(), Some(param), "{extra}");
    }
    for harmless in [
        r#""logprobs": 0"#,
        r#""logprobs": null"#,
        r#""best_of": 1"#,
        r#""suffix": """#,
    ] {
        let body = format!(r#"{{"model": "m", "prompt": "x", {harmless}}}"#);
        assert!(
            parse_completion_request(body.as_bytes()).is_ok(),
            "{harmless}"
        );
    }
}
