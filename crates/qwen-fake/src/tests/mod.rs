//! End-to-end tests of the fake over real HTTP (reqwest), plus the helpers the fault tests
//! share. They pin what clients depend on: auth, strict validation, parent chaining and the
//! exact SSE bytes. Kept whole: it is the fake's contract read top to bottom, one endpoint
//! after another, and the helpers below serve the sibling fault, chat and tool tests.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{COMPLETIONS_PATH, FakeOptions, FakeUpstream, Limits};

mod accounts;
mod chat;
mod faults;
mod tools;

const TURN1: &str = include_str!("../../fixtures/completions.request.turn1.json");
pub(super) const TOKEN: &str = "test-token";

pub(super) async fn fake() -> FakeUpstream {
    FakeUpstream::start(FakeOptions::default())
        .await
        .expect("fake starts")
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::new()
}

pub(super) async fn new_chat(fake: &FakeUpstream) -> String {
    let response: Value = client()
        .post(format!("{}/api/v2/chats/new", fake.url()))
        .bearer_auth(TOKEN)
        .json(&json!({"chatId": "", "models": ["qwen3.7-plus"], "chat_type": "t2t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["success"], true);
    response["data"]["id"].as_str().unwrap().to_owned()
}

/// A browser-style body (fixture turn 1) for `chat`, `parent` and `content`.
pub(super) fn body(chat: &str, parent: Option<&str>, content: &str) -> Value {
    let mut body: Value = serde_json::from_str(TURN1).unwrap();
    body["chat_id"] = json!(chat);
    body["chatId"] = json!(chat);
    body["parent_id"] = json!(parent);
    body["messages"][0]["content"] = json!(content);
    body["messages"][0]["parent_id"] = json!(parent);
    body
}

pub(super) async fn complete(fake: &FakeUpstream, chat: &str, body: &Value) -> reqwest::Response {
    client()
        .post(format!("{}{COMPLETIONS_PATH}", fake.url()))
        .query(&[("chat_id", chat)])
        .bearer_auth(TOKEN)
        .json(body)
        .send()
        .await
        .unwrap()
}

/// The JSON payloads of an SSE body, in order.
pub(super) fn events(text: &str) -> Vec<Value> {
    text.split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .map(|data| serde_json::from_str(data.trim_end()).unwrap())
        .collect()
}

/// The concatenated answer-phase content of an SSE body.
pub(super) fn answer_of(text: &str) -> String {
    events(text)
        .iter()
        .filter(|e| e["choices"][0]["delta"]["phase"] == "answer")
        .filter_map(|e| {
            e["choices"][0]["delta"]["content"]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

pub(super) fn response_id(text: &str) -> String {
    events(text)[0]["response.created"]["response_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn fake_requires_a_bearer_token_except_on_model_lists() {
    let fake = FakeUpstream::start(FakeOptions {
        accepted_token: Some(TOKEN.into()),
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let url = |path: &str| format!("{}{path}", fake.url());
    let anonymous = client()
        .post(url("/api/v2/chats/new"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert_eq!(anonymous.text().await.unwrap(), "unauthorized");
    let wrong = client()
        .get(url("/api/v1/auths/"))
        .bearer_auth("other")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let empty = client()
        .get(url("/api/v1/auths/"))
        .header("authorization", "Bearer ")
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), 401);
    let me = client()
        .get(url("/api/v1/auths/"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);

    let models: Value = client()
        .get(url("/api/models"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(models["data"].as_array().is_some_and(|m| !m.is_empty()));
    let v2: Value = client()
        .get(url("/api/v2/models/"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v2["success"], true);
    assert!(v2["data"]["data"].as_array().is_some_and(|m| m.len() >= 2));

    let signin: Value = client()
        .post(url("/api/v1/auths/signin"))
        .json(&json!({"email": "a@b.c", "password": "abc"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(signin["token"], TOKEN);
    assert_eq!(
        client()
            .get(url("/api/nope"))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        fake.count("/api/v1/auths/"),
        3,
        "rejected requests are recorded too"
    );
}

#[tokio::test]
async fn fake_stream_bytes_match_the_fixture_conventions() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let response = complete(&fake, &chat, &body(&chat, None, "hello 😊 world")).await;
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream; charset=utf-8"
    );
    assert!(response.headers().contains_key("x-request-id"));
    let text = response.text().await.unwrap();

    let (first, rest) = text.split_once("\n\n").unwrap();
    let prefix =
        format!("data: {{\"response.created\":{{\"chat_id\": \"{chat}\", \"parent_id\": \"");
    assert!(first.starts_with(&prefix), "{first}");
    assert!(first.contains("\", \"response_id\":\""));
    assert!(first.ends_with("\", \"response_index\": \"0\"}} "));
    let rid = response_id(&text);

    let second = rest.split("\n\n").next().unwrap();
    let expected = format!(
        "data: {{\"choices\": [{{\"delta\": {{\"role\": \"assistant\", \"content\": \"You\", \"phase\": \"answer\", \"status\": \"typing\"}}}}], \"response_id\": \"{rid}\", \"usage\": {{\"input_tokens\": 4, \"output_tokens\": 1, \"characters\": 0, \"total_tokens\": 5, \"input_tokens_details\": {{\"text_tokens\": 4}}, \"output_tokens_details\": {{\"text_tokens\": 1}}, \"prompt_tokens_details\": {{\"cached_tokens\": 0}}}}, \"timestamp\": "
    );
    assert!(second.starts_with(&expected), "{second}");
    assert!(
        text.contains("\"content\": \" 😊\""),
        "raw UTF-8, not \\u escapes"
    );
    let finish = format!(
        "data: {{\"choices\": [{{\"delta\": {{\"content\": \"\", \"role\": \"assistant\", \"status\": \"finished\", \"phase\": \"answer\"}}}}], \"response_id\": \"{rid}\"}}\n\n"
    );
    assert!(text.ends_with(&finish), "{text}");
    assert!(!text.contains("[DONE]"));
    assert_eq!(answer_of(&text), "You said: hello 😊 world");

    let events = events(&text);
    let usages: Vec<u64> = events
        .iter()
        .filter_map(|e| e["usage"]["output_tokens"].as_u64())
        .collect();
    assert_eq!(
        usages,
        [1, 2, 3, 4, 5, 5],
        "cumulative, one per chunk, then the empty delta"
    );
}

#[tokio::test]
async fn fake_omits_phase_without_output_schema() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let mut request = body(&chat, None, "hi");
    request["messages"][0]["feature_config"]["output_schema"] = json!(null);
    let text = complete(&fake, &chat, &request).await.text().await.unwrap();
    assert!(!text.contains("\"phase\""), "{text}");
    assert!(text.contains("\"content\": \" said:\""));
}

#[tokio::test]
async fn fake_streams_thinking_and_search_phases() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let mut request = body(&chat, None, "think about it");
    request["messages"][0]["feature_config"]["thinking_enabled"] = json!(true);
    request["messages"][0]["chat_type"] = json!("search");
    let text = complete(&fake, &chat, &request).await.text().await.unwrap();
    let events = events(&text);
    let delta = |e: &Value| e["choices"][0]["delta"].clone();
    let search: Vec<&Value> = events
        .iter()
        .filter(|e| delta(e)["phase"] == "web_search")
        .collect();
    assert_eq!(search.len(), 2);
    assert_eq!(delta(search[1])["name"], "web_search");
    assert_eq!(
        delta(search[1])["extra"]["web_search_info"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    let thinking: Vec<&Value> = events
        .iter()
        .filter(|e| delta(e)["phase"] == "thinking_summary")
        .collect();
    assert_eq!(thinking.len(), 4, "three snapshots and the finished event");
    let thoughts = |e: &Value| {
        delta(e)["extra"]["summary_thought"]["content"]
            .as_array()
            .map(Vec::len)
    };
    assert_eq!(
        thinking.iter().map(|e| thoughts(e)).collect::<Vec<_>>(),
        [Some(1), Some(2), Some(3), None]
    );
    assert_eq!(delta(thinking[3])["status"], "finished");
    let last_usage = &events[events.len() - 2]["usage"];
    assert_eq!(last_usage["output_tokens_details"]["reasoning_tokens"], 30);
    assert_eq!(answer_of(&text), "You said: think about it");
}

#[tokio::test]
async fn fake_honours_answer_chunks_delay_and_legacy_json() {
    let fake = FakeUpstream::start(FakeOptions {
        answer_chunks: Some(7),
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let chat = new_chat(&fake).await;
    let text = complete(&fake, &chat, &body(&chat, None, "abc"))
        .await
        .text()
        .await
        .unwrap();
    let typing = events(&text)
        .iter()
        .filter(|e| e["usage"].is_object())
        .count();
    assert_eq!(typing, 7 + 1, "seven chunks plus the trailing empty delta");
    assert_eq!(answer_of(&text), "You said: abc");

    fake.set_chunk_delay(Duration::from_millis(30));
    let started = std::time::Instant::now();
    complete(&fake, &chat, &body(&chat, None, "abc"))
        .await
        .text()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(7 * 30));

    fake.set_chunk_delay(Duration::ZERO);
    let mut legacy = body(&chat, None, "plain");
    legacy["stream"] = json!(false);
    let legacy: Value = complete(&fake, &chat, &legacy).await.json().await.unwrap();
    assert_eq!(
        legacy["data"]["choices"][0]["message"]["content"],
        "You said: plain"
    );
}

#[tokio::test]
async fn fake_stops_on_shutdown_and_on_drop() {
    let first = fake().await;
    let url = first.url();
    first.shutdown().await;
    assert!(
        client()
            .get(format!("{url}/api/models"))
            .send()
            .await
            .is_err()
    );

    let second = fake().await;
    let url = second.url();
    drop(second);
    // Dropping only signals; the server task then winds down on its own.
    let mut refused = false;
    for _ in 0..50 {
        if client()
            .get(format!("{url}/api/models"))
            .send()
            .await
            .is_err()
        {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the port is closed soon after the drop");
}

#[tokio::test]
async fn fake_keeps_only_the_most_recent_requests_but_counts_all() {
    let fake = FakeUpstream::start(FakeOptions {
        limits: Limits {
            requests: 3,
            ..Limits::TESTS
        },
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let chat = new_chat(&fake).await;
    for i in 0..4 {
        let text = complete(&fake, &chat, &body(&chat, None, &format!("turn {i}")))
            .await
            .text()
            .await
            .unwrap();
        assert_eq!(answer_of(&text), format!("You said: turn {i}"));
    }
    assert_eq!(fake.count(COMPLETIONS_PATH), 4);
    assert_eq!(fake.count("/api/v2/chats/new"), 1);
    let sent: Vec<Value> = fake
        .completions()
        .iter()
        .map(|r| r.body["messages"][0]["content"].clone())
        .collect();
    assert_eq!(
        sent,
        ["turn 1", "turn 2", "turn 3"],
        "the oldest went first"
    );

    // The out-of-process hook sees the same ring (the hook's own requests are hidden).
    let hooked: Value = client()
        .get(format!("{}/__fake/requests", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let paths: Vec<&str> = hooked
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["path"].as_str())
        .collect();
    assert_eq!(paths, [COMPLETIONS_PATH, COMPLETIONS_PATH]);
    assert_eq!(fake.count("/__fake/requests"), 1);

    // The counters count every request and the bytes each body carried, dropped or not.
    let sent_bytes: u64 = (0..4)
        .map(|i| body(&chat, None, &format!("turn {i}")).to_string().len() as u64)
        .sum();
    let counters: Value = client()
        .get(format!("{}/__fake/counters", fake.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let completions = &counters[COMPLETIONS_PATH];
    assert_eq!(completions["requests"], 4);
    assert_eq!(completions["body_bytes"], sent_bytes, "{counters}");
    assert_eq!(
        completions["body_bytes"].as_u64(),
        Some(fake.body_bytes(COMPLETIONS_PATH))
    );
    assert_eq!(counters["/__fake/requests"]["requests"], 1);
    assert_eq!(counters["other"]["requests"], 0);

    fake.clear_requests();
    assert!(fake.requests().is_empty());
    assert_eq!(fake.count(COMPLETIONS_PATH), 0);
}
