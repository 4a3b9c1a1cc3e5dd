//! `serve` on the wire: shapes the OpenAI SDKs rely on, validation, keys, ops routes.
//! Kept whole: it is the wire contract of `serve`, one route after another.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn models_list_has_virtual_variants_and_retrieve_works() {
    let s = TestServer::start().await;
    let resp = s.get("/v1/models").await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "list");
    let ids: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"qwen3-max"), "{ids:?}");
    assert!(ids.contains(&"qwen3.7-plus-thinking"), "{ids:?}");
    assert!(
        !ids.contains(&"qwen3-max-thinking"),
        "qwen3-max cannot think: {ids:?}"
    );
    assert!(ids.contains(&"qwen3-max-search"), "{ids:?}");
    for m in body["data"].as_array().unwrap() {
        assert_eq!(m["object"], "model");
        assert!(m["created"].is_i64());
        assert!(m["owned_by"].is_string());
    }
    let one: Value = s
        .get("/v1/models/qwen3.7-plus-thinking")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(one["id"], "qwen3.7-plus-thinking");
    let missing = s.get("/v1/models/nope").await;
    assert_eq!(missing.status(), 404);
    let err: Value = missing.json().await.unwrap();
    assert_eq!(err["error"]["code"], "model_not_found");
}

#[tokio::test]
async fn chat_non_stream_shape() {
    let s = TestServer::start().await;
    let (status, body) = s.chat("qwen3-max", &msgs(&[("user", "hello there")])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    assert!(body["id"].as_str().unwrap().starts_with("chatcmpl-"));
    assert_eq!(body["model"], "qwen3-max");
    let choice = &body["choices"][0];
    assert_eq!(choice["index"], 0);
    assert_eq!(choice["finish_reason"], "stop");
    assert_eq!(choice["message"]["role"], "assistant");
    assert_eq!(choice["message"]["content"], "You said: hello there");
    assert!(choice["message"].get("reasoning_content").is_none());
    let usage = &body["usage"];
    assert!(usage["prompt_tokens"].as_u64().unwrap() > 0);
    assert!(usage["completion_tokens"].as_u64().unwrap() > 0);
    assert_eq!(
        usage["total_tokens"].as_u64().unwrap(),
        usage["prompt_tokens"].as_u64().unwrap() + usage["completion_tokens"].as_u64().unwrap()
    );
}

#[tokio::test]
async fn chat_stream_shape_with_usage() {
    let s = TestServer::start().await;
    let resp = s
        .post(
            "/v1/chat/completions",
            &json!({"model": "qwen3-max", "stream": true,
                    "stream_options": {"include_usage": true},
                    "messages": [{"role": "user", "content": "stream me please"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(resp.headers().contains_key("x-request-id"));
    let events = sse_events(resp).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = json_events(&events);
    let id = chunks[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let mut text = String::new();
    let n = chunks.len();
    for (i, c) in chunks.iter().enumerate() {
        assert_eq!(c["id"], id.as_str());
        assert_eq!(c["model"], "qwen3-max");
        assert_eq!(c["object"], "chat.completion.chunk");
        if i < n - 2 {
            assert!(c["choices"][0]["finish_reason"].is_null(), "{c}");
            text.push_str(c["choices"][0]["delta"]["content"].as_str().unwrap_or(""));
        }
    }
    assert_eq!(chunks[n - 2]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks[n - 1]["choices"], json!([]));
    assert!(chunks[n - 1]["usage"]["total_tokens"].as_u64().unwrap() > 0);
    assert_eq!(text, "You said: stream me please");
}

#[tokio::test]
async fn thinking_model_puts_reasoning_apart() {
    let s = TestServer::start().await;
    let (status, body) = s
        .chat(
            "qwen3.7-plus-thinking",
            &msgs(&[("user", "think about it")]),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let message = &body["choices"][0]["message"];
    assert_eq!(message["content"], "You said: think about it");
    assert!(
        !message["reasoning_content"]
            .as_str()
            .unwrap_or("")
            .is_empty()
    );
    assert!(
        body["usage"]["completion_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap()
            > 0
    );
    let sent = s.completions();
    assert_eq!(
        sent[0].body["messages"][0]["feature_config"]["thinking_enabled"],
        true
    );
    assert_eq!(sent[0].body["model"], "qwen3.7-plus");

    // streamed: reasoning_content deltas, never mixed into content
    let resp = s
        .post(
            "/v1/chat/completions",
            &json!({"model": "qwen3-max", "stream": true, "enable_thinking": true,
                    "messages": [{"role": "user", "content": "think again"}]}),
        )
        .await;
    let chunks = json_events(&sse_events(resp).await);
    let reasoning: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["reasoning_content"].as_str())
        .collect();
    let content: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["delta"]["content"].as_str())
        .collect();
    assert!(!reasoning.is_empty());
    assert_eq!(content, "You said: think again");
}

#[tokio::test]
async fn legacy_completions_stream_and_not() {
    let s = TestServer::start().await;
    let resp = s
        .post(
            "/v1/completions",
            &json!({"model": "qwen3-max", "prompt": "legacy hi"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["object"], "text_completion");
    assert_eq!(body["choices"][0]["text"], "You said: legacy hi");
    assert_eq!(body["choices"][0]["finish_reason"], "stop");

    let resp = s
        .post(
            "/v1/completions",
            &json!({"model": "qwen3-max", "prompt": "legacy stream", "stream": true}),
        )
        .await;
    let events = sse_events(resp).await;
    assert_eq!(events.last().map(String::as_str), Some("[DONE]"));
    let chunks = json_events(&events);
    let text: String = chunks
        .iter()
        .filter_map(|c| c["choices"][0]["text"].as_str())
        .collect();
    assert_eq!(text, "You said: legacy stream");
    assert!(chunks.iter().all(|c| c["object"] == "text_completion"));
    assert_eq!(
        chunks.last().unwrap()["choices"][0]["finish_reason"],
        "stop"
    );
}

#[tokio::test]
async fn max_tokens_and_stop_cut_the_answer() {
    let s = TestServer::start().await;
    let body = s
        .post(
            "/v1/chat/completions",
            &json!({"model": "qwen3-max", "max_tokens": 2,
                    "messages": [{"role": "user", "content": "a long answer with many words in it"}]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "length");
    let content = body["choices"][0]["message"]["content"].as_str().unwrap();
    assert!(content.len() <= 8, "{content:?}");

    let body = s
        .post(
            "/v1/chat/completions",
            &json!({"model": "qwen3-max", "stop": ["many"],
                    "messages": [{"role": "user", "content": "a long answer with many words in it"}]}),
        )
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(body["choices"][0]["finish_reason"], "stop");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "You said: a long answer with "
    );
}

#[tokio::test]
async fn invalid_requests_get_400_with_param() {
    let s = TestServer::start().await;
    let cases = [
        (
            json!({"messages": [{"role": "user", "content": "x"}]}),
            Some("model"),
        ),
        (json!({"model": "qwen3-max"}), Some("messages")),
        (
            json!({"model": "qwen3-max", "messages": "hi"}),
            Some("messages"),
        ),
        (
            json!({"model": "qwen3-max", "n": 2, "messages": [{"role": "user", "content": "x"}]}),
            Some("n"),
        ),
        (
            json!({"model": "qwen3-max", "stream": "yes", "messages": [{"role": "user", "content": "x"}]}),
            Some("stream"),
        ),
        (
            json!({"model": "qwen3-max", "messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]}),
            Some("messages[0].content"),
        ),
    ];
    for (body, param) in cases {
        let resp = s.post("/v1/chat/completions", &body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["type"], "invalid_request_error");
        assert_eq!(err["error"]["param"].as_str(), param, "{body}");
        assert!(err["error"]["message"].as_str().is_some());
    }
    let resp = s
        .http
        .post(format!("{}/v1/chat/completions", s.url))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    // unknown fields are ignored
    let (status, _) = s.chat("qwen3-max", &msgs(&[("user", "x")])).await;
    assert_eq!(status, 200);
    let resp = s
        .post(
            "/v1/chat/completions",
            &json!({"model": "qwen3-max", "frobnicate": {"a": 1}, "temperature": 0.3,
                    "messages": [{"role": "user", "content": "x"}]}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(s.fake.count("/api/v2/chat/completions"), 2);
}

#[tokio::test]
async fn oversized_body_is_413_and_unknown_route_404_json() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("MAX_REQUEST_BODY", "1024".into())],
        ..Default::default()
    })
    .await;
    let big = "x".repeat(4096);
    let resp = s
        .post(
            "/v1/chat/completions",
            &json!({"model": "qwen3-max", "messages": [{"role": "user", "content": big}]}),
        )
        .await;
    assert_eq!(resp.status(), 413);
    let err: Value = resp.json().await.unwrap();
    assert!(err["error"]["message"].is_string());
    let resp = s.get("/v1/nothing-here").await;
    assert_eq!(resp.status(), 404);
    let err: Value = resp.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/nothing-here")
    );
}

#[tokio::test]
async fn api_keys_guard_everything_but_health() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("API_KEYS", "sk-alpha,sk-beta".into())],
        ..Default::default()
    })
    .await;
    for path in [
        "/v1/models",
        "/v1/models/qwen3-max",
        "/metrics",
        "/v1/sessions",
        "/v1/responses/stats",
    ] {
        let resp = s.get(path).await;
        assert_eq!(resp.status(), 401, "{path}");
        let err: Value = resp.json().await.unwrap();
        assert_eq!(err["error"]["code"], "invalid_api_key");
        let resp = s
            .http
            .get(format!("{}{path}", s.url))
            .bearer_auth("sk-wrong")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{path}");
        let resp = s
            .http
            .get(format!("{}{path}", s.url))
            .bearer_auth("sk-beta")
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }
    let resp = s.post("/v1/chat/completions", &json!({})).await;
    assert_eq!(resp.status(), 401);
    assert_eq!(s.get("/health").await.status(), 200);
}

#[tokio::test]
async fn health_and_metrics_after_traffic() {
    let s = TestServer::start().await;
    let _ = s.answer(&msgs(&[("user", "count me")])).await;
    let health: Value = s.get("/health").await.json().await.unwrap();
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["checks"]["authentication"], "ok");
    assert_eq!(health["checks"]["database"], "ok");
    assert!(health["uptime"].is_u64());
    assert!(health["timestamp"].is_string());
    assert!(health["metrics"]["activeSessions"].as_u64().unwrap() >= 1);
    assert!(health["metrics"]["memoryUsage"]["rss"].as_u64().unwrap() > 0);
    let text = s.get("/metrics").await.text().await.unwrap();
    for series in [
        "http_requests_total",
        "http_request_duration_seconds",
        "qwen_api_calls_total",
        "active_sessions",
        "qwen_time_to_first_token_seconds",
        "inflight_streams",
        "process_resident_memory_bytes",
    ] {
        assert!(text.contains(series), "/metrics lacks {series}:\n{text}");
    }
}

#[tokio::test]
async fn model_aliases_apply_to_every_endpoint_and_the_store_keeps_both_names() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![(
            "MODEL_ALIASES",
            "gpt-4o*=qwen3-max,claude-*=qwen3.7-plus-thinking".into(),
        )],
        ..Default::default()
    })
    .await;
    let (status, body) = s.chat("gpt-4o-mini", &msgs(&[("user", "hi")])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["model"], "gpt-4o-mini",
        "the answer echoes the name asked for"
    );
    let (status, body) = s.chat("claude-sonnet-4", &msgs(&[("user", "think")])).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        body["choices"][0]["message"]["reasoning_content"].is_string(),
        "{body}"
    );
    let resp = s
        .post(
            "/v1/completions",
            &json!({"model": "gpt-4o", "prompt": "legacy"}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let sent = s.completions();
    assert_eq!(sent[0].body["model"], "qwen3-max");
    assert_eq!(sent[1].body["model"], "qwen3.7-plus");
    assert_eq!(sent[2].body["model"], "qwen3-max");

    let model: Value = s.get("/v1/models/gpt-4o-2024").await.json().await.unwrap();
    assert_eq!(model["id"], "gpt-4o-2024");
    assert_eq!(s.get("/v1/models/gemini").await.status(), 404);

    // The store keeps the upstream model and, in the parameters, the name asked for.
    s.store.flush().await.unwrap();
    let requests: Value = s.get("/v1/requests?limit=10").await.json().await.unwrap();
    let first = requests["data"].as_array().unwrap().last().unwrap();
    assert_eq!(first["model"], "qwen3-max", "{first}");
    let id = first["id"].as_str().unwrap();
    let detail: Value = s
        .get(&format!("/v1/requests/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(detail["params"]["model"], "gpt-4o-mini", "{detail}");
}
