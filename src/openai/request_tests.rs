//! Tests of the request parsers: every validation rule, with the parameter it names.
//! Kept as one file on purpose: it is the table of OpenAI's validation rules that the proxy
//! promises, and reads best whole, rule after rule.

use serde_json::{Value, json};

use super::*;
use crate::session::Role;

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
    let roles = [
        "system",
        "developer",
        "user",
        "assistant",
        "tool",
        "function",
    ];
    let messages: Vec<Value> = roles
        .iter()
        .map(|r| json!({"role": r, "content": *r}))
        .collect();
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
        {"role": "assistant", "content": null, "tool_calls": [{"id": "c1"}]},
        {"role": "assistant", "function_call": {"name": "f"}},
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
