//! A dependency-free fuzz loop: ~3,000 pseudo-random byte strings and mutated valid bodies
//! (tools and tool-call histories included) through both request parsers, proving that no
//! input makes them panic.

use serde_json::json;

use super::request::{InvalidRequest, parse_chat_request, parse_completion_request};

/// Deterministic linear congruential generator (Knuth's MMIX constants): reproducible
/// pseudo-random input without a dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

#[test]
fn fuzz_parsers_never_panic() {
    let seeds = [
        json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}],
            "stream": true, "stream_options": {"include_usage": true}, "stop": ["a", "b"],
            "max_tokens": 9, "temperature": 1, "reasoning_effort": "low", "n": 1, "user": "u"}),
        json!({"model": "m", "messages": [{"role": "system", "content": "s"},
            {"role": "user", "content": [{"type": "text", "text": "é😀"}]},
            {"role": "assistant", "content": null, "tool_calls": []}]}),
        json!({"model": "m", "prompt": ["p"], "echo": false, "max_tokens": 3}),
        json!({"model": "m", "tools": [{"type": "function", "function": {"name": "f",
            "parameters": {"type": "object"}}}], "tool_choice": {"type": "function",
            "function": {"name": "f"}}, "response_format": {"type": "json_schema",
            "json_schema": {"name": "s", "schema": {}}}, "messages": [
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c", "type": "function",
                "function": {"name": "f", "arguments": "{}"}}],
                "function_call": {"name": "g", "arguments": {}}},
            {"role": "tool", "tool_call_id": "c", "content": "r"},
            {"role": "function", "name": "g", "content": "r"}]}),
    ];
    let seeds: Vec<Vec<u8>> = seeds.iter().map(|s| s.to_string().into_bytes()).collect();
    let alphabet = b"{}[]\",:0123456789.-eE truefalsnul\\u\xff\xc3\xa9\x00";
    let mut rng = Lcg(0x5eed);
    let (mut accepted, mut named) = (0, 0);
    for round in 0..3_000 {
        let mut bytes = if round % 4 == 0 {
            (0..rng.below(64))
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..=rng.below(6) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(4) {
                0 if at < bytes.len() => bytes[at] = alphabet[rng.below(alphabet.len())],
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                2 => bytes.insert(at, alphabet[rng.below(alphabet.len())]),
                _ => bytes.truncate(at),
            }
        }
        // Any outcome but a panic is fine; the counts only prove the loop reaches past the
        // JSON parser into the validators.
        for result in [
            parse_chat_request(&bytes).map(drop),
            parse_completion_request(&bytes).map(drop),
        ] {
            match result {
                Ok(()) => accepted += 1,
                Err(InvalidRequest { param: Some(_), .. }) => named += 1,
                Err(_) => {}
            }
        }
    }
    assert!(
        accepted > 50 && named > 50,
        "accepted {accepted}, named {named}"
    );
}

/// The messages read while the body is parsed, from items borrowing from it, against the
/// same body read as a whole tree (each message from its `Value`): the same request or the
/// same error, for common shapes and for everything beside them (escaped strings and keys,
/// repeated keys, nulls, unknown fields, unknown ids, refused parts).
#[test]
fn borrowed_messages_agree_with_the_whole_tree() {
    use super::request::parse_whole;
    let items = [
        r#"{"role": "user", "content": "plain"}"#,
        r#"{"role": "user", "content": "esc \"q\" \\ \n \u00e9 \ud83d\ude00 \/"}"#,
        r#"{"r\u006fle": "user", "content": "escaped key"}"#,
        r#"{"role": "user", "content": "a", "content": "last"}"#,
        r#"{"role": "user", "content": "a", "content": 5}"#,
        r#"{"role": "user", "content": 5, "role": "system", "content": "b"}"#,
        r#"{"role": "user", "content": null}"#,
        r#"{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b\nc", "text": "last"}]}"#,
        r#"{"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "image_url", "image_url": {}}]}"#,
        r#"{"role": "user", "content": [{"type": "text", "text": null}]}"#,
        r#"{"role": "user", "content": [{"type": null, "text": "x"}]}"#,
        r#"{"role": "user", "content": []}"#,
        r#"{"role": "user", "content": ["text"]}"#,
        r#"{"role": "assistant", "content": [{"type": "refusal", "refusal": "no"}, {"type": "text", "text": ""}]}"#,
        r#"{"role": "user", "content": [{"type": "refusal", "refusal": "no"}]}"#,
        r#"{"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": 1}"}}]}"#,
        r#"{"role": "assistant", "tool_calls": [{"id": "c2", "function": {"name": "g", "arguments": "{}", "arguments": {"x": 1}}}]}"#,
        r#"{"role": "assistant", "content": "t", "tool_calls": [{"id": "c1", "type": null, "function": {"name": "h", "arguments": ""}}], "extra": {"deep": [1, 2.5, -0]}}"#,
        r#"{"role": "assistant", "content": "t", "tool_calls": [{"id": "c3", "type": "custom", "function": {"name": "h", "arguments": ""}}]}"#,
        r#"{"role": "assistant", "content": "t", "tool_calls": null, "function_call": {"name": "f", "arguments": "{}"}}"#,
        r#"{"role": "assistant", "tool_calls": []}"#,
        r#"{"role": "assistant", "tool_calls": [5]}"#,
        r#"{"role": "assistant", "content": "t", "tool_calls": [{"id": "c4", "function": {"name": "f", "arguments": "x"}}], "tool_calls": "nope"}"#,
        r#"{"role": "assistant", "tool_calls": "nope", "tool_calls": [{"id": "c\u0035", "function": {"name": "f\u00e9", "arguments": "x"}}]}"#,
        r#"{"role": "tool", "tool_call_id": "c1", "content": "result \u0041"}"#,
        r#"{"role": "tool", "tool_call_id": "c2", "content": [{"type": "text", "text": "r"}], "name": "ignored"}"#,
        r#"{"role": "tool", "tool_call_id": "c9", "content": "unknown"}"#,
        r#"{"role": "tool", "tool_call_id": "c\u0031", "content": "escaped id"}"#,
        r#"{"role": "tool", "tool_call_id": null, "content": "no id"}"#,
        r#"{"role": "tool", "tool_call_id": 5, "content": "5"}"#,
        r#"{"role": "function", "name": "f", "content": "legacy"}"#,
        r#"{"role": "developer", "content": "d", "unknown": null}"#,
        r#"{"role": null, "content": "x"}"#,
        r#"{"role": "robot", "content": "x"}"#,
        "5",
        "[]",
    ];
    let mut rng = crate::fuzz::Lcg(17);
    let mut accepted = 0;
    for history in crate::fuzz::histories(&items, 2_000, &mut rng) {
        let body = format!(r#"{{"model": "m", "messages": {history}}}"#);
        let parsed = parse_chat_request(body.as_bytes());
        accepted += usize::from(parsed.is_ok());
        assert_eq!(parsed, parse_whole(body.as_bytes()), "{body}");
    }
    assert!(accepted > 100, "{accepted}");
}
