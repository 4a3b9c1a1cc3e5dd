//! Browser clients (design.md §13, issue 16): with `CORS_ORIGINS` set, a preflight from an
//! allowed origin is answered on every route before any key is asked for, every response to
//! that origin (errors and streams included) names it, other origins get no CORS header at
//! all, and the real request still needs its key.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

const APP: &str = "https://app.example.com";
const KEY: &str = "sk-browser";

/// Routes of every kind: the three chat APIs, the legacy one, models, the data API, live
/// events, operations, and a path no route has.
const ROUTES: &[(&str, &str)] = &[
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/messages"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/completions"),
    ("GET", "/v1/models"),
    ("GET", "/v1/sessions"),
    ("GET", "/v1/sessions?q=hello"),
    ("DELETE", "/v1/sessions/nope"),
    ("GET", "/v1/requests"),
    ("GET", "/v1/responses/stats?group_by=hour"),
    ("GET", "/v1/events"),
    ("GET", "/metrics"),
    ("GET", "/health"),
    ("GET", "/no/such/route"),
];

/// What the SDKs ask for in their preflights.
const SDK_HEADERS: &str =
    "authorization, content-type, x-api-key, anthropic-version, x-stainless-os";

async fn server(origins: &str, keys: Option<&str>) -> TestServer {
    let mut env = vec![("CORS_ORIGINS", origins.to_owned())];
    if let Some(keys) = keys {
        env.push(("API_KEYS", keys.to_owned()));
    }
    TestServer::start_with(ServerOptions {
        env,
        ..Default::default()
    })
    .await
}

fn body_for(path: &str) -> Value {
    match path {
        "/v1/messages" => json!({"model": "qwen3-max", "max_tokens": 50,
            "messages": [{"role": "user", "content": "hi"}]}),
        "/v1/responses" => json!({"model": "qwen3-max", "input": "hi"}),
        "/v1/completions" => json!({"model": "qwen3-max", "prompt": "hi"}),
        _ => json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}]}),
    }
}

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

fn header<'a>(resp: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    resp.headers().get(name).and_then(|v| v.to_str().ok())
}

/// No CORS header of any kind.
fn assert_no_cors(resp: &reqwest::Response, what: &str) {
    let cors: Vec<&str> = resp
        .headers()
        .keys()
        .map(|k| k.as_str())
        .filter(|k| k.starts_with("access-control-"))
        .collect();
    assert!(cors.is_empty(), "{what}: {cors:?}");
}

/// The headers of a response to an allowed origin.
fn assert_cors(resp: &reqwest::Response, origin: &str, what: &str) {
    assert_eq!(
        header(resp, "access-control-allow-origin"),
        Some(origin),
        "{what}"
    );
    let vary: Vec<&str> = resp
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert!(
        vary.iter().any(|v| v
            .split(',')
            .any(|p| p.trim().eq_ignore_ascii_case("origin"))),
        "{what}: Vary {vary:?}"
    );
    let exposed = header(resp, "access-control-expose-headers").unwrap_or_default();
    assert!(
        exposed.contains("retry-after") && exposed.contains("x-request-id"),
        "{what}: {exposed}"
    );
}

#[tokio::test]
async fn a_preflight_from_an_allowed_origin_is_answered_on_every_route_without_a_key() {
    let s = server(APP, Some(KEY)).await;
    for (method, path) in ROUTES {
        let resp = send(
            &s,
            "OPTIONS",
            path,
            &[
                ("origin", APP),
                ("access-control-request-method", method),
                ("access-control-request-headers", SDK_HEADERS),
            ],
        )
        .await;
        let what = format!("OPTIONS {path}");
        assert_eq!(resp.status(), 204, "{what}");
        assert_eq!(header(&resp, "access-control-allow-origin"), Some(APP));
        let methods = header(&resp, "access-control-allow-methods").unwrap_or_default();
        assert!(methods.contains(method), "{what}: {methods}");
        assert_eq!(
            header(&resp, "access-control-allow-headers"),
            Some(SDK_HEADERS),
            "{what}"
        );
        let max_age: u32 = header(&resp, "access-control-max-age")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        assert!(max_age > 0, "{what}");
        assert!(
            header(&resp, "vary").is_some_and(|v| v.contains("origin")),
            "{what}"
        );
    }
    assert!(
        s.fake.requests().is_empty(),
        "a preflight reached the upstream"
    );
}

