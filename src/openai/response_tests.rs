//! Exact JSON shapes of every response object.

use serde_json::json;

use super::*;
use crate::session::ToolCall;

fn meta(id: &str) -> ResponseMeta {
    ResponseMeta {
        id: id.to_owned(),
        created: 1_700_000_000,
        model: "qwen3-max".to_owned(),
    }
}

fn usage() -> OpenAiUsage {
    OpenAiUsage::new(10, 7, 3, 2)
}

fn usage_json() -> Value {
    json!({
        "prompt_tokens": 10,
        "completion_tokens": 7,
        "total_tokens": 17,
        "prompt_tokens_details": {"cached_tokens": 2},
        "completion_tokens_details": {"reasoning_tokens": 3},
    })
}

#[test]
fn ids_have_their_prefix_and_enough_randomness() {
    let (a, b) = (new_chat_id(), new_chat_id());
    assert_ne!(a, b);
    let tail = a.strip_prefix("chatcmpl-").expect("prefix");
    assert!(tail.len() >= 24 && tail.chars().all(|c| c.is_ascii_alphanumeric()));
    let tail = new_completion_id();
    let tail = tail.strip_prefix("cmpl-").expect("prefix");
    assert!(tail.len() >= 24 && tail.chars().all(|c| c.is_ascii_alphanumeric()));
    let m = ResponseMeta::chat("m");
    assert!(m.id.starts_with("chatcmpl-") && m.created > 1_600_000_000 && m.model == "m");
    assert!(ResponseMeta::completion("m").id.starts_with("cmpl-"));
}

#[test]
fn chat_completion_without_reasoning() {
    let got = chat_completion(
        &meta("chatcmpl-1"),
        "Hi!",
        "",
        &[],
        FinishReason::Stop,
        &usage(),
    );
    let expected = json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "qwen3-max",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "Hi!", "refusal": null},
            "logprobs": null,
            "finish_reason": "stop",
        }],
        "usage": usage_json(),
        "system_fingerprint": null,
    });
    assert_eq!(got, expected);
}

#[test]
fn chat_completion_with_reasoning_and_length() {
    let got = chat_completion(
        &meta("chatcmpl-2"),
        "4",
        "2+2",
        &[],
        FinishReason::Length,
        &usage(),
    );
    assert_eq!(
        got["choices"][0]["message"],
        json!({"role": "assistant", "content": "4", "reasoning_content": "2+2", "refusal": null})
    );
    assert_eq!(got["choices"][0]["finish_reason"], "length");
}

fn calls() -> Vec<ToolCall> {
    vec![
        ToolCall {
            id: "call_abc".into(),
            name: "get_weather".into(),
            arguments: r#"{"city":"Paris"}"#.into(),
        },
        ToolCall {
            id: "call_def".into(),
            name: "now".into(),
            arguments: "{}".into(),
        },
    ]
}

#[test]
fn chat_completion_with_tool_calls_and_no_text() {
    let got = chat_completion(
        &meta("chatcmpl-3"),
        "",
        "",
        &calls(),
        FinishReason::ToolCalls,
        &usage(),
    );
    let expected = json!({
        "id": "chatcmpl-3",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "qwen3-max",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "refusal": null,
                "tool_calls": [
                    {"id": "call_abc", "type": "function",
                        "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "call_def", "type": "function",
                        "function": {"name": "now", "arguments": "{}"}},
                ],
            },
            "logprobs": null,
            "finish_reason": "tool_calls",
        }],
        "usage": usage_json(),
        "system_fingerprint": null,
    });
    assert_eq!(got, expected);
}

#[test]
fn chat_completion_with_text_before_the_calls_and_reasoning() {
    let got = chat_completion(
        &meta("chatcmpl-4"),
        "Let me check.",
        "need weather",
        &calls()[..1],
        FinishReason::ToolCalls,
        &usage(),
    );
    assert_eq!(
        got["choices"][0]["message"],
        json!({
            "role": "assistant",
            "content": "Let me check.",
            "reasoning_content": "need weather",
            "refusal": null,
            "tool_calls": [{"id": "call_abc", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}],
        })
    );
    // Without calls an empty answer is still the empty string, never null.
    let empty = chat_completion(&meta("c"), "", "", &[], FinishReason::Stop, &usage());
    assert_eq!(
        empty["choices"][0]["message"],
        json!({"role": "assistant", "content": "", "refusal": null})
    );
}

