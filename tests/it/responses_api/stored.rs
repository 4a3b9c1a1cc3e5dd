//! Stored responses: retrieve, input items, delete (withdrawn, still archived), and the data
//! API's own records under `/v1/responses` still answering.

use serde_json::{Value, json};

use super::*;
use crate::common::*;

#[tokio::test]
async fn retrieve_input_items_and_delete() {
    let s = TestServer::start().await;
    let r = respond(&s, json!({
        "model": "qwen3-max", "instructions": "Be brief.",
        "input": [{"role": "user", "content": "first"}, {"role": "assistant", "content": "ok"}, {"role": "user", "content": "second"}],
        "metadata": {"ticket": "42"},
    })).await;
    let id = r["id"].as_str().unwrap();
    s.store.flush().await.unwrap();
    let got: Value = s
        .get(&format!("/v1/responses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    for key in [
        "id",
        "status",
        "model",
        "output",
        "instructions",
        "metadata",
        "usage",
        "tools",
        "store",
    ] {
        assert_eq!(got[key], r[key], "{key}");
    }

    let items: Value = s
        .get(&format!("/v1/responses/{id}/input_items"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(items["object"], "list");
    let texts: Vec<&str> = items["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["content"][0]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["second", "ok", "first"],
        "newest first, without the instructions"
    );
    let asc: Value = s
        .get(&format!("/v1/responses/{id}/input_items?order=asc&limit=2"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(asc["data"].as_array().unwrap().len(), 2);
    assert_eq!(asc["has_more"], true);
    assert_eq!(asc["data"][0]["content"][0]["text"], "first");

    let deleted: Value = s
        .http
        .delete(format!("{}/v1/responses/{id}", s.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        deleted,
        json!({"id": id, "object": "response.deleted", "deleted": true})
    );
    assert_eq!(s.get(&format!("/v1/responses/{id}")).await.status(), 404);
    assert_eq!(
        s.http
            .delete(format!("{}/v1/responses/{id}", s.url))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let (status, err) = create(
        &s,
        json!({"model": "qwen3-max", "input": "more", "previous_response_id": id}),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(err["error"]["code"], "previous_response_not_found");
    // Still in the archive.
    let sessions: Value = s.get("/v1/sessions").await.json().await.unwrap();
    assert_eq!(sessions["data"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_data_api_keeps_its_records_under_v1_responses() {
    let s = TestServer::start().await;
    s.answer(&msgs(&[("user", "a chat completion")])).await;
    respond(&s, json!({"model": "qwen3-max", "input": "a response"})).await;
    s.store.flush().await.unwrap();
    let list: Value = s.get("/v1/responses").await.json().await.unwrap();
    let data = list["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    let chat = data
        .iter()
        .find(|r| r["id"].as_str().unwrap().starts_with("chatcmpl-"))
        .unwrap();
    let record: Value = s
        .get(&format!("/v1/responses/{}", chat["id"].as_str().unwrap()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(record["content"], "You said: a chat completion");
    let stats: Value = s.get("/v1/responses/stats").await.json().await.unwrap();
    assert_eq!(stats["statistics"]["total_requests"], 2);
}

#[tokio::test]
async fn a_stored_conversation_continues_by_previous_response_id_across_turns() {
    let s = TestServer::start().await;
    let r1 = respond(
        &s,
        json!({"model": "qwen3-max", "input": "Hi, my name is Alice."}),
    )
    .await;
    let r2 = respond(
        &s,
        json!({"model": "qwen3-max", "input": "I like tea.", "previous_response_id": r1["id"]}),
    )
    .await;
    let r3 = respond(&s, json!({"model": "qwen3-max", "input": "What is my name?", "previous_response_id": r2["id"]})).await;
    assert_eq!(output_text(&r3), "Your name is Alice.");
    let sent = s.completions();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|r| chat_id(r) == chat_id(&sent[0])));
    assert_eq!(sent_content(&sent[2]), "What is my name?");
}
