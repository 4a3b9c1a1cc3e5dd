use serde_json::{Value, json};

use super::*;
use crate::anthropic::response::signature;

fn meta() -> MessageMeta {
    MessageMeta {
        id: "msg_0123456789abcdefghijklmn".to_owned(),
        model: "qwen3-max".to_owned(),
    }
}

/// The events as (name, data) pairs, checking the framing of each.
fn events(chunks: &[Bytes]) -> Vec<(String, Value)> {
    chunks
        .iter()
        .map(|chunk| {
            let text = std::str::from_utf8(chunk).unwrap();
            let rest = text.strip_prefix("event: ").unwrap();
            let (name, rest) = rest.split_once("\ndata: ").unwrap();
            let data = rest.strip_suffix("\n\n").unwrap();
            assert!(!data.contains('\n'), "one line of data: {data}");
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["type"], name, "the event name is the data's type");
            (name.to_owned(), data)
        })
        .collect()
}

fn start_event(input_tokens: u64) -> (String, Value) {
    (
        "message_start".to_owned(),
        json!({"type": "message_start", "message": {
            "id": "msg_0123456789abcdefghijklmn", "type": "message", "role": "assistant",
            "model": "qwen3-max", "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
        }}),
    )
}

fn ev(name: &str, data: Value) -> (String, Value) {
    (name.to_owned(), data)
}

