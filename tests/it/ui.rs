//! The web console (`/ui`): its routes answer one shell without a key, every answer carries
//! the security headers, the assets are cached by ETag, the switches turn it off, and the
//! pages hold none of the data they show. What the pages do in a browser is
//! tests/browser/console.test.mjs's.

use reqwest::StatusCode;
use serde_json::json;

use crate::common::{ServerOptions, TestServer, msgs};

const KEY: &str = "sk-ui-test";
const VIEWS: &[&str] = &[
    "/ui",
    "/ui/",
    "/ui/sessions",
    "/ui/sessions?q=aurora&model=qwen3-max&since=7d",
    "/ui/sessions/3f2a0c1e-0000-4000-8000-000000000000",
    "/ui/live",
];
const ASSETS: &[(&str, &str)] = &[
    ("/ui/assets/console.js", "text/javascript"),
    ("/ui/assets/views.js", "text/javascript"),
    ("/ui/assets/dom.js", "text/javascript"),
    ("/ui/assets/markdown.js", "text/javascript"),
    ("/ui/assets/console.css", "text/css"),
    ("/ui/assets/icon.svg", "image/svg+xml"),
];

async fn with_keys() -> TestServer {
    TestServer::start_with(ServerOptions {
        env: vec![("API_KEYS", KEY.into())],
        ..Default::default()
    })
    .await
}

fn assert_secure(resp: &reqwest::Response, what: &str) {
    let h = resp.headers();
    let csp = h
        .get("content-security-policy")
        .unwrap_or_else(|| panic!("{what}: no Content-Security-Policy"))
        .to_str()
        .unwrap();
    assert_eq!(csp, qwenctl::proxy::ui::CONTENT_SECURITY_POLICY, "{what}");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(part), "{what}: CSP lacks {part}");
    }
    assert!(!csp.contains("unsafe"), "{what}: {csp}");
    assert_eq!(h["x-content-type-options"], "nosniff", "{what}");
    assert_eq!(h["referrer-policy"], "no-referrer", "{what}");
}

#[tokio::test]
async fn every_view_answers_the_same_shell_without_a_key() {
    let server = with_keys().await;
    let mut shell = None;
    for view in VIEWS {
        let resp = server.get(view).await;
        assert_eq!(resp.status(), StatusCode::OK, "{view}");
        assert_secure(&resp, view);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{view}"
        );
        let body = resp.text().await.unwrap();
        assert!(body.contains("/ui/assets/console.js"), "{view}: {body}");
        match &shell {
            None => shell = Some(body),
            Some(first) => assert_eq!(first, &body, "{view} answers another page"),
        }
    }
    // The data the pages read still needs the key.
    assert_eq!(
        server.get("/v1/sessions").await.status(),
        StatusCode::UNAUTHORIZED
    );
    let _ = server.stop().await;
}

#[tokio::test]
async fn assets_need_no_key_and_are_revalidated_by_etag() {
    let server = with_keys().await;
    let mut total = 0;
    for (path, kind) in ASSETS {
        let resp = server.get(path).await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        assert_secure(&resp, path);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind),
            "{path}"
        );
        assert_eq!(resp.headers()["cache-control"], "no-cache", "{path}");
        let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
        total += resp.bytes().await.unwrap().len();
        let again = server
            .http
            .get(format!("{}{path}", server.url))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(again.headers()["etag"].to_str().unwrap(), etag);
        assert!(again.bytes().await.unwrap().is_empty());
        let stale = server
            .http
            .get(format!("{}{path}", server.url))
            .header("if-none-match", "\"0000000000000000\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), StatusCode::OK, "{path}");
    }
    assert!(total < 100 * 1024, "assets are {total} bytes");
    // Unknown files and paths under /ui are 404s that still carry the policy.
    for path in [
        "/ui/assets/nope.js",
        "/ui/assets/../Cargo.toml",
        "/ui/other",
    ] {
        let resp = server.get(path).await;
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
        assert_secure(&resp, path);
    }
    let _ = server.stop().await;
}

