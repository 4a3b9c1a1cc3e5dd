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
