//! Who may use `serve` and what they see (issue 18): a keyless `serve` answers only its own
//! `Host` names and origins (DNS rebinding, cross-site posts), each key sees only its own
//! exchanges while admin keys see everything, and client request ids never become the
//! store's.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

/// Every kind of route: the three chat APIs, the legacy one, the model list, the data API,
/// the Responses API's retrieval, operations.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/completions"),
    ("POST", "/v1/messages/count_tokens"),
    ("GET", "/v1/models"),
    ("GET", "/v1/sessions"),
    ("DELETE", "/v1/sessions/some-session"),
    ("GET", "/v1/requests"),
    ("GET", "/v1/responses/stats"),
    ("GET", "/v1/responses/resp_123"),
    ("GET", "/metrics"),
    ("GET", "/health"),
    ("GET", "/"),
];

/// A body every POST route would answer.
fn body_for(path: &str) -> Value {
    match path {
        "/v1/messages" | "/v1/messages/count_tokens" => json!({
            "model": "qwen3-max", "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}]}),
        "/v1/responses" => json!({"model": "qwen3-max", "input": "hi"}),
        "/v1/completions" => json!({"model": "qwen3-max", "prompt": "hi"}),
        _ => json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}]}),
    }
}

/// Sends `method path` with the given extra headers; JSON body for POSTs.
async fn send(
    s: &TestServer,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let method = Method::from_bytes(method.as_bytes()).expect("method");
    let mut req = s.http.request(method.clone(), format!("{}{path}", s.url));
    if method == Method::POST {
        req = req.json(&body_for(path));
    }
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    req.send().await.expect("request")
}

#[tokio::test]
async fn a_foreign_host_is_refused_on_every_route_before_the_upstream() {
    let s = TestServer::start().await;
    for (method, path) in ROUTES {
        let resp = send(&s, method, path, &[("host", "evil.example.com")]).await;
        assert_eq!(resp.status(), 403, "{method} {path}");
        let body: Value = resp.json().await.expect("json");
        if path.starts_with("/v1/messages") {
            assert_eq!(body["type"], "error", "{path}: Anthropic's shape");
            assert_eq!(body["error"]["type"], "permission_error", "{path}");
        } else {
            assert_eq!(body["error"]["code"], "host_not_allowed", "{path}: {body}");
        }
    }
    // A rebinding name with the right port, and one that merely starts like a loopback name.
    let port = s.url.rsplit(':').next().unwrap_or_default().to_owned();
    for host in [
        format!("evil.example.com:{port}"),
        "localhost.evil.example.com".into(),
    ] {
        let resp = send(&s, "GET", "/v1/sessions", &[("host", &host)]).await;
        assert_eq!(resp.status(), 403, "{host}");
    }
    assert!(
        s.fake.requests().is_empty(),
        "a refused request reached the upstream"
    );
    s.store.flush().await.expect("flush");
    let recorded = s
        .store
        .list_requests(&Default::default())
        .await
        .expect("read");
    assert!(recorded.is_empty(), "a refused request was recorded");

    // Loopback names on any port are this server.
    for host in [
        "localhost",
        &format!("localhost:{port}"),
        "127.0.0.1:1",
        "[::1]:3000",
    ] {
        let resp = send(&s, "GET", "/v1/sessions", &[("host", host)]).await;
        assert_eq!(resp.status(), 200, "{host}");
    }
}

#[tokio::test]
async fn allowed_hosts_let_a_name_through() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("ALLOWED_HOSTS", "qwen.example.com, lan.box:8080".into())],
        ..Default::default()
    })
    .await;
    for (host, want) in [
        ("qwen.example.com", 200),
        ("QWEN.example.com:443", 200),
        ("lan.box:8080", 200),
        ("lan.box:8081", 403),
        ("other.example.com", 403),
    ] {
        let resp = send(&s, "POST", "/v1/chat/completions", &[("host", host)]).await;
        assert_eq!(resp.status(), want, "{host}");
    }
    assert_eq!(s.completions().len(), 3);
}