fn chunk(delta: Value, finish: Value) -> Value {
    json!({
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "qwen3-max",
        "system_fingerprint": null,
        "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
    })
}

#[test]
fn chat_stream_chunks() {
    let s = ChatStream::new(meta("chatcmpl-s"), false);
    assert_eq!(
        s.role(),
        chunk(json!({"role": "assistant", "content": ""}), Value::Null)
    );
    assert_eq!(
        s.content("Hel"),
        chunk(json!({"content": "Hel"}), Value::Null)
    );
    assert_eq!(
        s.reasoning("hmm"),
        chunk(json!({"reasoning_content": "hmm"}), Value::Null)
    );
    assert_eq!(
        s.finish(FinishReason::Stop),
        chunk(json!({}), json!("stop"))
    );
    assert_eq!(
        s.finish(FinishReason::Length),
        chunk(json!({}), json!("length"))
    );
    assert_eq!(
        s.finish(FinishReason::ToolCalls),
        chunk(json!({}), json!("tool_calls"))
    );
}

#[test]
fn chat_stream_tool_call_chunks() {
    let s = ChatStream::new(meta("chatcmpl-s"), false);
    let calls = calls();
    assert_eq!(
        s.tool_call(0, &calls[0]),
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_abc", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}}]}),
            Value::Null
        )
    );
    assert_eq!(
        s.tool_call(1, &calls[1]),
        chunk(
            json!({"tool_calls": [{"index": 1, "id": "call_def", "type": "function",
                "function": {"name": "now", "arguments": "{}"}}]}),
            Value::Null
        )
    );
    let with_usage = ChatStream::new(meta("chatcmpl-s"), true);
    assert_eq!(with_usage.tool_call(0, &calls[1])["usage"], Value::Null);
}

#[test]
fn chat_stream_with_usage_has_null_usage_then_a_usage_chunk() {
    let s = ChatStream::new(meta("chatcmpl-s"), true);
    let mut expected = chunk(json!({"content": "x"}), Value::Null);
    expected["usage"] = Value::Null;
    assert_eq!(s.content("x"), expected);
    assert_eq!(s.role()["usage"], Value::Null);
    assert!(
        s.finish(FinishReason::Stop)
            .as_object()
            .unwrap()
            .contains_key("usage")
    );
    let expected = json!({
        "id": "chatcmpl-s",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "qwen3-max",
        "system_fingerprint": null,
        "choices": [],
        "usage": usage_json(),
    });
    assert_eq!(s.usage(&usage()), expected);
}

#[test]
fn text_completion_object() {
    let got = text_completion(&meta("cmpl-1"), "Paris", FinishReason::Stop, &usage());
    let expected = json!({
        "id": "cmpl-1",
        "object": "text_completion",
        "created": 1_700_000_000,
        "model": "qwen3-max",
        "system_fingerprint": null,
        "choices": [{"text": "Paris", "index": 0, "logprobs": null, "finish_reason": "stop"}],
        "usage": usage_json(),
    });
    assert_eq!(got, expected);
}

#[test]
fn text_stream_chunks() {
    let s = TextStream::new(meta("cmpl-s"), true);
    let expected = |text: &str, finish: Value| {
        json!({
            "id": "cmpl-s",
            "object": "text_completion",
            "created": 1_700_000_000,
            "model": "qwen3-max",
            "system_fingerprint": null,
            "choices": [{"text": text, "index": 0, "logprobs": null, "finish_reason": finish}],
            "usage": null,
        })
    };
    assert_eq!(s.text("Par"), expected("Par", Value::Null));
    assert_eq!(
        s.finish(FinishReason::Length),
        expected("", json!("length"))
    );
    let u = s.usage(&usage());
    assert_eq!(
        (u["choices"].clone(), u["usage"].clone()),
        (json!([]), usage_json())
    );
    assert_eq!(u["object"], "text_completion");
    let plain = TextStream::new(meta("cmpl-s"), false);
    assert!(plain.text("a").get("usage").is_none());
}