#[test]
fn full_sequence() {
    let mut s = MessageStream::new(meta(), 42);
    let mut chunks = s.start();
    chunks.extend(s.thinking("Two "));
    chunks.extend(s.thinking("cities."));
    chunks.extend(s.text("Checking"));
    chunks.extend(s.text(" both."));
    chunks.extend(s.tool_use(&ToolCall {
        id: "call_AAAAAAAAAAAAAAAAAAAAAAAA".to_owned(),
        name: "get_weather".to_owned(),
        arguments: r#"{"city":"Paris"}"#.to_owned(),
    }));
    chunks.extend(s.tool_use(&ToolCall {
        id: "call_BBBBBBBBBBBBBBBBBBBBBBBB".to_owned(),
        name: "get_weather".to_owned(),
        arguments: r#"{"city":"Rome"}"#.to_owned(),
    }));
    chunks.extend(s.finish(FinishReason::ToolCalls, None, 57));
    let block = |index: u64, block: Value| {
        ev(
            "content_block_start",
            json!({"type": "content_block_start", "index": index, "content_block": block}),
        )
    };
    let delta = |index: u64, delta: Value| {
        ev(
            "content_block_delta",
            json!({"type": "content_block_delta", "index": index, "delta": delta}),
        )
    };
    let stop = |index: u64| {
        ev(
            "content_block_stop",
            json!({"type": "content_block_stop", "index": index}),
        )
    };
    assert_eq!(
        events(&chunks),
        [
            start_event(42),
            block(
                0,
                json!({"type": "thinking", "thinking": "", "signature": ""})
            ),
            delta(0, json!({"type": "thinking_delta", "thinking": "Two "})),
            delta(0, json!({"type": "thinking_delta", "thinking": "cities."})),
            delta(
                0,
                json!({"type": "signature_delta", "signature": signature("Two cities.")})
            ),
            stop(0),
            block(1, json!({"type": "text", "text": ""})),
            delta(1, json!({"type": "text_delta", "text": "Checking"})),
            delta(1, json!({"type": "text_delta", "text": " both."})),
            stop(1),
            block(
                2,
                json!({"type": "tool_use", "id": "toolu_AAAAAAAAAAAAAAAAAAAAAAAA",
                    "name": "get_weather", "input": {}})
            ),
            delta(
                2,
                json!({"type": "input_json_delta", "partial_json": "{\"city\":\"Paris\"}"})
            ),
            stop(2),
            block(
                3,
                json!({"type": "tool_use", "id": "toolu_BBBBBBBBBBBBBBBBBBBBBBBB",
                    "name": "get_weather", "input": {}})
            ),
            delta(
                3,
                json!({"type": "input_json_delta", "partial_json": "{\"city\":\"Rome\"}"})
            ),
            stop(3),
            ev(
                "message_delta",
                json!({"type": "message_delta",
                    "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                    "usage": {"output_tokens": 57}})
            ),
            ev("message_stop", json!({"type": "message_stop"})),
        ]
    );
}

#[test]
fn exact_bytes_of_a_text_stream() {
    let mut s = MessageStream::new(meta(), 3);
    let mut chunks = s.start();
    chunks.extend(s.text("Hi"));
    chunks.extend(s.finish(FinishReason::Stop, Some("END"), 2));
    let text: String = chunks
        .iter()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    assert_eq!(
        text,
        "event: message_start\n\
         data: {\"message\":{\"content\":[],\"id\":\"msg_0123456789abcdefghijklmn\",\"model\":\"qwen3-max\",\"role\":\"assistant\",\"stop_reason\":null,\"stop_sequence\":null,\"type\":\"message\",\"usage\":{\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0,\"input_tokens\":3,\"output_tokens\":1}},\"type\":\"message_start\"}\n\n\
         event: content_block_start\n\
         data: {\"content_block\":{\"text\":\"\",\"type\":\"text\"},\"index\":0,\"type\":\"content_block_start\"}\n\n\
         event: content_block_delta\n\
         data: {\"delta\":{\"text\":\"Hi\",\"type\":\"text_delta\"},\"index\":0,\"type\":\"content_block_delta\"}\n\n\
         event: content_block_stop\n\
         data: {\"index\":0,\"type\":\"content_block_stop\"}\n\n\
         event: message_delta\n\
         data: {\"delta\":{\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"END\"},\"type\":\"message_delta\",\"usage\":{\"output_tokens\":2}}\n\n\
         event: message_stop\n\
         data: {\"type\":\"message_stop\"}\n\n"
    );
}

#[test]
fn order_is_kept_whatever_the_calls() {
    // No explicit start; empty pieces open nothing; finish twice sends nothing more.
    let mut s = MessageStream::new(meta(), 5);
    let mut chunks = s.text("");
    chunks.extend(s.thinking(""));
    chunks.extend(s.start());
    chunks.extend(s.finish(FinishReason::Length, None, 0));
    assert_eq!(
        events(&chunks),
        [
            start_event(5),
            ev(
                "message_delta",
                json!({"type": "message_delta",
                    "delta": {"stop_reason": "max_tokens", "stop_sequence": null},
                    "usage": {"output_tokens": 0}})
            ),
            ev("message_stop", json!({"type": "message_stop"})),
        ]
    );
    assert!(s.finish(FinishReason::Stop, None, 1).is_empty());
    assert!(s.text("late").is_empty());

    // Text, then thinking, then text: three blocks; an open text block closes on finish.
    let mut s = MessageStream::new(meta(), 5);
    let mut chunks = s.text("a");
    chunks.extend(s.thinking("b"));
    chunks.extend(s.text("c"));
    chunks.extend(s.finish(FinishReason::Stop, None, 3));
    let names: Vec<(String, Option<u64>)> = events(&chunks)
        .into_iter()
        .map(|(name, data)| (name, data["index"].as_u64()))
        .collect();
    let n = |name: &str, index: Option<u64>| (name.to_owned(), index);
    assert_eq!(
        names,
        [
            n("message_start", None),
            n("content_block_start", Some(0)),
            n("content_block_delta", Some(0)),
            n("content_block_stop", Some(0)),
            n("content_block_start", Some(1)),
            n("content_block_delta", Some(1)),
            n("content_block_delta", Some(1)),
            n("content_block_stop", Some(1)),
            n("content_block_start", Some(2)),
            n("content_block_delta", Some(2)),
            n("content_block_stop", Some(2)),
            n("message_delta", None),
            n("message_stop", None),
        ]
    );
}

#[test]
fn tool_use_with_empty_arguments() {
    let mut s = MessageStream::new(meta(), 1);
    s.start();
    let chunks = s.tool_use(&ToolCall {
        id: "call_X".to_owned(),
        name: "now".to_owned(),
        arguments: String::new(),
    });
    let evs = events(&chunks);
    assert_eq!(evs.len(), 3);
    assert_eq!(
        evs[1].1["delta"],
        json!({"type": "input_json_delta", "partial_json": "{}"})
    );
}

#[test]
fn ping_error_and_concat() {
    assert_eq!(
        &MessageStream::ping()[..],
        b"event: ping\ndata: {\"type\":\"ping\"}\n\n"
    );
    assert_eq!(
        events(&[MessageStream::error("overloaded_error", "Overloaded")]),
        [ev(
            "error",
            json!({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
        )]
    );
    assert_eq!(concat(Vec::new()), None);
    let one = MessageStream::ping();
    assert_eq!(concat(vec![one.clone()]), Some(one.clone()));
    let two = concat(vec![one.clone(), one.clone()]).unwrap();
    assert_eq!(two.len(), 2 * one.len());
}