#[tokio::test]
async fn the_switches_turn_the_console_off() {
    for env in [
        vec![("ENABLE_UI", "false".to_owned())],
        vec![("ENABLE_CRUD_API", "false".to_owned())],
    ] {
        let server = TestServer::start_with(ServerOptions {
            env: env.clone(),
            ..Default::default()
        })
        .await;
        for path in ["/ui", "/ui/sessions", "/ui/live", "/ui/assets/console.js"] {
            let resp = server.get(path).await;
            assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{env:?} {path}");
            let body: serde_json::Value = resp.json().await.unwrap();
            assert_eq!(body["error"]["type"], "invalid_request_error", "{body}");
        }
        let _ = server.stop().await;
    }
}

#[tokio::test]
async fn the_pages_hold_no_data() {
    let server = TestServer::start().await;
    let answer = server
        .answer(&msgs(&[(
            "user",
            "Zanzibar-quokka-7731 is my secret word.",
        )]))
        .await;
    assert!(answer.contains("Zanzibar-quokka-7731"));
    server.store.flush().await.unwrap();
    let sessions: serde_json::Value = server.get("/v1/sessions").await.json().await.unwrap();
    let id = sessions["data"][0]["id"].as_str().unwrap().to_owned();
    let mut pages = Vec::new();
    for path in VIEWS
        .iter()
        .copied()
        .chain([format!("/ui/sessions/{id}").as_str()])
    {
        pages.push((
            path.to_owned(),
            server.get(path).await.text().await.unwrap(),
        ));
    }
    for (path, _) in ASSETS {
        pages.push((
            path.to_string(),
            server.get(path).await.text().await.unwrap(),
        ));
    }
    for (path, body) in pages {
        assert!(!body.contains("Zanzibar"), "{path} holds stored text");
        assert!(!body.contains(&id), "{path} holds a session id");
    }
    let _ = server.stop().await;
}

#[tokio::test]
async fn a_session_exports_as_markdown_and_json_for_its_owner_only() {
    let server = TestServer::start_with(ServerOptions {
        env: vec![("API_KEYS", "sk-one,sk-two".into())],
        ..Default::default()
    })
    .await;
    let get = |path: String, key: &'static str| {
        server
            .http
            .get(format!("{}{path}", server.url))
            .bearer_auth(key)
            .send()
    };
    let resp = server
        .http
        .post(format!("{}/v1/chat/completions", server.url))
        .bearer_auth("sk-one")
        .json(&json!({"model": "qwen3-max", "messages": [{"role": "user", "content": "Export me, please."}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.store.flush().await.unwrap();
    let list: serde_json::Value = get("/v1/sessions".into(), "sk-one")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = list["data"][0]["id"].as_str().unwrap().to_owned();

    let md = get(
        format!("/v1/sessions/{id}/export?format=markdown"),
        "sk-one",
    )
    .await
    .unwrap();
    assert_eq!(md.status(), StatusCode::OK);
    assert!(
        md.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/markdown")
    );
    assert_eq!(
        md.headers()["content-disposition"],
        format!("attachment; filename=\"session-{id}.md\"").as_str()
    );
    let text = md.text().await.unwrap();
    assert!(
        text.contains("Export me, please.") && text.contains("You said: Export me"),
        "{text}"
    );

    let js = get(format!("/v1/sessions/{id}/export"), "sk-one")
        .await
        .unwrap();
    assert_eq!(js.status(), StatusCode::OK);
    let body: serde_json::Value = js.json().await.unwrap();
    assert_eq!(body[0]["id"], id.as_str(), "{body}");
    assert_eq!(body[0]["messages"][1]["role"], "assistant", "{body}");

    // Another key's session is as unknown as a missing one.
    for (path, key) in [
        (format!("/v1/sessions/{id}/export"), "sk-two"),
        ("/v1/sessions/nope/export".to_owned(), "sk-one"),
    ] {
        let resp = get(path.clone(), key).await.unwrap();
        assert_eq!(resp.status(), StatusCode::NOT_FOUND, "{path}");
    }
    for query in ["format=pdf", "format=json&format=markdown"] {
        let bad = get(format!("/v1/sessions/{id}/export?{query}"), "sk-one")
            .await
            .unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST, "{query}");
        let body: serde_json::Value = bad.json().await.unwrap();
        assert_eq!(body["error"]["param"], "format", "{query}: {body}");
    }
    let _ = server.stop().await;
}
