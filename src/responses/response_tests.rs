use serde_json::json;

use super::*;

pub(crate) const ID: &str = "resp_0123456789abcdef0123456789abcdef0123456789abcdef";

pub(crate) fn meta() -> ResponseMeta {
    ResponseMeta {
        id: ID.to_owned(),
        created_at: 1_700_000_000,
        model: "qwen3-max".to_owned(),
    }
}

pub(crate) fn call(id: &str, name: &str, arguments: &str) -> ToolCall {
    ToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

/// A short echo, standing in for a request's.
pub(crate) fn echo() -> Value {
    json!({"instructions": null, "tools": [], "tool_choice": "auto", "store": true})
}

pub(crate) fn usage() -> Usage {
    Usage {
        prompt_tokens: 42,
        completion_tokens: 57,
        reasoning_tokens: 12,
        cached_tokens: 8,
    }
}

pub(crate) fn usage_json() -> Value {
    json!({
        "input_tokens": 42,
        "input_tokens_details": {"cached_tokens": 8, "cache_write_tokens": 0},
        "output_tokens": 57,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 99,
    })
}

#[test]
fn response_ids() {
    let meta = ResponseMeta::new("qwen3-max");
    assert_eq!(meta.model, "qwen3-max");
    assert_eq!(meta.id.len(), 53);
    assert!(meta.id.starts_with("resp_"));
    assert!(
        meta.id[5..]
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    );
    assert!(meta.created_at > 1_600_000_000);
    assert_ne!(ResponseMeta::new("m").id, ResponseMeta::new("m").id);
}

#[test]
fn item_ids_derive_from_the_response_id_and_index() {
    let body = "0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(
        item_id(ItemKind::Reasoning, ID, 0),
        format!("rs_{body}0000")
    );
    assert_eq!(item_id(ItemKind::Message, ID, 1), format!("msg_{body}0001"));
    assert_eq!(
        item_id(ItemKind::FunctionCall, ID, 300),
        format!("fc_{body}012c")
    );
    assert_eq!(item_id(ItemKind::Message, "other", 2), "msg_other0002");
}

#[test]
fn completed_response_with_everything() {
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
    let output = Output {
        reasoning: "Two cities.",
        text: "Checking both.",
        calls: &calls,
    };
    let object = response_object(
        &meta(),
        &echo(),
        Status::Completed,
        &output,
        &usage(),
        None,
        None,
    );
    let body = "0123456789abcdef0123456789abcdef0123456789abcdef";
    assert_eq!(
        object,
        json!({
            "id": ID,
            "object": "response",
            "created_at": 1_700_000_000,
            "status": "completed",
            "model": "qwen3-max",
            "output": [
                {"id": format!("rs_{body}0000"), "type": "reasoning",
                 "summary": [{"type": "summary_text", "text": "Two cities."}]},
                {"id": format!("msg_{body}0001"), "type": "message", "status": "completed",
                 "role": "assistant",
                 "content": [{"type": "output_text", "text": "Checking both.",
                              "annotations": [], "logprobs": []}]},
                {"id": format!("fc_{body}0002"), "type": "function_call", "status": "completed",
                 "call_id": "call_AAAAAAAAAAAAAAAAAAAAAAAA", "name": "get_weather",
                 "arguments": "{\"city\":\"Paris\"}"},
                {"id": format!("fc_{body}0003"), "type": "function_call", "status": "completed",
                 "call_id": "call_BBBBBBBBBBBBBBBBBBBBBBBB", "name": "get_weather",
                 "arguments": "{\"city\":\"Rome\"}"},
            ],
            "usage": usage_json(),
            "error": null,
            "incomplete_details": null,
            "instructions": null,
            "tools": [],
            "tool_choice": "auto",
            "store": true,
        })
    );
    assert!(object.get("output_text").is_none(), "the SDKs compute it");
}

#[test]
fn plain_text_response() {
    let output = Output {
        reasoning: "",
        text: "Hello!",
        calls: &[],
    };
    let object = response_object(
        &meta(),
        &echo(),
        Status::Completed,
        &output,
        &usage(),
        None,
        None,
    );
    assert_eq!(
        object["output"],
        json!([{"id": item_id(ItemKind::Message, ID, 0), "type": "message",
                "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello!", "annotations": [],
                             "logprobs": []}]}])
    );
}

#[test]
fn calls_without_text_have_no_message_item() {
    let calls = [call("call_A", "f", "")];
    let output = Output {
        reasoning: "",
        text: "",
        calls: &calls,
    };
    let object = response_object(
        &meta(),
        &echo(),
        Status::Completed,
        &output,
        &usage(),
        None,
        None,
    );
    assert_eq!(
        object["output"],
        json!([{"id": item_id(ItemKind::FunctionCall, ID, 0), "type": "function_call",
                "status": "completed", "call_id": "call_A", "name": "f", "arguments": "{}"}])
    );
}

#[test]
fn an_empty_answer_is_an_empty_message() {
    let output = Output {
        reasoning: "",
        text: "",
        calls: &[],
    };
    let object = response_object(
        &meta(),
        &echo(),
        Status::Completed,
        &output,
        &usage(),
        None,
        None,
    );
    assert_eq!(object["output"][0]["type"], "message");
    assert_eq!(object["output"][0]["content"][0]["text"], "");
}

