use serde_json::json;

use super::*;

fn meta() -> MessageMeta {
    MessageMeta {
        id: "msg_0123456789abcdefghijklmn".to_owned(),
        model: "claude-sonnet-4-5".to_owned(),
    }
}

fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

#[test]
fn message_ids() {
    let meta = MessageMeta::new("qwen3-max");
    assert_eq!(meta.model, "qwen3-max");
    assert_eq!(meta.id.len(), 28);
    assert!(meta.id.starts_with("msg_"));
    assert!(meta.id[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(MessageMeta::new("m").id, MessageMeta::new("m").id);
}

#[test]
fn tool_use_ids() {
    assert_eq!(
        tool_use_id("call_AbCdEfGhIjKlMnOpQrStUvWx"),
        "toolu_AbCdEfGhIjKlMnOpQrStUvWx"
    );
    assert_eq!(tool_use_id("call_legacy_3"), "toolu_legacy_3");
    assert_eq!(tool_use_id("abc"), "toolu_abc");
}

#[test]
fn stop_reasons() {
    assert_eq!(stop_reason(FinishReason::Stop, None), "end_turn");
    assert_eq!(
        stop_reason(FinishReason::Stop, Some("END")),
        "stop_sequence"
    );
    assert_eq!(stop_reason(FinishReason::Length, None), "max_tokens");
    assert_eq!(stop_reason(FinishReason::Length, Some("END")), "max_tokens");
    assert_eq!(stop_reason(FinishReason::ToolCalls, None), "tool_use");
}

#[test]
fn signatures_are_deterministic_and_opaque() {
    let a = signature("let me think");
    assert_eq!(a, signature("let me think"));
    assert_ne!(a, signature("let me think again"));
    assert_eq!(a.len(), 24, "16 bytes of base64");
    assert!(
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
    );
}

#[test]
fn text_message() {
    assert_eq!(
        message(&meta(), "", "Hello!", &[], FinishReason::Stop, None, 12, 3),
        json!({
            "id": "msg_0123456789abcdefghijklmn",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [{"type": "text", "text": "Hello!"}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {
                "input_tokens": 12,
                "output_tokens": 3,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        })
    );
}

#[test]
fn message_with_thinking_text_and_calls() {
    let calls = [
        call(
            "call_AAAAAAAAAAAAAAAAAAAAAAAA",
            "get_weather",
            r#"{"city": "Paris"}"#,
        ),
        call("call_BBBBBBBBBBBBBBBBBBBBBBBB", "get_time", "{}"),
    ];
    let value = message(
        &meta(),
        "two calls",
        "Checking.",
        &calls,
        FinishReason::ToolCalls,
        None,
        40,
        25,
    );
    assert_eq!(
        value["content"],
        json!([
            {"type": "thinking", "thinking": "two calls", "signature": signature("two calls")},
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_AAAAAAAAAAAAAAAAAAAAAAAA", "name": "get_weather",
                "input": {"city": "Paris"}},
            {"type": "tool_use", "id": "toolu_BBBBBBBBBBBBBBBBBBBBBBBB", "name": "get_time",
                "input": {}},
        ])
    );
    assert_eq!(value["stop_reason"], "tool_use");
    assert_eq!(value["stop_sequence"], json!(null));
}

#[test]
fn message_edge_cases() {
    // Calls without text: no text block.
    let calls = [call("call_X", "f", "not json")];
    let value = message(&meta(), "", "", &calls, FinishReason::ToolCalls, None, 1, 1);
    assert_eq!(
        value["content"],
        json!([{"type": "tool_use", "id": "toolu_X", "name": "f", "input": {}}])
    );
    // An empty answer has no blocks.
    let value = message(&meta(), "", "", &[], FinishReason::Stop, None, 1, 0);
    assert_eq!(value["content"], json!([]));
    // A matched stop sequence is reported, and only with the stop it caused.
    let value = message(&meta(), "", "a", &[], FinishReason::Stop, Some("END"), 1, 1);
    assert_eq!(
        (&value["stop_reason"], &value["stop_sequence"]),
        (&json!("stop_sequence"), &json!("END"))
    );
    let value = message(
        &meta(),
        "",
        "a",
        &[],
        FinishReason::Length,
        Some("END"),
        1,
        1,
    );
    assert_eq!(
        (&value["stop_reason"], &value["stop_sequence"]),
        (&json!("max_tokens"), &json!(null))
    );
}

#[test]
fn errors() {
    assert_eq!(
        error_body("invalid_request_error", "max_tokens: Field required"),
        json!({"type": "error", "error": {"type": "invalid_request_error",
            "message": "max_tokens: Field required"}})
    );
    for (status, kind) in [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (403, "permission_error"),
        (404, "not_found_error"),
        (405, "invalid_request_error"),
        (413, "request_too_large"),
        (422, "invalid_request_error"),
        (429, "rate_limit_error"),
        (500, "api_error"),
        (502, "api_error"),
        (503, "overloaded_error"),
        (504, "api_error"),
        (529, "overloaded_error"),
    ] {
        assert_eq!(error_type(status), kind, "{status}");
    }
}
