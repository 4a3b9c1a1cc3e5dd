//! The CPU a tool turn costs before it reaches the upstream: a benchmark, not a timed
//! assertion. Two shapes: a chat-completions history with 20 tools and 50 tool turns (target:
//! parse + fingerprint + prompt under a millisecond), and Claude Code's real second turn on
//! the Messages API, recorded in tests/compat/fixtures/claude-code (target: under 2 ms). Run with `bash scripts/bench-tools.sh`, which builds in
//! release and prints the figures recorded in docs/BENCHMARKS.md.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::prompt;
use crate::anthropic::parse_messages_request;
use crate::openai::parse_chat_request;
use crate::session::fingerprint::Chain;
use crate::session::fold::{Extras, fold_messages, fold_new_turn};

/// 20 tools of ~1.25 KB of schema each (~25 KB), like a coding agent's: the same set the
/// instruction-count workloads use (`crate::perf`).
fn tools() -> Vec<Value> {
    (0..20)
        .map(|i| {
            let (name, description, parameters) = crate::perf::tool(i);
            json!({"type": "function", "function": {
                "name": name, "description": description, "parameters": parameters,
            }})
        })
        .collect()
}

/// A history of `turns` tool turns, each ~3 KB (a call and a result).
fn history(turns: usize) -> Vec<Value> {
    let mut messages = vec![
        json!({"role": "system", "content": "You are a coding agent. ".repeat(40)}),
        json!({"role": "user", "content": "Refactor the parser and run the tests."}),
    ];
    for t in 0..turns {
        let id = format!("call_{t:024}");
        messages.push(json!({"role": "assistant", "content": null, "tool_calls": [{
            "id": id, "type": "function",
            "function": {"name": format!("tool_{}", t % 20), "arguments": format!("{{\"param_0\": \"src/file_{t}.rs\", \"param_1\": {t}}}")},
        }]}));
        messages.push(json!({"role": "tool", "tool_call_id": id, "content": format!("line {t}: some output of the tool\n").repeat(90)}));
    }
    messages
}

fn per_turn(iterations: u32, mut f: impl FnMut()) -> Duration {
    f();
    let start = Instant::now();
    for _ in 0..iterations {
        f();
    }
    start.elapsed() / iterations
}

#[test]
#[ignore = "a benchmark: run by scripts/bench-tools.sh in release"]
#[allow(clippy::print_stdout)] // a benchmark reports its figures
fn turn_cost_with_20_tools_and_50_tool_turns() {
    let body = serde_json::to_vec(&json!({
        "model": "qwen3-max",
        "messages": history(50),
        "tools": tools(),
    }))
    .unwrap();
    let request = parse_chat_request(&body).unwrap();
    let parse = per_turn(200, || {
        black_box(parse_chat_request(black_box(&body)).unwrap());
    });
    let fingerprint = per_turn(200, || {
        black_box(Chain::new("qwen3-max", &request.tools, &request.messages));
    });
    let n = request.messages.len();
    let continued = per_turn(200, || {
        let extras = Extras {
            neutralise: true,
            ..Extras::default()
        };
        black_box(fold_new_turn(&[], &request.messages[n - 1..], &extras));
    });
    let first = per_turn(200, || {
        let extras = Extras {
            tool_block: Some(prompt::tool_block(
                &request.tools,
                &request.tool_choice,
                request.parallel_tool_calls,
            )),
            neutralise: true,
            tail: Vec::new(),
        };
        black_box(fold_messages(&request.messages[..2], &extras));
    });
    let total = parse + fingerprint + continued;
    println!(
        "20 tools, 50 tool turns: body {} KB, {n} messages\n\
         parse {parse:?}, fingerprint {fingerprint:?}, prompt of a continued turn {continued:?}\n\
         per turn (parse + fingerprint + prompt): {total:?}\n\
         first message of a chat (tool block + fold): {first:?}",
        body.len() / 1024
    );
}

#[test]
#[ignore = "a benchmark: run by scripts/bench-tools.sh in release"]
#[allow(clippy::print_stdout)] // a benchmark reports its figures
fn turn_cost_of_claude_codes_second_turn() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/compat/fixtures/claude-code/messages-write-turn2.json"
    );
    let recorded: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let body = serde_json::to_vec(&recorded["body"]).unwrap();
    let request = parse_messages_request(&body).unwrap();
    let parse = per_turn(500, || {
        black_box(parse_messages_request(black_box(&body)).unwrap());
    });
    let fingerprint = per_turn(500, || {
        black_box(Chain::new("qwen3-max", &request.tools, &request.messages));
    });
    let n = request.messages.len();
    let continued = per_turn(500, || {
        let extras = Extras {
            neutralise: true,
            ..Extras::default()
        };
        black_box(fold_new_turn(&[], &request.messages[n - 1..], &extras));
    });
    let total = parse + fingerprint + continued;
    println!(
        "Claude Code's second turn: body {} KB, {} tools, {n} messages\n\
         parse {parse:?}, fingerprint {fingerprint:?}, prompt of a continued turn {continued:?}\n\
         per turn (parse + fingerprint + prompt): {total:?}",
        body.len() / 1024,
        request.tools.len(),
    );
}
