//! Test-only workloads of an agent turn's hot path, for instruction counts: the body of a
//! turn with 20 tools (~25 KB of schemas) and a ~300 KB history of tool calls and ~3 KB tool
//! results in each wire format, parsed; its messages fingerprinted and its prompt tokens
//! estimated; and an upstream answer framed and decoded. Each `#[ignore]`d test runs one workload a fixed number of times
//! inside a `measured_*` function that is never inlined, so
//! `scripts/bench-instructions.sh` can count exactly its instructions with callgrind
//! (`--toggle-collect`), a figure that stays the same on a busy machine, unlike wall time
//! (docs/BENCHMARKS.md, "Instruction counts").

use std::collections::VecDeque;
use std::hint::black_box;

use serde_json::{Value, json};

use crate::qwen::{Decoder, QwenEvent, SseEvent, SseParser, Step};
use crate::session::fingerprint::Chain;

/// Tool turns of the history: 100 of ~3 KB, the issue's ~300 KB at its last turn.
pub(crate) const TURNS: usize = 100;
/// Bytes one tool turn adds to the history (its call and its result, as JSON).
pub(crate) const TURN_BYTES: usize = 3000;
/// Iterations of a request workload.
const REQUEST_ITERATIONS: usize = 10;
/// Iterations of the upstream-stream workload.
const STREAM_ITERATIONS: usize = 200;

/// One of 20 tools' name, description and JSON schema (~1.25 KB each).
pub(crate) fn tool(i: usize) -> (String, String, Value) {
    let properties: serde_json::Map<String, Value> = (0..8)
        .map(|p| {
            (
                format!("param_{p}"),
                json!({
                    "type": if p % 2 == 0 { "string" } else { "integer" },
                    "description": format!("Parameter {p} of tool {i}: what it means, its unit, and an example of a sensible value."),
                }),
            )
        })
        .collect();
    (
        format!("tool_{i}"),
        format!(
            "Tool number {i}. Reads, edits or runs something in the workspace and reports what happened."
        ),
        json!({"type": "object", "properties": properties, "required": ["param_0"]}),
    )
}

/// A tool result of ~2.8 KB of JSON (a quote, a tab and a newline escaped on each line), so
/// that with its call the turn adds [`TURN_BYTES`].
fn result_text(t: usize) -> String {
    let line = format!("line {t}: some output of the tool, with \"quotes\" and a tab\t.\n");
    line.repeat((TURN_BYTES - 200) / (line.len() + 4))
}

fn arguments(t: usize) -> Value {
    json!({"param_0": format!("src/file_{t}.rs"), "param_1": t})
}

const SYSTEM: &str = "You are a coding agent. Work in small steps and use the tools.";
const TASK: &str = "Refactor the parser and run the tests.";

/// A chat-completions body at its last turn.
pub(crate) fn chat_body() -> Vec<u8> {
    let mut messages = vec![
        json!({"role": "system", "content": SYSTEM}),
        json!({"role": "user", "content": TASK}),
    ];
    for t in 0..TURNS {
        let id = format!("call_{t:024}");
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": id, "type": "function",
            "function": {"name": format!("tool_{}", t % 20), "arguments": arguments(t).to_string()},
        }]}));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": result_text(t)}));
    }
    let tools: Vec<Value> = (0..20)
        .map(|i| {
            let (name, description, parameters) = tool(i);
            json!({"type": "function", "function": {"name": name, "description": description, "parameters": parameters}})
        })
        .collect();
    serde_json::to_vec(
        &json!({"model": "qwen3-max", "stream": true, "messages": messages, "tools": tools}),
    )
    .unwrap_or_default()
}

