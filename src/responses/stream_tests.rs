//! The Responses API's event stream, event by event. Kept whole: each test is one sequence the
//! official SDKs parse strictly, and they share the event readers at the top.

use serde_json::{Value, json};

use super::*;
use crate::responses::response::tests::{ID, call, echo, meta, usage, usage_json};
use crate::responses::response::{Output, response_object};

/// The events' data, checking the framing of each (`event: TYPE\ndata: JSON\n\n`, the data's
/// `type` is the event's) and that sequence numbers count from 0 without a gap.
fn events(chunks: &[Bytes]) -> Vec<Value> {
    chunks
        .iter()
        .enumerate()
        .map(|(n, chunk)| {
            let text = std::str::from_utf8(chunk).unwrap();
            let rest = text.strip_prefix("event: ").unwrap();
            let (name, rest) = rest.split_once("\ndata: ").unwrap();
            let data = rest.strip_suffix("\n\n").unwrap();
            assert!(!data.contains('\n'), "one line of data: {data}");
            let data: Value = serde_json::from_str(data).unwrap();
            assert_eq!(data["type"], name, "the event name is the data's type");
            assert_eq!(data["sequence_number"], n, "{data}");
            data
        })
        .collect()
}

/// Expected events: `(type, data)` with the type and sequence numbers filled in.
fn expected(events: Vec<(&str, Value)>) -> Vec<Value> {
    events
        .into_iter()
        .enumerate()
        .map(|(n, (kind, mut data))| {
            data["type"] = json!(kind);
            data["sequence_number"] = json!(n);
            data
        })
        .collect()
}

fn body() -> &'static str {
    &ID[5..]
}

fn in_progress() -> Value {
    json!({
        "id": ID, "object": "response", "created_at": 1_700_000_000, "status": "in_progress",
        "model": "qwen3-max", "output": [], "usage": null, "error": null,
        "incomplete_details": null,
        "instructions": null, "tools": [], "tool_choice": "auto", "store": true,
    })
}

fn start_events() -> Vec<(&'static str, Value)> {
    vec![
        ("response.created", json!({"response": in_progress()})),
        ("response.in_progress", json!({"response": in_progress()})),
    ]
}

fn message(index: usize, status: &str, text: &str) -> Value {
    let content = if status == "in_progress" {
        json!([])
    } else {
        json!([{"type": "output_text", "text": text, "annotations": [], "logprobs": []}])
    };
    json!({"id": format!("msg_{}{index:04x}", body()), "type": "message", "status": status,
           "role": "assistant", "content": content})
}

#[test]
fn full_sequence() {
    let calls = [
        call(
            "call_AAAAAAAAAAAAAAAAAAAAAAAA",
            "get_weather",
            r#"{"city":"Paris"}"#,
        ),
        call(
            "call_BBBBBBBBBBBBBBBBBBBBBBBB",
            "get_weather",
            r#"{"city":"Rome"}"#,
        ),
    ];
    let mut s = ResponseStream::new(meta(), echo());
    let mut chunks = s.start();
    chunks.extend(s.reasoning("Two "));
    chunks.extend(s.reasoning("cities."));
    chunks.extend(s.text("Checking"));
    chunks.extend(s.text(" both."));
    chunks.extend(s.function_call(&calls[0]));
    chunks.extend(s.function_call(&calls[1]));
    chunks.extend(s.finish(Status::Completed, &usage(), None));

    let rs = format!("rs_{}0000", body());
    let msg = format!("msg_{}0001", body());
    let reasoning_done = json!({"id": rs, "type": "reasoning",
        "summary": [{"type": "summary_text", "text": "Two cities."}]});
    let call_events = |index: usize, call: &ToolCall| {
        let id = format!("fc_{}{index:04x}", body());
        let item = |status: &str, arguments: &str| {
            json!({"id": id, "type": "function_call", "status": status, "call_id": call.id,
                   "name": call.name, "arguments": arguments})
        };
        vec![
            (
                "response.output_item.added",
                json!({"output_index": index, "item": item("in_progress", "")}),
            ),
            (
                "response.function_call_arguments.delta",
                json!({"item_id": id, "output_index": index, "delta": call.arguments}),
            ),
            (
                "response.function_call_arguments.done",
                json!({"item_id": id, "output_index": index, "name": call.name,
                       "arguments": call.arguments}),
            ),
            (
                "response.output_item.done",
                json!({"output_index": index, "item": item("completed", &call.arguments)}),
            ),
        ]
    };
    let final_object = response_object(
        &meta(),
        &echo(),
        Status::Completed,
        &Output {
            reasoning: "Two cities.",
            text: "Checking both.",
            calls: &calls,
        },
        &usage(),
        None,
        None,
    );
    assert_eq!(final_object["usage"], usage_json());
    let mut want = start_events();
    want.extend([
        (
            "response.output_item.added",
            json!({"output_index": 0, "item": {"id": rs, "type": "reasoning", "summary": []}}),
        ),
        (
            "response.reasoning_summary_part.added",
            json!({"item_id": rs, "output_index": 0, "summary_index": 0,
                   "part": {"type": "summary_text", "text": ""}}),
        ),
        (
            "response.reasoning_summary_text.delta",
            json!({"item_id": rs, "output_index": 0, "summary_index": 0, "delta": "Two "}),
        ),
        (
            "response.reasoning_summary_text.delta",
            json!({"item_id": rs, "output_index": 0, "summary_index": 0, "delta": "cities."}),
        ),
        (
            "response.reasoning_summary_text.done",
            json!({"item_id": rs, "output_index": 0, "summary_index": 0, "text": "Two cities."}),
        ),
        (
            "response.reasoning_summary_part.done",
            json!({"item_id": rs, "output_index": 0, "summary_index": 0,
                   "part": {"type": "summary_text", "text": "Two cities."}}),
        ),
        (
            "response.output_item.done",
            json!({"output_index": 0, "item": reasoning_done}),
        ),
        (
            "response.output_item.added",
            json!({"output_index": 1, "item": message(1, "in_progress", "")}),
        ),
        (
            "response.content_part.added",
            json!({"item_id": msg, "output_index": 1, "content_index": 0,
                   "part": {"type": "output_text", "text": "", "annotations": [], "logprobs": []}}),
        ),
        (
            "response.output_text.delta",
            json!({"item_id": msg, "output_index": 1, "content_index": 0, "delta": "Checking",
                   "logprobs": []}),
        ),
        (
            "response.output_text.delta",
            json!({"item_id": msg, "output_index": 1, "content_index": 0, "delta": " both.",
                   "logprobs": []}),
        ),
        (
            "response.output_text.done",
            json!({"item_id": msg, "output_index": 1, "content_index": 0,
                   "text": "Checking both.", "logprobs": []}),
        ),
        (
            "response.content_part.done",
            json!({"item_id": msg, "output_index": 1, "content_index": 0,
                   "part": {"type": "output_text", "text": "Checking both.", "annotations": [],
                            "logprobs": []}}),
        ),
        (
            "response.output_item.done",
            json!({"output_index": 1, "item": message(1, "completed", "Checking both.")}),
        ),
    ]);
    want.extend(call_events(2, &calls[0]));
    want.extend(call_events(3, &calls[1]));
    want.push(("response.completed", json!({"response": final_object})));
    assert_eq!(events(&chunks), expected(want));
}

