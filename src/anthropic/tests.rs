//! A dependency-free fuzz loop: pseudo-random bytes and mutated valid bodies (tool loops,
//! system blocks, thinking and output formats included) through both request parsers, proving
//! that no input makes them panic, that reading the messages while the body is parsed gives
//! exactly what reading them from the whole JSON tree gave (the request or the same error);
//! and every parsed request renders a message and a stream.

use serde_json::{Value, json};

use crate::fuzz::{Lcg, mutate};

use super::request::{parse_count_tokens_request, parse_messages_request, parse_whole};
use super::{MessageMeta, MessageStream, input_tokens, message};
use crate::session::{FinishReason, ToolCall};

/// What a mutation may put in place of a node.
fn replacements() -> Vec<Value> {
    vec![
        json!(null),
        json!(0),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!(""),
        json!([]),
        json!({}),
        json!([{"type": "image"}]),
        json!({"type": "tool_result", "tool_use_id": "toolu_1"}),
        json!(true),
    ]
}

#[test]
fn fuzz_parsers_never_panic() {
    let seeds = [
        json!({"model": "m", "max_tokens": 9, "stream": true, "stop_sequences": ["a"],
            "system": [{"type": "text", "text": "s"}],
            "messages": [{"role": "user", "content": "hi"}]}),
        json!({"model": "m", "max_tokens": 9,
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "tool", "name": "f", "disable_parallel_tool_use": true},
            "thinking": {"type": "adaptive"},
            "output_config": {"format": {"type": "json_schema", "schema": {}}},
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": "é😀"}]},
                {"role": "assistant", "content": [{"type": "thinking", "thinking": "t"},
                    {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"a": [1]}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1",
                    "content": [{"type": "text", "text": "r"}], "is_error": true},
                    {"type": "text", "text": "more"}]},
                {"role": "system", "content": "s"}]}),
    ];
    let mut rng = Lcg(7);
    let replacements = replacements();
    let meta = MessageMeta::new("m");
    let mut accepted = 0;
    for round in 0..3000 {
        let bytes: Vec<u8> = if round % 5 == 0 {
            (0..rng.below(64)).map(|_| rng.next() as u8).collect()
        } else {
            let mut body = seeds[round % seeds.len()].clone();
            for _ in 0..rng.below(3) {
                mutate(&mut body, &mut rng, &replacements);
            }
            body.to_string().into_bytes()
        };
        assert_eq!(
            parse_count_tokens_request(&bytes),
            parse_whole(&bytes, false),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let parsed = parse_messages_request(&bytes);
        assert_eq!(
            parsed,
            parse_whole(&bytes, true),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        if let Ok(req) = parsed {
            accepted += 1;
            let tokens = input_tokens(&req);
            assert!(tokens >= 1);
            let calls: Vec<ToolCall> = req
                .messages
                .iter()
                .flat_map(|m| m.tool_calls.iter().cloned())
                .collect();
            let content: String = req.messages.iter().map(|m| m.content.as_str()).collect();
            let whole = message(
                &meta,
                "r",
                &content,
                &calls,
                FinishReason::Stop,
                None,
                tokens,
                1,
            );
            assert_eq!(whole["type"], "message");
            let mut stream = MessageStream::new(meta.clone(), tokens);
            stream.text(&content);
            for call in &calls {
                stream.tool_use(call);
            }
            assert!(!stream.finish(FinishReason::ToolCalls, None, 1).is_empty());
        }
    }
    // Enough bodies stay valid (a third are unmutated seeds) for the rendering half to count.
    assert!(accepted > 500, "{accepted}");
}

/// Bodies the mutations above do not make: repeated keys, the messages before the fields
/// whose errors come first, errors in both, an empty and a one-system-message array.
#[test]
fn reading_messages_while_parsing_agrees_on_awkward_bodies() {
    let bodies = [
        r#"{"messages": [{"role": "user", "content": "a"}], "model": "m", "max_tokens": 1}"#,
        r#"{"messages": [{"role": "bogus", "content": "a"}], "max_tokens": 1}"#,
        r#"{"messages": [{"role": "bogus"}], "model": "m", "max_tokens": 0}"#,
        r#"{"model": "m", "max_tokens": 1, "system": 5, "messages": [{"role": "bogus"}]}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "a"}], "messages": [{"role": "assistant", "content": "b"}]}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "f", "input": {}}]}], "messages": [{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t"}]}]}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "a"}], "messages": "x"}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": "x", "messages": [{"role": "user", "content": "a"}]}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": []}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "system", "content": ""}]}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": null}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "a"}, 5, {"role": "user"}]}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": ""}, {"type": "text", "text": "b"}]}]}"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "a"}], "x": nope}"#,
        r#"[{"model": "m"}]"#,
        r#"{"model": "m", "max_tokens": 1, "messages": [{"role": "user", "content": "a"}]} x"#,
    ];
    for body in bodies {
        for needs_max_tokens in [true, false] {
            let parsed = if needs_max_tokens {
                parse_messages_request(body.as_bytes())
            } else {
                parse_count_tokens_request(body.as_bytes())
            };
            assert_eq!(
                parsed,
                parse_whole(body.as_bytes(), needs_max_tokens),
                "{body}"
            );
        }
    }
}

/// The messages read while the body is parsed, from items borrowing from it, against the
/// whole tree: the same request or the same error, for the common blocks and for everything
/// beside them (escaped strings and keys, repeated keys, nulls, unknown fields and ids,
/// refused blocks, the order of a tool input's keys and numbers).
#[test]
fn borrowed_messages_agree_with_the_whole_tree() {
    let items = [
        r#"{"role": "user", "content": "plain \"q\" \u00e9 \ud83d\ude00"}"#,
        r#"{"role": "user", "content": [{"type": "text", "text": "a\nb"}, {"type": "text", "text": ""}, {"type": "text", "text": "c", "cache_control": {"type": "ephemeral"}}]}"#,
        r#"{"role": "user", "content": [{"type": "text", "text": "a", "text": null}]}"#,
        r#"{"role": "user", "content": [{"type": "text", "text": null, "text": "a"}]}"#,
        r#"{"r\u006fle": "assistant", "content": "escaped key"}"#,
        r#"{"role": "assistant", "content": [{"type": "thinking", "thinking": "t", "signature": "s"}, {"type": "redacted_thinking", "data": "d"}, {"type": "text", "text": "x"}, {"type": "tool_use", "id": "t1", "name": "f", "input": {"b": 1, "a": [1.5, -0, 1e3, 12345678901234567890, -5], "a": "dup"}}]}"#,
        r#"{"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "g", "input": {}}, {"type": "tool_use", "id": "t1", "name": "h", "input": {"\u00e9": "\ud83d\ude00", "k": null}}]}"#,
        r#"{"role": "assistant", "content": [{"type": "tool_use", "id": "t3", "name": "g", "input": "nope"}]}"#,
        r#"{"role": "assistant", "content": [{"type": "tool_use", "id": "t3", "name": "g"}]}"#,
        r#"{"role": "assistant", "content": [{"type": "thinking"}, {"type": "image", "source": {}}]}"#,
        r#"{"role": "assistant", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "r"}, {"type": "text", "text": "after"}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}], "is_error": true}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": true}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": null, "content": null}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "is_error": "yes"}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": "r"}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t\u0031", "content": "escaped id"}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "image"}]}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": 5}]}"#,
        r#"{"role": "user", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}"#,
        r#"{"role": "user", "content": []}"#,
        r#"{"role": "system", "content": "x-anthropic-billing-header: cc=1;\nsys"}"#,
        r#"{"role": "user", "content": "a", "content": [{"type": "text", "text": "last"}]}"#,
        r#"{"role": "user", "content": [{"type": "text", "text": "a"}], "content": null}"#,
        r#"{"role": "user"}"#,
        r#"{"role": "user", "content": 5}"#,
        r#"{"role": "user", "content": ["x"]}"#,
        r#""x""#,
    ];
    let mut rng = Lcg(17);
    let mut accepted = 0;
    for history in crate::fuzz::histories(&items, 2_000, &mut rng) {
        let body = format!(r#"{{"model": "m", "max_tokens": 1, "messages": {history}}}"#);
        let parsed = parse_messages_request(body.as_bytes());
        accepted += usize::from(parsed.is_ok());
        assert_eq!(parsed, parse_whole(body.as_bytes(), true), "{body}");
    }
    assert!(accepted > 100, "{accepted}");
}
