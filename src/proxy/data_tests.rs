//! The data endpoints against a real store: envelopes, pagination, filters, 404s.

use super::*;
use crate::store::{NewRequest, NewResponse, NewSession, StoredMessage};

/// Serves the data router on a free port over a store with one answered exchange and
/// one pending request.
async fn serve() -> (String, Store) {
    let store = Store::open_in_memory().expect("store");
    let session = NewSession {
        id: "s1".into(),
        chat_id: "c1".into(),
        model: "qwen3-max".into(),
        title: "hello".into(),
        source: "serve".into(),
        created_at: 1_000,
    };
    store.create_session(session).await.expect("session");
    for (i, id) in ["r1", "r2"].into_iter().enumerate() {
        let at = 2_000 + i64::try_from(i).unwrap_or(0) * 1_000;
        let request = NewRequest {
            id: id.into(),
            session_id: Some("s1".into()),
            endpoint: "chat.completions".into(),
            model: "qwen3-max".into(),
            stream: false,
            api_key_id: None,
            prior_request_id: (id == "r2").then(|| "r1".into()),
            message_count: if id == "r1" { 1 } else { 3 },
            new_messages: vec![StoredMessage::text("user", format!("question {id}"))],
            params: json!({"model": "qwen3-max"}),
            upstream_request: None,
            chat_id: Some("c1".into()),
            parent_id: None,
            received_at: at,
        };
        store.record_request(request).await.expect("request");
    }
    let response = NewResponse {
        id: "p1".into(),
        request_id: "r1".into(),
        session_id: Some("s1".into()),
        status: "ok".into(),
        content: "answer".into(),
        prompt_tokens: 3,
        completion_tokens: 4,
        duration_ms: 120,
        first_token_ms: Some(40),
        created_at: 2_500,
        ..NewResponse::default()
    };
    store.record_response(response).await.expect("response");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    // `GET /v1/responses/{id}` is routed by the Responses API's handler, which hands every
    // id that is not a `resp_…` one to `get_response`; here it is routed directly.
    let app = router(store.clone()).merge(
        axum::Router::new()
            .route("/v1/responses/{id}", axum::routing::get(get_response))
            .with_state(store.clone()),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, store)
}

async fn get(base: &str, path: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{base}{path}"))
        .await
        .expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn lists_and_single_objects() {
    let (base, _store) = serve().await;
    let (status, body) = get(&base, "/v1/sessions").await;
    assert_eq!(status, 200);
    assert_eq!(body["object"], "list");
    assert_eq!(
        (body["limit"].as_u64(), body["has_more"].as_bool()),
        (Some(20), Some(false))
    );
    assert_eq!(body["data"][0]["id"], "s1");
    assert_eq!(body["data"][0]["turns"], 2);
    assert_eq!(get(&base, "/v1/sessions/s1").await.1["total_tokens"], 7);
    assert_eq!(
        get(&base, "/v1/sessions/s1/stats").await.1["total_requests"],
        2
    );

    let (_, page) = get(&base, "/v1/requests?limit=1").await;
    assert_eq!(
        (page["data"][0]["id"].as_str(), page["has_more"].as_bool()),
        (Some("r2"), Some(true))
    );
    let (_, page) = get(&base, "/v1/sessions/s1/requests?limit=1&offset=1").await;
    assert_eq!(
        (page["data"][0]["id"].as_str(), page["has_more"].as_bool()),
        (Some("r1"), Some(false))
    );
    let (_, page) = get(&base, "/v1/requests?since=1970-01-01T00:00:02.500Z").await;
    assert_eq!(page["data"].as_array().map(Vec::len), Some(1));
    let (_, detail) = get(&base, "/v1/requests/r2").await;
    let contents: Vec<_> = detail["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["content"].as_str())
        .collect();
    assert_eq!(
        contents,
        [Some("question r1"), Some("answer"), Some("question r2")]
    );
    assert_eq!(get(&base, "/v1/requests/r1/response").await.1["id"], "p1");
    assert_eq!(get(&base, "/v1/responses").await.1["data"][0]["id"], "p1");
    assert_eq!(get(&base, "/v1/responses/p1").await.1["content"], "answer");

    let (status, stats) = get(&base, "/v1/responses/stats").await;
    assert_eq!(status, 200, "a static segment must win over {{id}}");
    assert_eq!(stats["statistics"]["total_requests"], 2);
    assert_eq!(stats["statistics"]["total_tokens"], 7);
    assert_eq!(stats["statistics"]["avg_duration_ms"], 120.0);
}

#[tokio::test]
async fn errors_are_openai_shaped() {
    let (base, _store) = serve().await;
    for path in [
        "/v1/sessions/nope",
        "/v1/requests/nope",
        "/v1/responses/nope",
        "/v1/requests/r2/response",
        "/v1/sessions/nope/requests",
        "/v1/sessions/nope/stats",
    ] {
        let (status, body) = get(&base, path).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    for (query, param) in [
        ("limit=abc", "limit"),
        ("offset=-1", "offset"),
        ("since=yesterday", "since"),
    ] {
        let (status, body) = get(&base, &format!("/v1/requests?{query}")).await;
        assert_eq!(status, 400, "{query}");
        assert_eq!(body["error"]["type"], "invalid_request_error");
        assert_eq!(body["error"]["param"], param, "{query}: {body}");
    }
}

#[tokio::test]
async fn delete_removes_the_session() {
    let (base, store) = serve().await;
    let client = reqwest::Client::new();
    let response = client
        .delete(format!("{base}/v1/sessions/s1"))
        .send()
        .await
        .expect("delete");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(
        body,
        json!({"id": "s1", "object": "session.deleted", "deleted": true})
    );
    assert!(store.get_request("r1").await.expect("read").is_none());
    let again = client
        .delete(format!("{base}/v1/sessions/s1"))
        .send()
        .await
        .expect("delete");
    assert_eq!(again.status().as_u16(), 404);
}
