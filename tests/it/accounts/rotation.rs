//! Several accounts: a rate-limited account cools down and its conversations move to
//! another one; the client sees a 429 (with the earliest `Retry-After`) only when every
//! account is unavailable; a single account behaves exactly as without accounts.

use std::time::Duration;

use qwen_fake::AccountLimit;
use serde_json::Value;

use super::*;

fn retry_after(resp: &reqwest::Response) -> Option<u64> {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn chat_raw(s: &TestServer, messages: &Value) -> reqwest::Response {
    s.post(
        "/v1/chat/completions",
        &serde_json::json!({"model": "qwen3-max", "messages": messages}),
    )
    .await
}

#[tokio::test]
async fn a_single_rate_limited_account_behaves_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve_accounts(dir.path(), Duration::from_secs(900), ONLY_ALICE).await;
    s.fake.set_account_limit(
        ALICE.0,
        Some(AccountLimit::Http429 {
            retry_after_secs: 30,
        }),
    );
    for attempt in 1..=2 {
        let resp = chat_raw(&s, &msgs(&[("user", "hi")])).await;
        assert_eq!(resp.status(), 429, "attempt {attempt}");
        assert_eq!(retry_after(&resp), Some(30), "attempt {attempt}");
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["error"]["code"], "rate_limited");
        // Cooling down or not, a lone account's requests still go upstream.
        assert_eq!(s.fake.count("/api/v2/chats/new"), attempt);
    }
    let alice = health_of(&s, "alice").await;
    assert_eq!(alice["status"], "cooling_down", "{alice}");
    assert!(alice["cooldown_until"].is_string(), "{alice}");
    s.fake.set_account_limit(ALICE.0, None);
    assert_eq!(s.answer(&msgs(&[("user", "hi")])).await, "You said: hi");
    assert_eq!(s.fake.count("/api/v2/chats/new"), 3);
}

#[tokio::test]
async fn with_one_account_limited_new_and_continued_conversations_go_to_the_other() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve_accounts(dir.path(), Duration::from_secs(900), BOTH).await;
    // A conversation begun on Alice (the least recently used of two unused accounts is the
    // first of the file).
    let first = msgs(&[("user", "my name is Grace")]);
    let (status, body) = s.chat("qwen3-max", &first).await;
    assert_eq!(status, 200, "{body}");
    let answer = body["choices"][0]["message"]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(served_by(&s).await, [Some("alice".to_owned())]);
    let alice_chat = chat_id(&s.completions()[0]);
    assert_eq!(
        s.fake.account_of_chat(&alice_chat).as_deref(),
        Some(ALICE.0)
    );

    // Alice hits her daily quota (`RateLimited` with `num` hours).
    s.fake
        .set_account_limit(ALICE.0, Some(AccountLimit::Quota { hours: 2 }));
    let next = msgs(&[
        ("user", "my name is Grace"),
        ("assistant", answer.as_str()),
        ("user", "what is my name?"),
    ]);
    // The continued conversation moves to Bob in a new chat, with its history.
    assert_eq!(s.answer(&next).await, "Your name is Grace.");
    let moved = s.completions().pop().unwrap();
    let bob_chat = chat_id(&moved);
    assert_ne!(bob_chat, alice_chat);
    assert_eq!(s.fake.account_of_chat(&bob_chat).as_deref(), Some(BOB.0));
    // A new conversation goes to Bob too, without trying Alice again.
    let before = s.fake.completions_by(ALICE.0);
    assert_eq!(
        s.answer(&msgs(&[("user", "fresh")])).await,
        "You said: fresh"
    );
    assert_eq!(s.fake.completions_by(ALICE.0), before);
    let served = served_by(&s).await;
    assert_eq!(
        served[1..],
        [Some("bob".to_owned()), Some("bob".to_owned())]
    );
    let alice = health_of(&s, "alice").await;
    assert_eq!(alice["status"], "cooling_down", "{alice}");
    assert_eq!(health_of(&s, "bob").await["status"], "ok");

    // Bob is limited too: now the client gets the 429, with Alice's earlier end (Bob's
    // wait is 3 hours, Alice's 2).
    s.fake.set_account_limit(
        BOB.0,
        Some(AccountLimit::Http429 {
            retry_after_secs: 3 * 3600,
        }),
    );
    let resp = chat_raw(&s, &msgs(&[("user", "anyone?")])).await;
    assert_eq!(resp.status(), 429);
    let wait = retry_after(&resp).expect("Retry-After");
    assert!((7000..=7200).contains(&wait), "earliest wait: {wait}");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn a_rate_limit_met_before_the_first_byte_is_retried_on_another_account() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve_accounts(dir.path(), Duration::from_secs(900), BOTH).await;
    s.fake.set_account_limit(
        ALICE.0,
        Some(AccountLimit::Http429 {
            retry_after_secs: 120,
        }),
    );
    // Alice is tried first, refused, and the same request is answered by Bob.
    assert_eq!(
        s.answer(&msgs(&[("user", "hello")])).await,
        "You said: hello"
    );
    assert_eq!(s.fake.count("/api/v2/chats/new"), 2);
    assert_eq!(s.fake.completions_by(BOB.0), 1);
    assert_eq!(served_by(&s).await, [Some("bob".to_owned())]);
    let metrics = s.get("/metrics").await.text().await.unwrap();
    assert!(
        metrics.contains("qwen_account_cooldowns_total{account=\"alice\"}"),
        "{metrics}"
    );
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("qwen_api_calls_total") && l.contains("account=\"bob\"")),
        "{metrics}"
    );
}
