//! Two `serve` replicas on one PostgreSQL database in front of one upstream: a conversation
//! whose turns alternate between them stays one upstream chat, and either replica's data
//! API shows all of it.

use qwen_fake::{FakeOptions, FakeUpstream};
use serde_json::{Value, json};

use super::{fresh_schema, server_url};
use crate::common::{TestServer, chat_id, parent_id, sent_content};

/// Two in-process `serve`s with their own pools on the database `url`, both talking to one
/// fake upstream (the second is handed the first's URL; its own fake stays unused).
async fn replicas(url: &str) -> (TestServer, TestServer) {
    let env = vec![("DATABASE_URL", url.to_owned())];
    let a = TestServer::start_with(crate::common::ServerOptions {
        env: env.clone(),
        ..Default::default()
    })
    .await;
    let unused = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let mut env_b = env;
    env_b.push(("QWEN_BASE_URL", a.fake.url()));
    let b = TestServer::start_on(unused, env_b, None).await;
    (a, b)
}

fn user(text: &str) -> Value {
    json!({"role": "user", "content": text})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_conversation_alternating_between_replicas_stays_one_upstream_chat() {
    let Some(server) = server_url("a_conversation_alternating_between_replicas") else {
        return;
    };
    let url = fresh_schema(&server).await;
    let (a, b) = replicas(&url).await;
    let mut history: Vec<Value> = vec![json!({"role": "system", "content": "Be brief."})];
    for turn in 0..6 {
        history.push(user(&format!("My name is Turn{turn}. What is mine?")));
        let replica = if turn % 2 == 0 { &a } else { &b };
        let (status, body) = replica
            .chat("qwen3-max", &Value::Array(history.clone()))
            .await;
        assert_eq!(status, 200, "turn {turn}: {body}");
        let answer = body["choices"][0]["message"]["content"]
            .as_str()
            .expect("content")
            .to_owned();
        history.push(json!({"role": "assistant", "content": answer}));
    }

    // The upstream saw one chat, one message per turn, each turn continuing the last.
    let completions = a.fake.completions();
    assert_eq!(completions.len(), 6);
    assert_eq!(a.fake.chat_count(), 1, "one upstream chat");
    let chat = chat_id(&completions[0]);
    assert!(completions.iter().all(|c| chat_id(c) == chat));
    assert_eq!(parent_id(&completions[0]), None);
    for (turn, completion) in completions.iter().enumerate().skip(1) {
        let sent = sent_content(completion);
        assert!(sent.contains(&format!("Turn{turn}")), "turn {turn}: {sent}");
        assert!(
            !sent.contains("Turn0"),
            "turn {turn} resent the history instead of continuing: {sent}"
        );
        assert!(parent_id(completion).is_some(), "turn {turn} has no parent");
    }

    // Either replica lists the whole conversation.
    for replica in [&a, &b] {
        let sessions: Value = replica.get("/v1/sessions").await.json().await.unwrap();
        let data = sessions["data"].as_array().expect("sessions");
        assert_eq!(data.len(), 1, "{sessions}");
        assert_eq!(data[0]["turns"], 6, "{sessions}");
        let id = data[0]["id"].as_str().unwrap();
        let requests: Value = replica
            .get(&format!("/v1/sessions/{id}/requests"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(requests["data"].as_array().map(Vec::len), Some(6));
        let stats: Value = replica
            .get("/v1/responses/stats")
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(stats["statistics"]["total_requests"], 6, "{stats}");
    }
}

/// The same next turn sent to both replicas at once (a client retrying on another replica,
/// or a regenerate) continues the one chat from the same answer on both: two sibling
/// answers in one chat, never a second chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_turn_racing_on_two_replicas_continues_one_chat() {
    let Some(server) = server_url("the_same_turn_racing_on_two_replicas") else {
        return;
    };
    let url = fresh_schema(&server).await;
    let (a, b) = replicas(&url).await;
    let mut history = vec![user("My name is Racer.")];
    let (status, body) = a.chat("qwen3-max", &Value::Array(history.clone())).await;
    assert_eq!(status, 200, "{body}");
    history.push(json!({
        "role": "assistant",
        "content": body["choices"][0]["message"]["content"],
    }));
    history.push(user("What is my name?"));
    let messages = Value::Array(history);
    let (one, two) = tokio::join!(
        a.chat("qwen3-max", &messages),
        b.chat("qwen3-max", &messages)
    );
    for (status, body) in [&one, &two] {
        assert_eq!(*status, 200, "{body}");
        let text = body["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(
            text.contains("Racer"),
            "the chat's context was lost: {text}"
        );
    }
    let completions = a.fake.completions();
    assert_eq!(completions.len(), 3);
    assert_eq!(a.fake.chat_count(), 1, "one upstream chat");
    assert_eq!(parent_id(&completions[1]), parent_id(&completions[2]));
    for completion in &completions[1..] {
        assert_eq!(sent_content(completion), "What is my name?");
    }
}

/// `GET /v1/events` on one replica tells of the exchanges another replica serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_replicas_event_stream_tells_of_the_other_replicas_exchanges() {
    use futures_util::StreamExt as _;
    let Some(server) = server_url("a_replicas_event_stream_tells_of_the_other") else {
        return;
    };
    let url = fresh_schema(&server).await;
    let (a, b) = replicas(&url).await;
    let resp = b.get("/v1/events").await;
    assert_eq!(resp.status(), 200);
    let mut body = resp.bytes_stream().boxed();
    let mut buffer = String::new();
    // B starts listening when its stream opens; an exchange committed before that is not
    // heard, so A serves chats until B tells of one of them.
    let mut sent = Vec::new();
    for attempt in 0..20 {
        let (status, reply) = a
            .chat("qwen3-max", &json!([user(&format!("event {attempt}"))]))
            .await;
        assert_eq!(status, 200, "{reply}");
        let requests: Value = a.get("/v1/requests?limit=1").await.json().await.unwrap();
        sent.push(requests["data"][0]["id"].as_str().unwrap().to_owned());
        let heard = tokio::time::timeout(std::time::Duration::from_millis(500), async {
            while let Some(chunk) = body.next().await {
                buffer.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
                if let Some(start) = buffer.find("event: exchange\ndata: ") {
                    let rest = &buffer[start + "event: exchange\ndata: ".len()..];
                    if let Some(end) = rest.find('\n') {
                        return Some(serde_json::from_str::<Value>(&rest[..end]).unwrap());
                    }
                }
            }
            None
        })
        .await;
        if let Ok(Some(event)) = heard {
            let id = event["id"].as_str().unwrap_or_default();
            assert!(sent.iter().any(|s| s == id), "{event} is none of {sent:?}");
            assert_eq!(event["status"], "ok", "{event}");
            return;
        }
    }
    panic!("replica B never told of an exchange replica A served");
}

/// Account state is shared: a rate limit replica A meets makes replica B send its new
/// conversations to the other account without trying the limited one, and a conversation
/// begun on one replica continues on the account that owns its chat on the other.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rate_limit_seen_by_one_replica_steers_the_other() {
    use crate::accounts::{ALICE, BOB, BOTH, fake_options, file_env, served_by, write_accounts};
    let Some(server) = server_url("a_rate_limit_seen_by_one_replica_steers_the_other") else {
        return;
    };
    let url = fresh_schema(&server).await;
    // Each replica has its own accounts file and token cache, and logs in by itself.
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut env_a = file_env(&write_accounts(dir_a.path(), BOTH));
    env_a.push(("DATABASE_URL", url.clone()));
    let a = TestServer::start_with(crate::common::ServerOptions {
        env: env_a,
        fake: fake_options(std::time::Duration::from_secs(900)),
        ..Default::default()
    })
    .await;
    let mut env_b = file_env(&write_accounts(dir_b.path(), BOTH));
    env_b.push(("DATABASE_URL", url.clone()));
    env_b.push(("QWEN_BASE_URL", a.fake.url()));
    let unused = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let b = TestServer::start_on(unused, env_b, None).await;

    // A conversation begun on A goes to Alice (the first of two unused accounts); its next
    // turn, on B, continues Alice's chat.
    let first = vec![user("My name is Ada.")];
    let (status, body) = a.chat("qwen3-max", &Value::Array(first.clone())).await;
    assert_eq!(status, 200, "{body}");
    let mut history = first;
    history.push(json!({
        "role": "assistant",
        "content": body["choices"][0]["message"]["content"],
    }));
    history.push(user("What is my name?"));
    let (status, body) = b.chat("qwen3-max", &Value::Array(history)).await;
    assert_eq!(status, 200, "{body}");
    let completions = a.fake.completions();
    assert_eq!(chat_id(&completions[0]), chat_id(&completions[1]));
    assert_eq!(
        a.fake.account_of_chat(&chat_id(&completions[1])).as_deref(),
        Some(ALICE.0),
        "B continued the chat on the account that owns it"
    );

    // One more new conversation on each replica (each goes to Bob, the account it used
    // least recently), so Alice is the one each would pick next.
    for replica in [&a, &b] {
        let (status, body) = replica.chat("qwen3-max", &json!([user("warm up")])).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            served_by(replica)
                .await
                .last()
                .cloned()
                .flatten()
                .as_deref(),
            Some("bob")
        );
    }

    // Alice is rate-limited; A meets it on a new conversation and moves to Bob.
    a.fake.set_account_limit(
        ALICE.0,
        Some(qwen_fake::AccountLimit::Http429 {
            retry_after_secs: 600,
        }),
    );
    let (status, body) = a.chat("qwen3-max", &json!([user("fresh on A")])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        served_by(&a).await.last().cloned().flatten().as_deref(),
        Some("bob")
    );

    let shared = super::query(&url, "SELECT account FROM account_cooldowns").await;
    assert_eq!(shared.len(), 1, "A shared the cooldown");
    assert_eq!(shared[0].get::<_, String>(0), "alice");

    // B never met the limit, yet its new conversation goes straight to Bob: one new chat
    // upstream (B did not try Alice first), on Bob's account.
    let opened = a.fake.count("/api/v2/chats/new");
    let bob_before = a.fake.completions_by(BOB.0);
    let (status, body) = b.chat("qwen3-max", &json!([user("fresh on B")])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        a.fake.count("/api/v2/chats/new"),
        opened + 1,
        "B tried the rate-limited account first"
    );
    assert_eq!(a.fake.completions_by(BOB.0), bob_before + 1);
    let health: Value = b.get("/health").await.json().await.unwrap();
    let alice = health["checks"]["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|acc| acc["name"] == "alice")
        .cloned()
        .unwrap();
    assert_eq!(alice["status"], "cooling_down", "{alice}");
}
