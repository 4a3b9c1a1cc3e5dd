//! A dependency-free fuzz loop: pseudo-random bytes and mutated valid bodies (Codex-shaped
//! histories, tools of every kind, tool choices, reasoning and text formats included) through
//! the request parser, proving that no input makes it panic and that reading the input while
//! the body is parsed gives exactly what reading it from the whole JSON tree gave (the request
//! or the same error); and every parsed request renders a response object, its input items
//! and a stream.

use serde_json::{Value, json};

use crate::fuzz::{Lcg, mutate};

use super::request::parse_whole;
use super::{
    Output, ResponseMeta, ResponseStream, Status, input_items, parse_responses_request,
    response_object,
};
use crate::session::{ToolCall, Usage};

/// What a mutation may put in place of a node.
fn replacements() -> Vec<Value> {
    vec![
        json!(null),
        json!(0),
        json!(-1),
        json!(1.5),
        json!("x"),
        json!("resp_1"),
        json!(""),
        json!([]),
        json!({}),
        json!([{"type": "input_image"}]),
        json!({"type": "function_call_output", "call_id": "call_1", "output": "r"}),
        json!({"type": "web_search"}),
        json!(true),
    ]
}

#[test]
fn fuzz_parser_never_panics() {
    let seeds = [
        json!({"model": "m", "input": "hi", "stream": true, "instructions": "be brief",
            "max_output_tokens": 9, "text": {"format": {"type": "json_object"}}}),
        json!({"model": "m", "store": false, "previous_response_id": "resp_0",
            "reasoning": {"effort": "medium", "summary": "auto"},
            "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}},
                {"type": "namespace", "name": "n", "tools": []}, {"type": "web_search"}],
            "tool_choice": {"type": "function", "name": "f"},
            "text": {"format": {"type": "json_schema", "name": "a", "schema": {}}},
            "input": [
                {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "é😀"}]},
                {"role": "user", "content": "do it"},
                {"type": "reasoning", "id": "rs_1", "summary": []},
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "ok"}]},
                {"type": "function_call", "call_id": "call_1", "name": "f", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "call_1", "output": [{"type": "input_text", "text": "r"}]},
                {"type": "function_call_output", "call_id": "call_0", "output": "earlier"}]}),
    ];
    let mut rng = Lcg(11);
    let replacements = replacements();
    let meta = ResponseMeta::new("m");
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
        let parsed = parse_responses_request(&bytes);
        assert_eq!(
            parsed,
            parse_whole(&bytes),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
        let Ok(req) = parsed else {
            continue;
        };
        accepted += 1;
        let calls: Vec<ToolCall> = req
            .messages
            .iter()
            .flat_map(|m| m.tool_calls.iter().cloned())
            .collect();
        let text: String = req.messages.iter().map(|m| m.content.as_str()).collect();
        let output = Output {
            reasoning: "r",
            text: &text,
            calls: &calls,
        };
        let usage = Usage::default();
        let whole = response_object(
            &meta,
            &req.echo,
            Status::Completed,
            &output,
            &usage,
            None,
            None,
        );
        assert_eq!(whole["object"], "response");
        assert_eq!(input_items(req.input())["object"], "list");
        let mut stream = ResponseStream::new(meta.clone(), req.echo.clone());
        stream.reasoning("r");
        stream.text(&text);
        for call in &calls {
            stream.function_call(call);
        }
        let end = stream.finish(Status::Completed, &usage, None);
        let last = std::str::from_utf8(end.last().expect("the end")).unwrap();
        let data: Value =
            serde_json::from_str(last.split_once("data: ").unwrap().1.trim()).unwrap();
        assert_eq!(data["response"], whole, "the stream ends with the object");
    }
    assert!(accepted > 500, "{accepted}");
}