#[test]
fn exact_bytes_of_a_text_stream() {
    let meta = ResponseMeta {
        id: "resp_ab".to_owned(),
        created_at: 1,
        model: "m".to_owned(),
    };
    let mut s = ResponseStream::new(meta, json!({"store": false}));
    let mut chunks = s.text("Hi");
    chunks.extend(s.finish(Status::Completed, &Usage::default(), None));
    let text: String = chunks
        .iter()
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let first = "event: response.created\ndata: {\"created_at\":1,\"error\":null,\"id\":\"resp_ab\",\
        \"incomplete_details\":null,\"model\":\"m\",\"object\":\"response\",\"output\":[],\
        \"status\":\"in_progress\",\"store\":false,\"usage\":null}";
    let first = first.replace("data: {", "data: {\"response\":{");
    assert!(
        text.starts_with(&format!(
            "{first},\"sequence_number\":0,\"type\":\"response.created\"}}\n\n"
        )),
        "{text}"
    );
    assert!(text.contains(
        "event: response.output_text.delta\ndata: {\"content_index\":0,\"delta\":\"Hi\",\
         \"item_id\":\"msg_ab0000\",\"logprobs\":[],\"output_index\":0,\"sequence_number\":4,\
         \"type\":\"response.output_text.delta\"}\n\n"
    ));
    assert!(
        text.ends_with("\"type\":\"response.completed\"}\n\n"),
        "{text}"
    );
    assert!(!text.contains("[DONE]"));
    assert_eq!(chunks.len(), 9);
}