#[tokio::test]
async fn a_cross_site_text_plain_post_is_refused_before_the_upstream() {
    let s = TestServer::start().await;
    // What a web page can send without a preflight: a "simple" text/plain POST.
    let body = r#"{"model":"qwen3-max","messages":[{"role":"user","content":"spend it"}]}"#;
    let cross_site = s
        .http
        .post(format!("{}/v1/chat/completions", s.url))
        .header("content-type", "text/plain;charset=UTF-8")
        .header("origin", "https://evil.example.com")
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(cross_site.status(), 403);
    let err: Value = cross_site.json().await.expect("json");
    assert_eq!(err["error"]["code"], "origin_not_allowed");
    for (method, path) in ROUTES {
        let resp = send(&s, method, path, &[("origin", "http://evil.example.com")]).await;
        assert_eq!(resp.status(), 403, "{method} {path}");
    }
    // Another port of the same host is another origin; `null` (sandboxed pages) is none.
    for origin in ["http://127.0.0.1:1", "null"] {
        let resp = send(&s, "POST", "/v1/chat/completions", &[("origin", origin)]).await;
        assert_eq!(resp.status(), 403, "{origin}");
    }
    assert!(
        s.fake.requests().is_empty(),
        "a cross-site request reached the upstream"
    );

    // curl -d: no Origin, whatever the content type, works.
    let curl = s
        .http
        .post(format!("{}/v1/chat/completions", s.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("request");
    assert_eq!(curl.status(), 200);
    // The server's own pages (the console): Origin is this very host and port.
    let own = s.url.clone();
    let resp = send(&s, "POST", "/v1/chat/completions", &[("origin", &own)]).await;
    assert_eq!(resp.status(), 200);
    let resp = send(&s, "DELETE", "/v1/sessions/nope", &[("origin", &own)]).await;
    assert_eq!(
        resp.status(),
        404,
        "same-origin requests reach the handlers"
    );
    assert_eq!(s.completions().len(), 2);
}

#[tokio::test]
async fn cors_origins_allow_listed_origins() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("CORS_ORIGINS", "https://app.example.com".into())],
        ..Default::default()
    })
    .await;
    let allowed = [("origin", "https://app.example.com")];
    assert_eq!(
        send(&s, "POST", "/v1/chat/completions", &allowed)
            .await
            .status(),
        200
    );
    let other = [("origin", "https://evil.example.com")];
    assert_eq!(
        send(&s, "POST", "/v1/chat/completions", &other)
            .await
            .status(),
        403
    );
}

#[tokio::test]
async fn with_keys_neither_check_applies() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("API_KEYS", "sk-one".into())],
        ..Default::default()
    })
    .await;
    let foreign = [
        ("host", "qwen.example.com"),
        ("origin", "https://elsewhere.example.com"),
    ];
    let resp = send(&s, "POST", "/v1/chat/completions", &foreign).await;
    assert_eq!(resp.status(), 401, "the key is what is checked");
    let with_key = [
        ("host", "qwen.example.com"),
        ("origin", "https://elsewhere.example.com"),
        ("authorization", "Bearer sk-one"),
    ];
    let resp = send(&s, "POST", "/v1/chat/completions", &with_key).await;
    assert_eq!(resp.status(), 200);
}

// --- Tenancy by key ---------------------------------------------------------------------------

/// A server with two keys and an admin key.
async fn keyed() -> TestServer {
    TestServer::start_with(ServerOptions {
        env: vec![
            ("API_KEYS", "sk-one,sk-two".into()),
            ("ADMIN_API_KEYS", "sk-admin".into()),
        ],
        ..Default::default()
    })
    .await
}

