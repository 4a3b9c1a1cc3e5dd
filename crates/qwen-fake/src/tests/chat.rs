//! Conversation tests of the fake: parent chaining, branching, folded histories, chat
//! deletion, and the strict request validation that mirrors the real service.

use serde_json::{Value, json};

use super::{TOKEN, answer_of, body, client, complete, fake, new_chat, response_id};
use crate::{FakeOptions, FakeUpstream, Limits};

async fn turn(
    fake: &FakeUpstream,
    chat: &str,
    parent: Option<&str>,
    content: &str,
) -> (String, String) {
    let text = complete(fake, chat, &body(chat, parent, content))
        .await
        .text()
        .await
        .unwrap();
    (answer_of(&text), response_id(&text))
}

#[tokio::test]
async fn fake_keeps_context_along_the_parent_chain() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let (first, r1) = turn(&fake, &chat, None, "Hi, my name is Alice.").await;
    assert_eq!(first, "You said: Hi, my name is Alice.");
    let (second, r2) = turn(&fake, &chat, Some(&r1), "What is my name?").await;
    assert_eq!(second, "Your name is Alice.");
    assert_ne!(r1, r2);
    // A sibling branch from the root knows nothing; "" counts as no parent.
    let (root, _) = turn(&fake, &chat, Some(""), "what is my name").await;
    assert_eq!(root, "I don't know your name yet.");
    // Folded history in one message works too.
    let (folded, _) = turn(
        &fake,
        &chat,
        None,
        "user: my name is Bob\nuser: What is my name?",
    )
    .await;
    assert_eq!(folded, "Your name is Bob.");

    let detail: Value = client()
        .get(format!("{}/api/v2/chats/{chat}", fake.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        detail["data"]["chat"]["messages"].as_array().map(Vec::len),
        Some(8)
    );
    assert_eq!(fake.completions().len(), 4);
    assert_eq!(fake.completions()[1].body["parent_id"], r1.as_str());
}

#[tokio::test]
async fn fake_rejects_what_the_real_service_rejects() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let other = new_chat(&fake).await;
    let (_, foreign) = turn(&fake, &other, None, "hi").await;
    let code = |v: Value| {
        (
            v["success"].clone(),
            v["data"]["code"].clone(),
            v["data"]["details"].clone(),
        )
    };

    let wrong_parent: Value = complete(&fake, &chat, &body(&chat, Some(&foreign), "x"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        code(wrong_parent),
        (
            json!(false),
            json!("Not_Found"),
            json!("parent message not found")
        )
    );

    let mut two = body(&chat, None, "x");
    let extra = two["messages"][0].clone();
    two["messages"].as_array_mut().unwrap().push(extra);
    let two: Value = complete(&fake, &chat, &two).await.json().await.unwrap();
    assert_eq!(
        code(two),
        (
            json!(false),
            json!("Bad_Request"),
            json!("only one message is accepted")
        )
    );

    let mismatch: Value = complete(&fake, &other, &body(&chat, None, "x"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(code(mismatch).1, "Not_Found");
    let unknown_chat = uuid::Uuid::new_v4().to_string();
    let unknown: Value = complete(&fake, &unknown_chat, &body(&unknown_chat, None, "x"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(code(unknown).2, "chat not found");

    let mut assistant = body(&chat, None, "x");
    assistant["messages"][0]["role"] = json!("assistant");
    let assistant: Value = complete(&fake, &chat, &assistant)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(code(assistant).1, "Bad_Request");

    let deleted: Value = client()
        .delete(format!("{}/api/v2/chats/{other}", fake.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(deleted["data"]["status"], true);
    let gone: Value = complete(&fake, &other, &body(&other, None, "x"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(code(gone).1, "Not_Found");
    assert_eq!(fake.chat_count(), 1);
}

#[tokio::test]
async fn fake_forgets_the_least_recently_used_chat_like_an_unknown_one() {
    let fake = FakeUpstream::start(FakeOptions {
        limits: Limits {
            chats: 2,
            ..Limits::TESTS
        },
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let first = new_chat(&fake).await;
    let second = new_chat(&fake).await;
    let (_, r1) = turn(&fake, &first, None, "my name is Ada").await;
    // `first` was used last, so the third chat pushes `second` out.
    let third = new_chat(&fake).await;
    assert_eq!(fake.chat_count(), 2);

    let forgotten: Value = complete(&fake, &second, &body(&second, None, "hello?"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(forgotten["success"], false);
    assert_eq!(forgotten["data"]["code"], "Not_Found");
    assert_eq!(forgotten["data"]["details"], "chat not found");
    let detail: Value = client()
        .get(format!("{}/api/v2/chats/{second}", fake.url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(detail["data"]["code"], "Not_Found");

    // The kept chats still answer with their context.
    let (answer, _) = turn(&fake, &first, Some(&r1), "What is my name?").await;
    assert_eq!(answer, "Your name is Ada.");
    let (answer, _) = turn(&fake, &third, None, "hi").await;
    assert_eq!(answer, "You said: hi");
}
