//! A dependency-free fuzz loop: pseudo-random bytes and mutated valid bodies (tool loops,
//! system blocks, thinking and output formats included) through both request parsers, proving
//! that no input makes them panic; and every parsed request renders a message and a stream.

use serde_json::{Value, json};

use crate::fuzz::{Lcg, mutate};

use super::request::{parse_count_tokens_request, parse_messages_request};
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
        let _ = parse_count_tokens_request(&bytes);
        if let Ok(req) = parse_messages_request(&bytes) {
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
