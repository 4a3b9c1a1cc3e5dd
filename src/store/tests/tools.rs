//! Tool calls through the store: messages and answers keep their calls, histories rebuild
//! with them, and the dedup of messages tells calls apart.

use serde_json::json;

use super::*;

fn call(id: &str, name: &str, arguments: &str) -> StoredToolCall {
    StoredToolCall {
        id: id.to_owned(),
        name: name.to_owned(),
        arguments: arguments.to_owned(),
    }
}

fn calling(calls: Vec<StoredToolCall>) -> StoredMessage {
    StoredMessage {
        tool_calls: calls,
        ..msg("assistant", "")
    }
}

fn result(id: &str, name: &str, content: &str) -> StoredMessage {
    StoredMessage {
        tool_call_id: Some(id.to_owned()),
        name: Some(name.to_owned()),
        ..msg("tool", content)
    }
}

fn weather() -> StoredToolCall {
    call("call_1", "get_weather", r#"{"city":"Paris"}"#)
}

/// A session `s`: the model calls a tool (`r1`), the client sends the result and gets the
/// final answer after a corrective upstream turn (`r2`).
async fn tool_conversation(store: &Store) {
    store
        .create_session(session("s", "qwen3-max", 0))
        .await
        .expect("create");
    let first = vec![msg("system", "use tools"), msg("user", "weather in Paris?")];
    let req = request("r1", Some("s"), None, first, 10);
    store.record_request(req).await.expect("request 1");
    let mut resp = response("p1", "r1", Some("s"), 10);
    resp.content = String::new();
    resp.tool_calls = vec![weather()];
    resp.finish_reason = Some("tool_calls".to_owned());
    store.record_response(resp).await.expect("response 1");

    let sent = vec![result("call_1", "get_weather", "sunny, 21 °C")];
    let req = request("r2", Some("s"), Some("r1"), sent, 20);
    store.record_request(req).await.expect("request 2");
    let mut resp = response("p2", "r2", Some("s"), 20);
    resp.content = "It is sunny.".to_owned();
    resp.upstream_turns = Some(json!([
        {"response_id": "u1", "content": "<<<TOOL_CALL>>> bad", "reasoning": "", "sent": "x"},
        {"response_id": "u2", "content": "It is sunny.", "reasoning": "", "sent": "fix it"}
    ]));
    store.record_response(resp).await.expect("response 2");
}

fn expected_history() -> Vec<StoredMessage> {
    vec![
        msg("system", "use tools"),
        msg("user", "weather in Paris?"),
        calling(vec![weather()]),
        result("call_1", "get_weather", "sunny, 21 °C"),
    ]
}

on_both_backends! {
    #[tokio::test]
    async fn histories_rebuild_with_their_calls_and_results(backend) {
        let (_keep, store) = store_on(&backend).await;
        tool_conversation(&store).await;

        let detail = store.get_request("r2").await.expect("get").expect("exists");
        assert_eq!(detail.messages, expected_history());
        assert_eq!(detail.new_messages, expected_history()[3..]);

        let mut conversation = expected_history();
        conversation.push(msg("assistant", "It is sunny."));
        let stored = store
            .conversation("s")
            .await
            .expect("read")
            .expect("exists");
        assert_eq!(stored, conversation);

        let p1 = store
            .get_response("p1")
            .await
            .expect("get")
            .expect("exists");
        assert_eq!(
            (p1.content.as_str(), p1.tool_calls.clone()),
            ("", vec![weather()])
        );
        assert_eq!(p1.upstream_turns, None);
        let p2 = store
            .get_response("p2")
            .await
            .expect("get")
            .expect("exists");
        assert!(p2.tool_calls.is_empty());
        assert_eq!(
            p2.upstream_turns.as_ref().map(|t| t[1]["sent"].clone()),
            Some(json!("fix it"))
        );

        let t = store.transcript("s").await.expect("read").expect("exists");
        assert_eq!(t.turns[0].tool_calls, vec![weather()]);
        assert_eq!(t.turns[1].messages, expected_history()[3..]);
        assert!(t.turns[1].upstream_turns.is_some());
        assert_eq!(t.session.tool_calls, 1);
        let listed = store
            .list_sessions(&ListQuery::default())
            .await
            .expect("list");
        assert_eq!(listed[0].tool_calls, 1);
    }
}

on_both_backends! {
    #[tokio::test]
    async fn the_json_shapes_carry_calls_only_where_there_are_some(backend) {
        let (_keep, store) = store_on(&backend).await;
        tool_conversation(&store).await;
        let detail = store.get_request("r2").await.expect("get").expect("exists");
        let v = serde_json::to_value(&detail).expect("json");
        assert_eq!(
            v["messages"][2],
            json!({"role": "assistant", "content": "", "tool_calls": [
                {"id": "call_1", "name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}
            ]})
        );
        assert_eq!(
            v["messages"][3],
            json!({"role": "tool", "content": "sunny, 21 °C", "tool_call_id": "call_1",
                   "name": "get_weather"})
        );
        assert_eq!(
            v["messages"][1],
            json!({"role": "user", "content": "weather in Paris?"})
        );

        let p1 = serde_json::to_value(store.get_response("p1").await.expect("get")).expect("json");
        assert_eq!(p1["tool_calls"][0]["name"], "get_weather");
        assert!(p1.get("upstream_turns").is_none());
        let p2 = serde_json::to_value(store.get_response("p2").await.expect("get")).expect("json");
        assert!(p2.get("tool_calls").is_none());
        assert_eq!(p2["upstream_turns"][0]["response_id"], "u1");
    }
}

on_both_backends! {
    #[tokio::test]
    async fn dedup_compares_calls_ids_and_names(backend) {
        let (_keep, store) = store_on(&backend).await;
        tool_conversation(&store).await;
        // system, user, tool result.
        assert_eq!(count_committed(&store, "messages").await, 3);
        store
            .create_session(session("t", "qwen3-max", 0))
            .await
            .expect("create");
        let messages = vec![
            // Already stored: reused.
            msg("user", "weather in Paris?"),
            result("call_1", "get_weather", "sunny, 21 °C"),
            // New: the same empty text with a call, another call, no call at all.
            calling(vec![weather()]),
            calling(vec![weather()]),
            calling(vec![call("call_2", "get_weather", r#"{"city":"Rome"}"#)]),
            calling(vec![weather(), call("call_2", "get_time", "{}")]),
            msg("assistant", ""),
            msg("assistant", ""),
            // New: the same result text answering another call, or for another tool.
            result("call_9", "get_weather", "sunny, 21 °C"),
            result("call_1", "get_forecast", "sunny, 21 °C"),
            msg("tool", "sunny, 21 °C"),
        ];
        let req = request("t1", Some("t"), None, messages.clone(), 30);
        store.record_request(req).await.expect("request");
        store.flush().await.expect("flush");
        assert_eq!(count_committed(&store, "messages").await, 3 + 7);
        let detail = store.get_request("t1").await.expect("get").expect("exists");
        assert_eq!(detail.messages, messages);
    }
}