#[test]
fn incomplete_response() {
    let output = Output {
        reasoning: "Let me",
        text: "The answer is",
        calls: &[],
    };
    let object = response_object(
        &meta(),
        &echo(),
        Status::Incomplete,
        &output,
        &usage(),
        None,
        None,
    );
    assert_eq!(object["status"], "incomplete");
    assert_eq!(
        object["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(object["error"], Value::Null);
    assert_eq!(object["usage"], usage_json());
    assert_eq!(object["output"][1]["status"], "incomplete");
    assert_eq!(object["output"][1]["content"][0]["text"], "The answer is");
    let object = response_object(
        &meta(),
        &echo(),
        Status::Incomplete,
        &output,
        &usage(),
        Some("content_filter"),
        None,
    );
    assert_eq!(
        object["incomplete_details"],
        json!({"reason": "content_filter"})
    );
}

#[test]
fn failed_response() {
    let output = Output {
        reasoning: "",
        text: "Partial",
        calls: &[],
    };
    let object = response_object(
        &meta(),
        &echo(),
        Status::Failed,
        &output,
        &usage(),
        None,
        Some(("server_error", "The upstream stopped answering.")),
    );
    assert_eq!(object["status"], "failed");
    assert_eq!(
        object["error"],
        json!({"code": "server_error", "message": "The upstream stopped answering."})
    );
    assert_eq!(object["incomplete_details"], Value::Null);
    assert_eq!(object["output"][0]["status"], "incomplete");
    // Without a text, a failed response has no empty message.
    let output = Output {
        reasoning: "",
        text: "",
        calls: &[],
    };
    let object = response_object(
        &meta(),
        &echo(),
        Status::Failed,
        &output,
        &usage(),
        None,
        None,
    );
    assert_eq!(object["output"], json!([]));
    assert_eq!(object["error"]["code"], "server_error");
}

#[test]
fn echo_never_overrides_the_responses_own_fields() {
    let echo = json!({"id": "x", "status": "x", "output": "x", "metadata": {"a": "b"}});
    let output = Output {
        reasoning: "",
        text: "Hi",
        calls: &[],
    };
    let object = response_object(
        &meta(),
        &echo,
        Status::Completed,
        &output,
        &usage(),
        None,
        None,
    );
    assert_eq!(
        (object["id"].as_str(), object["status"].as_str()),
        (Some(ID), Some("completed"))
    );
    assert!(object["output"].is_array());
    assert_eq!(object["metadata"], json!({"a": "b"}));
}

#[test]
fn input_items_list() {
    let mut assistant = Message::text(Role::Assistant, "Checking.");
    assistant.tool_calls = vec![call("call_A", "get_weather", r#"{"city":"Paris"}"#)];
    let mut calls_only = Message::text(Role::Assistant, "");
    calls_only.tool_calls = vec![call("call_B", "f", "")];
    let mut result = Message::text(Role::Tool, "sunny");
    result.tool_call_id = Some("call_A".to_owned());
    result.name = Some("get_weather".to_owned());
    let messages = [
        Message::text(Role::Developer, "Be brief."),
        Message::text(Role::User, "Weather in Paris?"),
        assistant,
        result,
        calls_only,
    ];
    let list = input_items(&messages);
    let data = list["data"].as_array().unwrap();
    let ids: Vec<&str> = data
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    let prefixes: Vec<&str> = ids.iter().map(|id| id.split('_').next().unwrap()).collect();
    assert_eq!(prefixes, ["msg", "msg", "msg", "fc", "fco", "fc"]);
    assert!(ids.iter().all(|id| id.len() > 32), "{ids:?}");
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len());
    let without_ids: Vec<Value> = data
        .iter()
        .map(|item| {
            let mut item = item.clone();
            item.as_object_mut().unwrap().remove("id");
            item
        })
        .collect();
    assert_eq!(
        without_ids,
        [
            json!({"type": "message", "status": "completed", "role": "developer",
                   "content": [{"type": "input_text", "text": "Be brief."}]}),
            json!({"type": "message", "status": "completed", "role": "user",
                   "content": [{"type": "input_text", "text": "Weather in Paris?"}]}),
            json!({"type": "message", "status": "completed", "role": "assistant",
                   "content": [{"type": "output_text", "text": "Checking.", "annotations": [],
                                "logprobs": []}]}),
            json!({"type": "function_call", "status": "completed", "call_id": "call_A",
                   "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}),
            json!({"type": "function_call_output", "status": "completed", "call_id": "call_A",
                   "output": "sunny"}),
            json!({"type": "function_call", "status": "completed", "call_id": "call_B",
                   "name": "f", "arguments": "{}"}),
        ]
    );
    assert_eq!(list["object"], "list");
    assert_eq!(list["first_id"], ids[0]);
    assert_eq!(list["last_id"], ids[5]);
    assert_eq!(list["has_more"], false);
    // The same input lists with the same ids.
    assert_eq!(input_items(&messages), list);
}

#[test]
fn empty_item_list() {
    assert_eq!(
        item_list(Vec::new(), false),
        json!({"object": "list", "data": [], "first_id": null, "last_id": null, "has_more": false})
    );
}