#[tokio::test]
async fn an_allowed_origin_reads_every_answer_but_still_needs_its_key() {
    let s = server(&format!("http://localhost:5173, {APP}"), Some(KEY)).await;
    let bearer = format!("Bearer {KEY}");
    for (method, path) in ROUTES {
        let what = format!("{method} {path}");
        let with_key = send(
            &s,
            method,
            path,
            &[("origin", APP), ("authorization", &bearer)],
        )
        .await;
        assert_ne!(with_key.status(), 401, "{what}");
        assert_cors(&with_key, APP, &what);
        let without = send(&s, method, path, &[("origin", APP)]).await;
        let status = without.status();
        if *path == "/health" {
            assert_eq!(status, 200, "{what}: /health needs no key");
        } else if *path == "/no/such/route" {
            assert_eq!(status, 404, "{what}");
        } else {
            assert_eq!(status, 401, "{what}: the key is still checked");
        }
        // The page can read the refusal (and its body) to tell the person why.
        assert_cors(&without, APP, &format!("{what} without a key"));
    }
    // A preflight does not let the real request through: the key is what is checked.
    assert_eq!(s.completions().len(), 4);
}

#[tokio::test]
async fn a_disallowed_origin_gets_no_cors_header_at_all() {
    let s = server(APP, Some(KEY)).await;
    let bearer = format!("Bearer {KEY}");
    for origin in [
        "https://evil.example.com",
        "https://app.example.com:8443",
        "null",
    ] {
        for (method, path) in ROUTES {
            let what = format!("{origin} {method} {path}");
            let resp = send(
                &s,
                method,
                path,
                &[("origin", origin), ("authorization", &bearer)],
            )
            .await;
            assert_no_cors(&resp, &what);
            let preflight = send(
                &s,
                "OPTIONS",
                path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", method),
                    ("access-control-request-headers", SDK_HEADERS),
                ],
            )
            .await;
            assert_ne!(preflight.status(), 204, "{what}");
            assert_no_cors(&preflight, &format!("preflight {what}"));
        }
    }
    // Without an Origin (curl, SDKs outside a browser) nothing changes either.
    let resp = send(&s, "GET", "/v1/models", &[("authorization", &bearer)]).await;
    assert_eq!(resp.status(), 200);
    assert_no_cors(&resp, "no Origin");
}

#[tokio::test]
async fn a_streamed_answer_carries_the_cors_headers() {
    let s = server(APP, Some(KEY)).await;
    let resp = s
        .http
        .post(format!("{}/v1/chat/completions", s.url))
        .header("origin", APP)
        .header("authorization", format!("Bearer {KEY}"))
        .json(&json!({"model": "qwen3-max", "stream": true,
            "messages": [{"role": "user", "content": "stream to a page"}]}))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 200);
    assert!(
        header(&resp, "content-type").is_some_and(|c| c.starts_with("text/event-stream")),
        "not a stream"
    );
    assert_cors(&resp, APP, "stream");
    let events = sse_events(resp).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
}

#[tokio::test]
async fn any_origin_is_echoed_when_cors_origins_is_a_star() {
    let s = server("*", Some(KEY)).await;
    for origin in ["https://one.example.com", "http://localhost:3001", "null"] {
        let resp = send(
            &s,
            "OPTIONS",
            "/v1/messages",
            &[
                ("origin", origin),
                ("access-control-request-method", "POST"),
                (
                    "access-control-request-headers",
                    "x-api-key, anthropic-version",
                ),
            ],
        )
        .await;
        assert_eq!(resp.status(), 204, "{origin}");
        assert_eq!(header(&resp, "access-control-allow-origin"), Some(origin));
        let resp = send(&s, "GET", "/health", &[("origin", origin)]).await;
        assert_cors(&resp, origin, origin);
    }
}

#[tokio::test]
async fn without_cors_origins_an_options_is_a_405_without_cors_headers() {
    let s = TestServer::start().await;
    let resp = send(
        &s,
        "OPTIONS",
        "/v1/chat/completions",
        &[
            ("origin", APP),
            ("access-control-request-method", "POST"),
            ("access-control-request-headers", SDK_HEADERS),
        ],
    )
    .await;
    // A keyless serve refuses a foreign origin before routing; the point is: no CORS.
    assert_ne!(resp.status(), 204);
    assert_no_cors(&resp, "foreign origin, no CORS_ORIGINS");
    let own = s.url.clone();
    let resp = send(
        &s,
        "OPTIONS",
        "/v1/chat/completions",
        &[("origin", &own), ("access-control-request-method", "POST")],
    )
    .await;
    assert_eq!(resp.status(), 405);
    assert_no_cors(&resp, "own origin, no CORS_ORIGINS");
}

#[tokio::test]
async fn a_keyless_serve_answers_allowed_origins_and_refuses_others() {
    let s = server(APP, None).await;
    let preflight = send(
        &s,
        "OPTIONS",
        "/v1/chat/completions",
        &[("origin", APP), ("access-control-request-method", "POST")],
    )
    .await;
    assert_eq!(preflight.status(), 204);
    let resp = send(&s, "POST", "/v1/chat/completions", &[("origin", APP)]).await;
    assert_eq!(resp.status(), 200);
    assert_cors(&resp, APP, "keyless, allowed");
    let resp = send(
        &s,
        "POST",
        "/v1/chat/completions",
        &[("origin", "https://evil.example.com")],
    )
    .await;
    assert_eq!(resp.status(), 403);
    assert_no_cors(&resp, "keyless, refused");
}
