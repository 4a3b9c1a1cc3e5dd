//! The data endpoints against a real store: envelopes, pagination, filters, 404s, and what
//! each key's scope sees.

use super::*;
use crate::store::{NewRequest, NewResponse, NewSession, StoredMessage};

/// Serves the data router on a free port over a store with one answered exchange and
/// one pending request.
async fn serve() -> (String, Store) {
    let store = Store::open_in_memory().expect("store");
    let session = NewSession {
        account: None,
        id: "s1".into(),
        chat_id: "c1".into(),
        model: "qwen3-max".into(),
        title: "hello".into(),
        source: "serve".into(),
        api_key_id: Some("key-1".into()),
        created_at: 1_000,
    };
    store.create_session(session).await.expect("session");
    for (i, id) in ["r1", "r2"].into_iter().enumerate() {
        let at = 2_000 + i64::try_from(i).unwrap_or(0) * 1_000;
        let request = NewRequest {
            account: None,
            id: id.into(),
            session_id: Some("s1".into()),
            endpoint: "chat.completions".into(),
            model: "qwen3-max".into(),
            stream: false,
            api_key_id: Some("key-1".into()),
            client_request_id: None,
            prior_request_id: (id == "r2").then(|| "r1".into()),
            message_count: if id == "r1" { 1 } else { 3 },
            new_messages: vec![StoredMessage::text("user", format!("question {id}"))],
            params: json!({"model": "qwen3-max"}).into(),
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
    let app = router(store.clone())
        .merge(
            axum::Router::new()
                .route("/v1/responses/{id}", axum::routing::get(get_response))
                .with_state(store.clone()),
        )
        .layer(axum::middleware::from_fn(scope_from_header));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, store)
}

/// Stands in for the key check: the scope named by `x-test-scope` (`key-N`, or `none` for a
/// request that reached the routes without one); everything when the header is absent, as
/// on a `serve` without keys.
async fn scope_from_header(
    mut req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let scope = match req
        .headers()
        .get("x-test-scope")
        .and_then(|v| v.to_str().ok())
    {
        None => Some(Scope::All),
        Some("none") => None,
        Some(key) => Some(Scope::Key(key.to_owned())),
    };
    if let Some(scope) = scope {
        req.extensions_mut().insert(scope);
    }
    next.run(req).await
}

/// A second key's session `s2` (older than `s1`) with request `r3` and its response `p3`.
async fn add_second_key(store: &Store) {
    let session = NewSession {
        account: None,
        id: "s2".into(),
        chat_id: "c2".into(),
        model: "qwen-plus".into(),
        title: "secret of key 2".into(),
        source: "serve".into(),
        api_key_id: Some("key-2".into()),
        created_at: 500,
    };
    store.create_session(session).await.expect("session");
    let request = NewRequest {
        account: None,
        id: "r3".into(),
        session_id: Some("s2".into()),
        endpoint: "chat.completions".into(),
        model: "qwen-plus".into(),
        stream: false,
        api_key_id: Some("key-2".into()),
        client_request_id: None,
        prior_request_id: None,
        message_count: 1,
        new_messages: vec![StoredMessage::text("user", "key 2 asks")],
        params: json!({"model": "qwen-plus"}).into(),
        upstream_request: None,
        chat_id: Some("c2".into()),
        parent_id: None,
        received_at: 1_500,
    };
    store.record_request(request).await.expect("request");
    let response = NewResponse {
        id: "p3".into(),
        request_id: "r3".into(),
        session_id: Some("s2".into()),
        status: "ok".into(),
        content: "key 2 answer".into(),
        prompt_tokens: 10,
        completion_tokens: 20,
        duration_ms: 50,
        created_at: 1_600,
        ..NewResponse::default()
    };
    store.record_response(response).await.expect("response");
}

/// (status, body) of a request in `scope` (`None`: no `x-test-scope`).
async fn send(
    method: reqwest::Method,
    base: &str,
    path: &str,
    scope: Option<&str>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(scope) = scope {
        request = request.header("x-test-scope", scope);
    }
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

/// The `id`s of a list's `data`.
fn ids(body: &Value) -> Vec<&str> {
    body["data"]
        .as_array()
        .map(|rows| rows.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_key_sees_and_deletes_only_its_own_exchanges() {
    let (base, store) = serve().await;
    add_second_key(&store).await;
    let get = |path: &'static str, scope: &'static str| {
        let base = base.clone();
        async move { send(reqwest::Method::GET, &base, path, Some(scope)).await }
    };

    // Lists and statistics are narrowed to the key, whatever the query asks for.
    assert_eq!(ids(&get("/v1/sessions", "key-2").await.1), ["s2"]);
    assert_eq!(ids(&get("/v1/sessions", "key-1").await.1), ["s1"]);
    assert_eq!(ids(&get("/v1/requests", "key-2").await.1), ["r3"]);
    assert_eq!(
        ids(&get("/v1/requests?api_key_id=key-1", "key-2").await.1),
        ["r3"]
    );
    assert_eq!(ids(&get("/v1/responses", "key-2").await.1), ["p3"]);
    assert_eq!(ids(&get("/v1/responses", "key-1").await.1), ["p1"]);
    let (_, stats) = get("/v1/responses/stats", "key-2").await;
    assert_eq!(stats["statistics"]["total_requests"], 1);
    assert_eq!(stats["statistics"]["total_tokens"], 30);
    let (_, stats) = get("/v1/responses/stats", "key-1").await;
    assert_eq!(stats["statistics"]["total_requests"], 2);
    assert_eq!(
        get("/v1/sessions/s2", "key-2").await.1["api_key_id"],
        "key-2"
    );
    assert_eq!(get("/v1/requests/r3/response", "key-2").await.1["id"], "p3");

    // Another key's ids are 404s, exactly like unknown ones.
    for path in [
        "/v1/sessions/s1",
        "/v1/sessions/s1/stats",
        "/v1/sessions/s1/requests",
        "/v1/requests/r1",
        "/v1/requests/r1/response",
        "/v1/responses/p1",
    ] {
        let (status, body) = get(path, "key-2").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
        let unknown = path
            .replace("s1", "nope")
            .replace("r1", "nope")
            .replace("p1", "nope");
        let (_, unknown_body) = send(reqwest::Method::GET, &base, &unknown, Some("key-2")).await;
        assert_eq!(
            body["error"]["message"].as_str().map(|m| m
                .replace("s1", "nope")
                .replace("r1", "nope")
                .replace("p1", "nope")),
            unknown_body["error"]["message"].as_str().map(str::to_owned),
            "{path} must read as an unknown id"
        );
    }
    let (status, _) = send(
        reqwest::Method::DELETE,
        &base,
        "/v1/sessions/s1",
        Some("key-2"),
    )
    .await;
    assert_eq!(status, 404);
    assert!(
        store.get_session("s1").await.expect("read").is_some(),
        "key-2 deleted key-1's session"
    );
    let (status, _) = send(
        reqwest::Method::DELETE,
        &base,
        "/v1/sessions/s2",
        Some("key-2"),
    )
    .await;
    assert_eq!(status, 200);
    assert!(store.get_session("s2").await.expect("read").is_none());
}

#[tokio::test]
async fn everything_is_visible_to_the_all_scope_and_nothing_without_a_scope() {
    let (base, store) = serve().await;
    add_second_key(&store).await;
    let (_, sessions) = send(reqwest::Method::GET, &base, "/v1/sessions", None).await;
    assert_eq!(ids(&sessions), ["s1", "s2"]);
    let (_, filtered) = send(
        reqwest::Method::GET,
        &base,
        "/v1/requests?api_key_id=key-2",
        None,
    )
    .await;
    assert_eq!(ids(&filtered), ["r3"], "an admin may filter by key");
    let (_, stats) = send(reqwest::Method::GET, &base, "/v1/responses/stats", None).await;
    assert_eq!(stats["statistics"]["total_requests"], 3);
    for path in [
        "/v1/sessions",
        "/v1/sessions/s1",
        "/v1/responses/p1",
        "/v1/responses/stats",
    ] {
        let (status, body) = send(reqwest::Method::GET, &base, path, Some("none")).await;
        assert_eq!(
            status, 500,
            "{path}: a route without a scope must fail closed: {body}"
        );
    }
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

/// The concatenated text and the matched words of a list item's snippet.
fn snippet(item: &Value) -> (String, Vec<String>) {
    let segments = item["snippet"].as_array().expect("snippet segments");
    let mut text = String::new();
    let mut matched = Vec::new();
    for segment in segments {
        let part = segment["text"].as_str().expect("segment text");
        text.push_str(part);
        if segment["match"].as_bool().expect("segment match flag") {
            matched.push(part.to_lowercase());
        }
    }
    (text, matched)
}

#[tokio::test]
async fn q_searches_sessions_in_the_key_scope_with_snippets() {
    let (base, store) = serve().await;
    add_second_key(&store).await;
    let get = |path: String, scope: Option<&'static str>| {
        let base = base.clone();
        async move { send(reqwest::Method::GET, &base, &path, scope).await }
    };
    let (status, body) = get("/v1/sessions?q=question".into(), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ids(&body), ["s1"]);
    let (text, matched) = snippet(&body["data"][0]);
    assert_eq!(matched, ["question"]);
    assert!(text.starts_with("question r"), "{text}");
    assert_eq!(body["data"][0]["turns"], 2, "the session's own fields stay");

    // Answers count, every word must occur, and the key scope holds.
    assert_eq!(
        ids(&get("/v1/sessions?q=answer".into(), None).await.1),
        ["s1", "s2"]
    );
    assert_eq!(
        ids(&get("/v1/sessions?q=key+2+answer".into(), None).await.1),
        ["s2"]
    );
    assert_eq!(
        ids(&get("/v1/sessions?q=answer".into(), Some("key-1")).await.1),
        ["s1"]
    );
    assert_eq!(
        ids(&get(
            "/v1/sessions?q=answer&api_key_id=key-1".into(),
            Some("key-2")
        )
        .await
        .1),
        ["s2"],
        "a key cannot search another's sessions"
    );
    assert!(ids(&get("/v1/sessions?q=key".into(), Some("key-1")).await.1).is_empty());
    assert_eq!(
        ids(&get("/v1/sessions?q=answer&model=qwen-plus".into(), None)
            .await
            .1),
        ["s2"]
    );
    let (_, page) = get("/v1/sessions?q=answer&limit=1".into(), None).await;
    assert_eq!(
        (ids(&page), page["has_more"].as_bool()),
        (vec!["s1"], Some(true))
    );
    let (_, page) = get(
        "/v1/sessions?q=answer&since=1970-01-01T00:00:02Z".into(),
        None,
    )
    .await;
    assert_eq!(ids(&page), ["s1"]);

    // FTS syntax is taken as words: never an error.
    for q in [
        "%22",
        "*",
        "NEAR(",
        "question%20AND",
        "col%3Aquestion",
        "(question)",
        "-question",
        "question%22",
        "%5E",
        "%2B",
        "%00",
    ] {
        let (status, body) = get(format!("/v1/sessions?q={q}"), None).await;
        assert_eq!(status, 200, "{q}: {body}");
        assert_eq!(body["object"], "list", "{q}");
    }
    assert_eq!(
        ids(&get("/v1/sessions?q=(question)".into(), None).await.1),
        ["s1"]
    );
    // A blank q is the plain list, without snippets.
    let (_, plain) = get("/v1/sessions?q=%20".into(), None).await;
    assert_eq!(ids(&plain), ["s1", "s2"]);
    assert!(plain["data"][0].get("snippet").is_none());
}

#[tokio::test]
async fn stats_group_by_hour_day_or_model_with_errors_by_class() {
    let (base, store) = serve().await;
    add_second_key(&store).await;
    // A rate-limited exchange in the second hour of 1970.
    let request = NewRequest {
        account: None,
        id: "r4".into(),
        session_id: Some("s1".into()),
        endpoint: "chat.completions".into(),
        model: "qwen3-max".into(),
        stream: true,
        api_key_id: Some("key-1".into()),
        client_request_id: None,
        prior_request_id: None,
        message_count: 1,
        new_messages: vec![StoredMessage::text("user", "again")],
        params: json!({"model": "qwen3-max"}).into(),
        upstream_request: None,
        chat_id: Some("c1".into()),
        parent_id: None,
        received_at: 3_600_000,
    };
    store.record_request(request).await.expect("request");
    let failed = NewResponse {
        id: "p4".into(),
        request_id: "r4".into(),
        session_id: Some("s1".into()),
        status: "error".into(),
        error_kind: Some("rate_limited".into()),
        duration_ms: 10,
        created_at: 3_600_010,
        ..NewResponse::default()
    };
    store.record_response(failed).await.expect("response");
    let get = |path: &'static str, scope: Option<&'static str>| {
        let base = base.clone();
        async move { send(reqwest::Method::GET, &base, path, scope).await }
    };

    let (status, body) = get("/v1/responses/stats", None).await;
    assert_eq!(status, 200);
    assert_eq!(body["statistics"]["total_requests"], 4);
    assert_eq!(body["errors_by_class"], json!({"rate_limited": 1}));
    assert!(body.get("groups").is_none(), "groups only with group_by");

    let (_, by_hour) = get("/v1/responses/stats?group_by=hour", None).await;
    let groups = by_hour["groups"].as_array().expect("groups");
    let keys: Vec<&str> = groups.iter().filter_map(|g| g["key"].as_str()).collect();
    assert_eq!(keys, ["1970-01-01T00:00:00Z", "1970-01-01T01:00:00Z"]);
    assert_eq!(groups[0]["requests"], 3);
    assert_eq!(groups[0]["prompt_tokens"], 13);
    assert_eq!(groups[0]["completion_tokens"], 24);
    assert_eq!(groups[0]["total_tokens"], 37);
    assert_eq!(groups[0]["errors"], 0);
    assert_eq!(groups[1]["errors"], 1);
    assert_eq!(groups[1]["errors_by_kind"], json!({"rate_limited": 1}));
    let durations = &groups[0]["duration_ms"];
    assert_eq!(
        (&durations["p50"], &durations["p90"], &durations["p99"]),
        (&json!(50), &json!(120), &json!(120))
    );
    assert_eq!(durations["avg"], 85.0);
    assert_eq!(groups[0]["first_token_ms"]["p50"], 40);

    let (_, by_day) = get("/v1/responses/stats?group_by=day", None).await;
    assert_eq!(by_day["groups"][0]["key"], "1970-01-01");
    assert_eq!(by_day["groups"][0]["requests"], 4);
    let (_, by_model) = get("/v1/responses/stats?group_by=model", None).await;
    let keys: Vec<&str> = by_model["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .filter_map(|g| g["key"].as_str())
        .collect();
    assert_eq!(keys, ["qwen3-max", "qwen-plus"], "busiest first");

    // The key scope and the filters hold for every figure.
    let (_, mine) = get("/v1/responses/stats?group_by=model", Some("key-2")).await;
    assert_eq!(mine["groups"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine["groups"][0]["key"], "qwen-plus");
    assert_eq!(mine["errors_by_class"], json!({}));
    let (_, recent) = get("/v1/responses/stats?group_by=hour&since=24h", None).await;
    assert_eq!(
        recent["statistics"]["total_requests"], 0,
        "all of it is from 1970"
    );
    assert_eq!(recent["groups"], json!([]));
    let (_, later) = get("/v1/responses/stats?since=1970-01-01T00:30:00Z", None).await;
    assert_eq!(later["statistics"]["total_requests"], 1);
    assert_eq!(later["errors_by_class"], json!({"rate_limited": 1}));

    let (status, bad) = get("/v1/responses/stats?group_by=week", None).await;
    assert_eq!(status, 400);
    assert_eq!(bad["error"]["param"], "group_by", "{bad}");
}
