//! Who may use `serve` (issue 18): a keyless `serve` answers only its own `Host` names and
//! origins (DNS rebinding, cross-site posts).

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