/// (status, JSON body) of `method path` with `key`, and `body` for a POST.
async fn call(
    s: &TestServer,
    key: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = s
        .http
        .request(method, format!("{}{path}", s.url))
        .bearer_auth(key);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

async fn get(s: &TestServer, key: &str, path: &str) -> (u16, Value) {
    call(s, key, Method::GET, path, None).await
}

fn ids(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn chat(content: &str) -> Value {
    json!({"model": "qwen3-max", "messages": [{"role": "user", "content": content}]})
}

#[tokio::test]
async fn a_key_reads_and_deletes_only_its_own_exchanges() {
    let s = keyed().await;
    let (status, _) = call(
        &s,
        "sk-one",
        Method::POST,
        "/v1/chat/completions",
        Some(chat("one's secret")),
    )
    .await;
    assert_eq!(status, 200);
    let (status, one_resp) = call(
        &s,
        "sk-one",
        Method::POST,
        "/v1/responses",
        Some(json!({"model": "qwen3-max", "input": "one's response"})),
    )
    .await;
    assert_eq!(status, 200);
    let one_resp = one_resp["id"].as_str().expect("response id").to_owned();
    let (status, _) = call(
        &s,
        "sk-two",
        Method::POST,
        "/v1/chat/completions",
        Some(chat("two's question")),
    )
    .await;
    assert_eq!(status, 200);
    s.store.flush().await.expect("flush");

    // Every request is recorded under its key's name, never the key.
    let (_, all) = get(&s, "sk-admin", "/v1/requests").await;
    let mut names: Vec<&str> = all["data"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["api_key_id"].as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["key-1", "key-1", "key-2"]);

    let (_, one_sessions) = get(&s, "sk-one", "/v1/sessions").await;
    let (_, two_sessions) = get(&s, "sk-two", "/v1/sessions").await;
    assert_eq!(ids(&one_sessions).len(), 2);
    assert_eq!(ids(&two_sessions).len(), 1);
    let two_session = ids(&two_sessions)[0].clone();
    for id in ids(&one_sessions) {
        assert!(!ids(&two_sessions).contains(&id));
        for path in [
            format!("/v1/sessions/{id}"),
            format!("/v1/sessions/{id}/stats"),
            format!("/v1/sessions/{id}/requests"),
        ] {
            assert_eq!(get(&s, "sk-two", &path).await.0, 404, "{path}");
            assert_eq!(get(&s, "sk-one", &path).await.0, 200, "{path}");
        }
        let (status, _) = call(
            &s,
            "sk-two",
            Method::DELETE,
            &format!("/v1/sessions/{id}"),
            None,
        )
        .await;
        assert_eq!(status, 404, "key 2 deleted key 1's session");
    }
    let (_, one_requests) = get(&s, "sk-one", "/v1/requests").await;
    let (_, two_requests) = get(&s, "sk-two", "/v1/requests?api_key_id=key-1").await;
    assert_eq!(ids(&one_requests).len(), 2);
    assert_eq!(
        ids(&two_requests).len(),
        1,
        "a key's own requests, whatever it asks for"
    );
    for id in ids(&one_requests) {
        assert_eq!(
            get(&s, "sk-two", &format!("/v1/requests/{id}")).await.0,
            404
        );
        assert_eq!(
            get(&s, "sk-two", &format!("/v1/requests/{id}/response"))
                .await
                .0,
            404
        );
    }
    let (_, two_responses) = get(&s, "sk-two", "/v1/responses").await;
    assert_eq!(ids(&two_responses).len(), 1);
    let (_, one_responses) = get(&s, "sk-one", "/v1/responses").await;
    for id in ids(&one_responses) {
        assert_eq!(
            get(&s, "sk-two", &format!("/v1/responses/{id}")).await.0,
            404,
            "{id}"
        );
    }
    let (_, stats) = get(&s, "sk-two", "/v1/responses/stats").await;
    assert_eq!(stats["statistics"]["total_requests"], 1);
    let (_, stats) = get(&s, "sk-one", "/v1/responses/stats").await;
    assert_eq!(stats["statistics"]["total_requests"], 2);

    // The Responses API: key 2 can neither read, list, continue nor delete key 1's response.
    assert_eq!(
        get(&s, "sk-one", &format!("/v1/responses/{one_resp}"))
            .await
            .0,
        200
    );
    assert_eq!(
        get(&s, "sk-two", &format!("/v1/responses/{one_resp}"))
            .await
            .0,
        404
    );
    assert_eq!(
        get(
            &s,
            "sk-two",
            &format!("/v1/responses/{one_resp}/input_items")
        )
        .await
        .0,
        404
    );
    let (status, body) = call(
        &s,
        "sk-two",
        Method::POST,
        "/v1/responses",
        Some(json!({"model": "qwen3-max", "input": "go on", "previous_response_id": one_resp})),
    )
    .await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "previous_response_not_found");
    let (status, _) = call(
        &s,
        "sk-two",
        Method::DELETE,
        &format!("/v1/responses/{one_resp}"),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        get(&s, "sk-one", &format!("/v1/responses/{one_resp}"))
            .await
            .0,
        200,
        "still there"
    );

    // The admin key sees and manages everything.
    let (_, all_sessions) = get(&s, "sk-admin", "/v1/sessions").await;
    assert_eq!(ids(&all_sessions).len(), 3);
    let (_, stats) = get(&s, "sk-admin", "/v1/responses/stats").await;
    assert_eq!(
        stats["statistics"]["total_requests"], 4,
        "three answered and key 2's refused continuation"
    );
    let (_, only_two) = get(&s, "sk-admin", "/v1/sessions?api_key_id=key-2").await;
    assert_eq!(ids(&only_two), std::slice::from_ref(&two_session));
    assert_eq!(
        get(&s, "sk-admin", &format!("/v1/responses/{one_resp}"))
            .await
            .0,
        200
    );
    let (status, _) = call(
        &s,
        "sk-admin",
        Method::DELETE,
        &format!("/v1/sessions/{two_session}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(get(&s, "sk-two", "/v1/sessions").await.1["data"], json!([]));
}

#[tokio::test]
async fn the_same_history_from_two_keys_is_two_conversations() {
    let s = keyed().await;
    let first = chat("the same opening");
    let (_, a) = call(
        &s,
        "sk-one",
        Method::POST,
        "/v1/chat/completions",
        Some(first.clone()),
    )
    .await;
    let answer = a["choices"][0]["message"]["content"]
        .as_str()
        .expect("answer")
        .to_owned();
    s.store.flush().await.expect("flush");
    let history = |next: &str| {
        json!({"model": "qwen3-max", "messages": [
            {"role": "user", "content": "the same opening"},
            {"role": "assistant", "content": answer},
            {"role": "user", "content": next}]})
    };
    // Key 2 sends key 1's exact history: it must not land in key 1's upstream chat.
    let (status, _) = call(
        &s,
        "sk-two",
        Method::POST,
        "/v1/chat/completions",
        Some(history("two goes on")),
    )
    .await;
    assert_eq!(status, 200);
    // Key 1 continues its own.
    let (status, _) = call(
        &s,
        "sk-one",
        Method::POST,
        "/v1/chat/completions",
        Some(history("one goes on")),
    )
    .await;
    assert_eq!(status, 200);
    let sent = s.completions();
    assert_eq!(sent.len(), 3);
    assert_ne!(
        chat_id(&sent[1]),
        chat_id(&sent[0]),
        "key 2 continued key 1's chat"
    );
    assert_eq!(
        chat_id(&sent[2]),
        chat_id(&sent[0]),
        "key 1 no longer continues its own"
    );
    s.store.flush().await.expect("flush");
    let (_, one_sessions) = get(&s, "sk-one", "/v1/sessions").await;
    assert_eq!(one_sessions["data"][0]["turns"], 2);
    assert_eq!(one_sessions["data"][0]["api_key_id"], "key-1");
}

#[tokio::test]
async fn metrics_are_for_admin_keys_when_there_are_some() {
    let s = keyed().await;
    let (status, body) = get(&s, "sk-one", "/metrics").await;
    assert_eq!(status, 403);
    assert_eq!(body["error"]["code"], "admin_key_required");
    let resp = s
        .http
        .get(format!("{}/metrics", s.url))
        .bearer_auth("sk-admin")
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.text()
            .await
            .expect("text")
            .contains("http_requests_total")
    );
    // The admin key is an API key like the others.
    let (status, _) = call(
        &s,
        "sk-admin",
        Method::POST,
        "/v1/chat/completions",
        Some(chat("admin asks")),
    )
    .await;
    assert_eq!(status, 200);
    s.store.flush().await.expect("flush");
    let (_, rows) = get(&s, "sk-admin", "/v1/requests").await;
    assert_eq!(rows["data"][0]["api_key_id"], "admin-1");
}

// --- Client request ids -----------------------------------------------------------------------

#[tokio::test]
async fn repeated_client_request_ids_make_two_exchanges() {
    let s = TestServer::start().await;
    let mut echoed = Vec::new();
    for question in ["first question", "second question"] {
        let resp = s
            .http
            .post(format!("{}/v1/chat/completions", s.url))
            .header("x-request-id", "client-chosen-1")
            .json(&chat(question))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        echoed.push(
            resp.headers()["x-request-id"]
                .to_str()
                .expect("header")
                .to_owned(),
        );
    }
    assert_eq!(echoed, ["client-chosen-1", "client-chosen-1"]);
    // Without one, the store's own id is echoed.
    let resp = s.post("/v1/chat/completions", &chat("third")).await;
    let ours = resp.headers()["x-request-id"]
        .to_str()
        .expect("header")
        .to_owned();
    assert_ne!(ours, "client-chosen-1");

    s.store.flush().await.expect("flush");
    let rows: Value = s.get("/v1/requests").await.json().await.expect("json");
    let rows = rows["data"].as_array().expect("rows");
    assert_eq!(rows.len(), 3, "{rows:?}");
    let with_client_id: Vec<&Value> = rows
        .iter()
        .filter(|r| r["client_request_id"] == "client-chosen-1")
        .collect();
    assert_eq!(with_client_id.len(), 2);
    assert_ne!(with_client_id[0]["id"], with_client_id[1]["id"]);
    assert!(rows.iter().any(|r| r["id"] == ours.as_str()));
    for row in with_client_id {
        assert_ne!(row["id"], "client-chosen-1", "the store's ids are its own");
        assert_eq!(row["status"], "ok", "each exchange has its own response");
        let id = row["id"].as_str().expect("id");
        let response: Value = s
            .get(&format!("/v1/requests/{id}/response"))
            .await
            .json()
            .await
            .expect("json");
        assert!(response["content"].as_str().is_some_and(|c| !c.is_empty()));
    }
    let answers: Vec<String> = s
        .store
        .list_responses(&Default::default())
        .await
        .expect("read")
        .into_iter()
        .map(|r| r.content)
        .collect();
    assert_eq!(answers.len(), 3);
}