/// The same turn as an Anthropic Messages body.
pub(crate) fn messages_body() -> Vec<u8> {
    let mut messages = vec![json!({"role": "user", "content": [{"type": "text", "text": TASK}]})];
    for t in 0..TURNS {
        let id = format!("toolu_{t:024}");
        messages.push(json!({"role": "assistant", "content": [{
            "type": "tool_use", "id": id, "name": format!("tool_{}", t % 20), "input": arguments(t),
        }]}));
        messages.push(json!({"role": "user", "content": [{
            "type": "tool_result", "tool_use_id": id, "content": result_text(t),
        }]}));
    }
    let tools: Vec<Value> = (0..20)
        .map(|i| {
            let (name, description, parameters) = tool(i);
            json!({"name": name, "description": description, "input_schema": parameters})
        })
        .collect();
    serde_json::to_vec(
        &json!({"model": "claude-sonnet-4-5", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": SYSTEM}], "messages": messages, "tools": tools}),
    )
    .unwrap_or_default()
}

/// The same turn as a Responses body that resends the whole input (no
/// `previous_response_id`).
pub(crate) fn responses_body() -> Vec<u8> {
    let mut input = vec![json!({"type": "message", "role": "user",
        "content": [{"type": "input_text", "text": TASK}]})];
    for t in 0..TURNS {
        let id = format!("call_{t:024}");
        input.push(json!({"type": "function_call", "call_id": id,
            "name": format!("tool_{}", t % 20), "arguments": arguments(t).to_string()}));
        input
            .push(json!({"type": "function_call_output", "call_id": id, "output": result_text(t)}));
    }
    let tools: Vec<Value> = (0..20)
        .map(|i| {
            let (name, description, parameters) = tool(i);
            json!({"type": "function", "name": name, "description": description, "parameters": parameters})
        })
        .collect();
    serde_json::to_vec(
        &json!({"model": "qwen3-max", "stream": true, "store": false,
        "instructions": SYSTEM, "input": input, "tools": tools}),
    )
    .unwrap_or_default()
}

/// An upstream answer as the fake streams a tool call: `response.created`, the call block in
/// 16 `answer` deltas that each carry the usage so far, and the `finished` event; then every
/// recorded fixture that ends normally (thinking, search, the 2025 shape).
pub(crate) fn upstream_streams() -> Vec<Vec<u8>> {
    let id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    let mut body = format!(
        "data: {{\"response.created\":{{\"chat_id\": \"7d3c1e2a-5b4f-4c6d-9e8f-0a1b2c3d4e5f\", \
         \"parent_id\": \"1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b\", \"response_id\":\"{id}\", \
         \"response_index\": \"0\"}}}}\n\n"
    );
    let answer = "<<<TOOL_CALL>>>\n{\"name\": \"tool_7\", \"arguments\": {\"param_0\": \"src/file_7.rs\", \"param_1\": 7}}\n<<<END_TOOL_CALL>>>";
    let chars: Vec<char> = answer.chars().collect();
    let pieces: Vec<String> = chars
        .chunks(chars.len().div_ceil(16))
        .map(|c| c.iter().collect())
        .collect();
    for (n, piece) in pieces.iter().enumerate() {
        let delta = json!({"choices": [{"delta": {"role": "assistant", "content": piece,
            "phase": "answer", "status": "typing"}}], "response_id": id,
            "usage": {"input_tokens": 1047, "output_tokens": n + 1, "characters": 0,
            "total_tokens": 1048 + n, "input_tokens_details": {"text_tokens": 1047},
            "output_tokens_details": {"text_tokens": n + 1},
            "prompt_tokens_details": {"cached_tokens": 512}}, "timestamp": 1790356348});
        body.push_str(&format!("data: {delta}\n\n"));
    }
    body.push_str(&format!(
        "data: {{\"choices\": [{{\"delta\": {{\"role\": \"assistant\", \"content\": \"\", \
         \"phase\": \"answer\", \"status\": \"finished\"}}}}], \"response_id\": \"{id}\"}}\n\n"
    ));
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/crates/qwen-fake/fixtures");
    let mut streams = vec![body.into_bytes()];
    for name in [
        "stream-basic.sse",
        "stream-basic-2025.sse",
        "stream-thinking.sse",
        "stream-think-legacy.sse",
        "stream-search.sse",
        "stream-turn2.sse",
    ] {
        streams.push(std::fs::read(format!("{dir}/{name}")).unwrap_or_default());
    }
    streams
}

/// Frames and decodes one body as the completion stream does, in 1,400-byte chunks (a
/// loopback read's usual size); returns the number of events.
pub(crate) fn decode(body: &[u8]) -> usize {
    let mut parser = SseParser::default();
    let mut decoder = Decoder::default();
    let mut raw: VecDeque<SseEvent> = VecDeque::new();
    let mut events = 0;
    let mut handle = |raw: &mut VecDeque<SseEvent>, decoder: &mut Decoder| {
        while let Some(event) = raw.pop_front() {
            if decoder.handle(&event.event, &event.data) == Ok(Step::Done) {
                raw.clear();
            }
            events += decoder
                .queue
                .drain(..)
                .filter(|e| !matches!(e, QwenEvent::KeepAlive))
                .count();
        }
    };
    for chunk in body.chunks(1400) {
        if parser.push(chunk, &mut raw).is_err() {
            return events;
        }
        handle(&mut raw, &mut decoder);
    }
    parser.finish(&mut raw);
    handle(&mut raw, &mut decoder);
    events
}

#[inline(never)]
fn measured_chat_parse(body: &[u8]) {
    for _ in 0..REQUEST_ITERATIONS {
        black_box(crate::openai::parse_chat_request(black_box(body)).is_ok());
    }
}

#[inline(never)]
fn measured_messages_parse(body: &[u8]) {
    for _ in 0..REQUEST_ITERATIONS {
        black_box(crate::anthropic::parse_messages_request(black_box(body)).is_ok());
    }
}

#[inline(never)]
fn measured_responses_parse(body: &[u8]) {
    for _ in 0..REQUEST_ITERATIONS {
        black_box(crate::responses::parse_responses_request(black_box(body)).is_ok());
    }
}

#[inline(never)]
fn measured_fingerprint(request: &crate::openai::ChatRequest) {
    for _ in 0..REQUEST_ITERATIONS {
        black_box(Chain::new(
            "qwen3-max",
            black_box(&request.tools),
            black_box(&request.messages),
        ));
    }
}

#[inline(never)]
fn measured_estimate_prompt(request: &crate::openai::ChatRequest) {
    for _ in 0..REQUEST_ITERATIONS {
        black_box(crate::session::estimate_prompt(
            black_box(&request.messages),
            black_box(&request.tools),
        ));
    }
}

#[inline(never)]
fn measured_upstream_decode(streams: &[Vec<u8>]) {
    for _ in 0..STREAM_ITERATIONS {
        for body in streams {
            black_box(decode(black_box(body)));
        }
    }
}

#[test]
#[ignore = "a workload for scripts/bench-instructions.sh (callgrind)"]
fn hot_chat_parse() {
    let body = chat_body();
    assert!(crate::openai::parse_chat_request(&body).is_ok());
    measured_chat_parse(&body);
}

#[test]
#[ignore = "a workload for scripts/bench-instructions.sh (callgrind)"]
fn hot_messages_parse() {
    let body = messages_body();
    assert!(crate::anthropic::parse_messages_request(&body).is_ok());
    measured_messages_parse(&body);
}

#[test]
#[ignore = "a workload for scripts/bench-instructions.sh (callgrind)"]
fn hot_responses_parse() {
    let body = responses_body();
    assert!(crate::responses::parse_responses_request(&body).is_ok());
    measured_responses_parse(&body);
}

#[test]
#[ignore = "a workload for scripts/bench-instructions.sh (callgrind)"]
fn hot_fingerprint() {
    let request = crate::openai::parse_chat_request(&chat_body()).expect("a valid body");
    measured_fingerprint(&request);
}

#[test]
#[ignore = "a workload for scripts/bench-instructions.sh (callgrind)"]
fn hot_estimate_prompt() {
    let request = crate::openai::parse_chat_request(&chat_body()).expect("a valid body");
    measured_estimate_prompt(&request);
}

#[test]
#[ignore = "a workload for scripts/bench-instructions.sh (callgrind)"]
fn hot_upstream_decode() {
    let streams = upstream_streams();
    assert!(streams.iter().all(|s| !s.is_empty()));
    measured_upstream_decode(&streams);
}

/// The workloads are what they claim: the bodies have the size and shape and parse
/// into the same messages in every format, and the streams decode.
#[test]
fn agent_workloads_have_the_intended_shape() {
    let chat = crate::openai::parse_chat_request(&chat_body()).expect("chat body");
    assert_eq!(chat.tools.len(), 20);
    assert_eq!(chat.messages.len(), 2 + 2 * TURNS);
    let messages =
        crate::anthropic::parse_messages_request(&messages_body()).expect("messages body");
    let responses =
        crate::responses::parse_responses_request(&responses_body()).expect("responses body");
    for (other, skip_ids) in [(&messages.messages, true), (&responses.messages, false)] {
        assert_eq!(other.len(), chat.messages.len());
        for (a, b) in chat.messages.iter().zip(other) {
            assert_eq!((a.role, &a.content), (b.role, &b.content));
            assert_eq!(a.tool_calls.len(), b.tool_calls.len());
            if !skip_ids {
                assert_eq!(a.tool_call_id, b.tool_call_id);
            }
        }
    }
    for body in [chat_body(), messages_body(), responses_body()] {
        assert!((300_000..340_000).contains(&body.len()), "{}", body.len());
    }
    let streams = upstream_streams();
    let synthetic = decode(&streams[0]);
    // Created, 16 answer deltas, 16 usage changes, finished.
    assert_eq!(synthetic, 1 + 16 + 16 + 1);
    assert!(streams[1..].iter().all(|s| decode(s) > 2));
}