#[test]
fn incomplete_stream() {
    let mut s = ResponseStream::new(meta(), echo());
    let mut chunks = s.text("The answer is");
    chunks.extend(s.finish(Status::Incomplete, &usage(), None));
    let events = events(&chunks);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.incomplete",
        ]
    );
    assert_eq!(events[7]["item"], message(0, "incomplete", "The answer is"));
    let response = &events[8]["response"];
    assert_eq!(
        *response,
        response_object(
            &meta(),
            &echo(),
            Status::Incomplete,
            &Output {
                reasoning: "",
                text: "The answer is",
                calls: &[]
            },
            &usage(),
            None,
            None,
        )
    );
    assert_eq!(response["status"], "incomplete");
    assert_eq!(
        response["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    // Nothing after the end.
    assert!(s.text("more").is_empty());
    assert!(s.finish(Status::Completed, &usage(), None).is_empty());
    assert!(s.fail("server_error", "late").is_empty());
}

#[test]
fn failed_stream() {
    let mut s = ResponseStream::new(meta(), echo());
    let mut chunks = s.reasoning("Hmm");
    chunks.extend(s.text("Part"));
    chunks.extend(s.fail("server_error", "The upstream stopped answering."));
    let events = events(&chunks);
    let last = events.last().unwrap();
    assert_eq!(last["type"], "response.failed");
    let mut want = in_progress();
    want["status"] = json!("failed");
    want["error"] = json!({"code": "server_error", "message": "The upstream stopped answering."});
    want["output"] = json!([
        {"id": format!("rs_{}0000", body()), "type": "reasoning",
         "summary": [{"type": "summary_text", "text": "Hmm"}]},
        message(1, "incomplete", "Part"),
    ]);
    assert_eq!(last["response"], want);
    // The open message got no done events: it did not finish.
    assert_eq!(
        events[events.len() - 2]["type"],
        "response.output_text.delta"
    );
    assert!(s.text("more").is_empty());
    assert!(s.fail("server_error", "again").is_empty());
}

#[test]
fn failure_before_any_output() {
    let mut s = ResponseStream::new(meta(), echo());
    let mut chunks = s.start();
    chunks.extend(s.fail("rate_limit_exceeded", "Slow down."));
    let events = events(&chunks);
    assert_eq!(events.len(), 3);
    assert_eq!(events[2]["response"]["output"], json!([]));
    assert_eq!(
        events[2]["response"]["error"]["code"],
        "rate_limit_exceeded"
    );
    // A failure through finish says no more than that.
    let mut s = ResponseStream::new(meta(), echo());
    let events_ = s.finish(Status::Failed, &usage(), None);
    let last: Value = serde_json::from_str(
        std::str::from_utf8(events_.last().unwrap())
            .unwrap()
            .split_once("data: ")
            .unwrap()
            .1
            .trim(),
    )
    .unwrap();
    assert_eq!(last["type"], "response.failed");
    assert_eq!(last["response"]["error"]["code"], "server_error");
    assert_eq!(last["response"]["output"], json!([]));
}

#[test]
fn an_empty_answer_streams_an_empty_message() {
    let mut s = ResponseStream::new(meta(), echo());
    let mut chunks = s.reasoning("Nothing to say.");
    chunks.extend(s.finish(Status::Completed, &usage(), None));
    let events = events(&chunks);
    let kinds: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds[2..],
        [
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        events.last().unwrap()["response"],
        response_object(
            &meta(),
            &echo(),
            Status::Completed,
            &Output {
                reasoning: "Nothing to say.",
                text: "",
                calls: &[]
            },
            &usage(),
            None,
            None,
        )
    );
}

#[test]
fn any_order_opens_new_items() {
    let mut s = ResponseStream::new(meta(), echo());
    let mut chunks = s.text("Before.");
    chunks.extend(s.function_call(&call("call_A", "f", "{}")));
    chunks.extend(s.text("After."));
    chunks.extend(s.reasoning("Late thought."));
    chunks.extend(s.finish(Status::Completed, &usage(), None));
    let events = events(&chunks);
    let output = &events.last().unwrap()["response"]["output"];
    let kinds: Vec<&str> = output
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["message", "function_call", "message", "reasoning"]);
    assert_eq!(output[2], message(2, "completed", "After."));
    // Every item's added and done events agree with the final output.
    let done: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "response.output_item.done")
        .map(|e| &e["item"])
        .collect();
    assert_eq!(done, output.as_array().unwrap().iter().collect::<Vec<_>>());
}

#[test]
fn start_is_sent_once_and_empty_pieces_send_nothing() {
    let mut s = ResponseStream::new(meta(), echo());
    assert_eq!(s.start().len(), 2);
    assert!(s.start().is_empty());
    assert!(s.text("").is_empty());
    assert!(s.reasoning("").is_empty());
    assert_eq!(s.meta().id, ID);
}

#[test]
fn keepalive_and_concat() {
    assert_eq!(&ResponseStream::keepalive()[..], b": keep-alive\n\n");
    assert_eq!(concat(Vec::new()), None);
    assert_eq!(
        concat(vec![Bytes::from("a"), Bytes::from("b")]),
        Some(Bytes::from("ab"))
    );
}

/// An event carrying the response object is byte for byte what the general event writer
/// gives for `{"response": object}`, names and sequence numbers included.
#[test]
fn response_events_are_the_bytes_of_the_general_writer() {
    let object = response_object(
        &meta(),
        &echo(),
        Status::Completed,
        &Output {
            reasoning: "thought \"quoted\"",
            text: "a\nb",
            calls: &[call("call_1", "get_weather", r#"{"city":"Paris"}"#)],
        },
        &usage(),
        None,
        None,
    );
    let mut spliced = ResponseStream::new(meta(), echo());
    let mut general = ResponseStream::new(meta(), echo());
    for kind in ["response.created", "response.completed"] {
        assert_eq!(
            spliced.response_event(kind, &object.to_string()),
            general.event(kind, json!({"response": object}))
        );
    }
}