/// Bodies the mutations above do not make: repeated keys, the input before the fields whose
/// errors come first, an output whose call is missing before and after
/// `previous_response_id` (which decides whether that is an error), errors in both.
#[test]
fn reading_input_while_parsing_agrees_on_awkward_bodies() {
    let output = r#"{"type": "function_call_output", "call_id": "c", "output": "o"}"#;
    let call = r#"{"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}"}"#;
    let bodies = [
        format!(r#"{{"input": [{output}], "model": "m"}}"#),
        format!(r#"{{"input": [{output}], "model": "m", "previous_response_id": "resp_1"}}"#),
        format!(r#"{{"previous_response_id": "resp_1", "input": [{output}], "model": "m"}}"#),
        format!(r#"{{"input": [{output}, 5], "model": "m"}}"#),
        format!(r#"{{"input": [{output}, 5], "model": "m", "previous_response_id": "resp_1"}}"#),
        format!(r#"{{"input": [5, {output}], "model": "m"}}"#),
        format!(r#"{{"input": [{output}], "model": "m", "previous_response_id": "nope"}}"#),
        format!(r#"{{"input": [{output}]}}"#),
        format!(r#"{{"input": [{call}, {output}], "model": "m"}}"#),
        format!(r#"{{"input": [{call}], "input": [{output}], "model": "m"}}"#),
        format!(r#"{{"input": [{call}, {output}], "input": "hi", "model": "m"}}"#),
        format!(r#"{{"input": "hi", "input": [{call}, {output}], "model": "m"}}"#),
        r#"{"input": [], "model": "m"}"#.to_owned(),
        r#"{"input": null, "model": "m"}"#.to_owned(),
        r#"{"input": {"type": "message"}, "model": "m"}"#.to_owned(),
        r#"{"model": "m", "input": [{"role": "user", "content": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]}]}"#.to_owned(),
        r#"{"model": "m", "input": [{"role": "user", "content": "a"}], "background": true}"#.to_owned(),
        r#"{"model": "m", "input": [{"role": "user", "content": "a"}], "x": nope}"#.to_owned(),
        r#"["m"]"#.to_owned(),
    ];
    for body in bodies {
        assert_eq!(
            parse_responses_request(body.as_bytes()),
            parse_whole(body.as_bytes()),
            "{body}"
        );
    }
}

/// The input read while the body is parsed, from items borrowing from it, against the whole
/// tree, with and without `previous_response_id`: the same request or the same error, for
/// the common items and for everything beside them (escaped strings and keys, repeated keys,
/// nulls, unknown fields and call ids, refused parts and items).
#[test]
fn borrowed_items_agree_with_the_whole_tree() {
    let items = [
        r#"{"role": "user", "content": "easy \u00e9 \"q\" \ud83d\ude00"}"#,
        r#"{"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "a\"b", "annotations": []}, {"type": "refusal", "refusal": "no"}, {"type": "output_text", "text": ""}], "id": "msg_1", "status": "completed"}"#,
        r#"{"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "d"}]}"#,
        r#"{"type": "message", "role": "user", "content": [{"type": "input_image", "image_url": "x"}]}"#,
        r#"{"type": "message", "role": "user", "content": [{"type": "refusal", "text": "x"}]}"#,
        r#"{"type": "message", "role": "user", "content": [{"type": "input_text", "text": null}]}"#,
        r#"{"type": "message", "role": "user", "content": []}"#,
        r#"{"type": "message", "role": "robot", "content": "x"}"#,
        r#"{"type": "message", "content": "no role"}"#,
        r#"{"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{\"a\": 1}", "id": "fc_1", "status": "completed"}"#,
        r#"{"type": "function_call", "call_id": "c2", "name": "g", "arguments": {"b": 2, "a": 1}}"#,
        r#"{"type": "function_call", "call_id": "c3", "name": "g", "arguments": null}"#,
        r#"{"type": "function_call", "call_id": "c3", "name": 5, "arguments": ""}"#,
        r#"{"type": "function_call_output", "call_id": "c1", "output": "o\nk"}"#,
        r#"{"type": "function_call_output", "call_id": "c2", "output": [{"type": "input_text", "text": "a"}, {"type": "input_text", "text": "b"}]}"#,
        r#"{"type": "function_call_output", "call_id": "c9", "output": "unknown call"}"#,
        r#"{"type": "function_call_output", "call_id": "c1", "output": [{"type": "output_text", "text": "a"}]}"#,
        r#"{"type": "function_call_output", "call_id": "c1", "output": null}"#,
        r#"{"type": "reasoning", "summary": [], "encrypted_content": "x"}"#,
        r#"{"type": "reasoning", "type": "message", "role": "user", "content": "dup type"}"#,
        r#"{"type": "message", "type": "reasoning"}"#,
        r#"{"type": null, "role": "user", "content": "null type"}"#,
        r#"{"type": 5}"#,
        r#"{"type": "item_reference", "id": "x"}"#,
        r#"{"type": "local_shell_call"}"#,
        r#"{"role": "user", "content": "a", "content": 5}"#,
        r#"{"role": "user", "content": 5, "content": "a"}"#,
        r#"{"t\u0079pe": "function_call", "call_id": "c\u0031", "name": "f", "arguments": ""}"#,
        "7",
    ];
    let mut rng = Lcg(17);
    let mut accepted = 0;
    for history in crate::fuzz::histories(&items, 2_000, &mut rng) {
        for extra in ["", r#", "previous_response_id": "resp_1""#] {
            let body = format!(r#"{{"model": "m", "input": {history}{extra}}}"#);
            let parsed = parse_responses_request(body.as_bytes());
            accepted += usize::from(parsed.is_ok());
            assert_eq!(parsed, parse_whole(body.as_bytes()), "{body}");
        }
    }
    assert!(accepted > 100, "{accepted}");
}
