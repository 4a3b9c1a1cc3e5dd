//! The conversation engine through `serve` (design.md §4): resent histories continue the
//! upstream chat with only the new message; anything else opens a new chat with the history
//! folded in, and the answer keeps its context either way.

use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

const NEW_CHAT: &str = "/api/v2/chats/new";

#[tokio::test]
async fn three_turns_continue_one_upstream_chat() {
    let s = TestServer::start().await;
    let mut history = vec![("user", "Hi, my name is Alice.".to_owned())];
    let as_msgs = |h: &Vec<(&str, String)>| {
        Value::Array(
            h.iter()
                .map(|(r, c)| json!({"role": r, "content": c}))
                .collect(),
        )
    };
    let a1 = s.answer(&as_msgs(&history)).await;
    history.push(("assistant", a1));
    history.push(("user", "I like green tea.".to_owned()));
    let a2 = s.answer(&as_msgs(&history)).await;
    history.push(("assistant", a2));
    history.push(("user", "What is my name?".to_owned()));
    let a3 = s.answer(&as_msgs(&history)).await;
    assert_eq!(a3, "Your name is Alice.");

    assert_eq!(s.fake.count(NEW_CHAT), 1);
    let sent = s.completions();
    assert_eq!(sent.len(), 3);
    let chat = chat_id(&sent[0]);
    assert!(sent.iter().all(|r| chat_id(r) == chat));
    assert_eq!(sent_content(&sent[0]), "Hi, my name is Alice.");
    assert_eq!(sent_content(&sent[1]), "I like green tea.");
    assert_eq!(sent_content(&sent[2]), "What is my name?");
    assert_eq!(parent_id(&sent[0]), None);
    let p2 = parent_id(&sent[1]).expect("turn 2 has a parent");
    let p3 = parent_id(&sent[2]).expect("turn 3 has a parent");
    assert_ne!(p2, p3);

    // The parents are exactly the previous answers' upstream response ids.
    let responses: Value = s.get("/v1/responses?limit=10").await.json().await.unwrap();
    let mut ids: Vec<String> = responses["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["response_id"].as_str().map(str::to_owned))
        .collect();
    ids.reverse(); // oldest first
    assert_eq!(ids.len(), 3);
    assert_eq!(p2, ids[0]);
    assert_eq!(p3, ids[1]);
}

#[tokio::test]
async fn regenerate_makes_a_sibling_from_the_same_parent() {
    let s = TestServer::start().await;
    let a1 = s.answer(&msgs(&[("user", "my name is Carol")])).await;
    let turn2 = msgs(&[
        ("user", "my name is Carol"),
        ("assistant", &a1),
        ("user", "what is my name?"),
    ]);
    let first = s.answer(&turn2).await;
    let again = s.answer(&turn2).await;
    assert_eq!(first, "Your name is Carol.");
    assert_eq!(again, first);
    assert_eq!(s.fake.count(NEW_CHAT), 1);
    let sent = s.completions();
    assert_eq!(sent.len(), 3);
    assert_eq!(parent_id(&sent[1]), parent_id(&sent[2]));
    assert!(parent_id(&sent[1]).is_some());
    assert_eq!(sent_content(&sent[2]), "what is my name?");
}

#[tokio::test]
async fn edited_history_opens_a_new_chat_with_folded_context() {
    let s = TestServer::start().await;
    let a1 = s.answer(&msgs(&[("user", "my name is Dave")])).await;
    let _ = a1;
    let edited = msgs(&[
        ("user", "my name is Dave"),
        ("assistant", "an answer the upstream never gave"),
        ("user", "what is my name?"),
    ]);
    let answer = s.answer(&edited).await;
    assert_eq!(answer, "Your name is Dave.");
    assert_eq!(s.fake.count(NEW_CHAT), 2);
    let sent = s.completions();
    let last = sent.last().unwrap();
    assert_eq!(parent_id(last), None);
    assert_ne!(chat_id(last), chat_id(&sent[0]));
    let folded = sent_content(last);
    assert!(folded.contains("my name is Dave"), "{folded}");
    assert!(
        folded.contains("an answer the upstream never gave"),
        "{folded}"
    );
    assert!(folded.contains("what is my name?"), "{folded}");
}

/// The engine looks up a history's newest answers first and the older ones only when none
/// of those is known: an edit five answers back still continues the chat from the last
/// answer before it, with the rest sent folded.
#[tokio::test]
async fn an_edit_far_back_continues_from_the_last_known_answer_before_it() {
    let s = TestServer::start().await;
    let mut history: Vec<(&str, String)> = vec![("user", "my name is Erin".to_owned())];
    for n in 1..=2 {
        let answer = s.answer(&owned_msgs(&history)).await;
        history.push(("assistant", answer));
        history.push(("user", format!("question {n}")));
    }
    history.pop();
    // u0 a1 u1 a2 are what the upstream saw; five answers it never gave follow.
    for n in 1..=5 {
        history.push(("user", format!("later question {n}")));
        history.push(("assistant", format!("invented answer {n}")));
    }
    history.push(("user", "what is my name?".to_owned()));
    let answer = s.answer(&owned_msgs(&history)).await;
    assert_eq!(answer, "Your name is Erin.");
    assert_eq!(s.fake.count(NEW_CHAT), 1, "the known prefix was not found");
    let sent = s.completions();
    assert_eq!(sent.len(), 3);
    assert_eq!(chat_id(&sent[2]), chat_id(&sent[0]));
    let responses: Value = s.get("/v1/responses?limit=10").await.json().await.unwrap();
    let second = responses["data"][1]["response_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(parent_id(&sent[2]).as_deref(), Some(second.as_str()));
    let folded = sent_content(&sent[2]);
    assert!(folded.contains("invented answer 5"), "{folded}");
    assert!(!folded.contains("my name is Erin"), "{folded}");
}

fn owned_msgs(history: &[(&str, String)]) -> Value {
    Value::Array(
        history
            .iter()
            .map(|(r, c)| json!({"role": r, "content": c}))
            .collect(),
    )
}

#[tokio::test]
async fn system_prompt_is_folded_into_the_first_message_and_a_change_starts_over() {
    let s = TestServer::start().await;
    let sys = "You are terse.";
    let a1 = s
        .answer(&msgs(&[("system", sys), ("user", "my name is Erin")]))
        .await;
    let first = sent_content(&s.completions()[0]);
    assert!(
        first.contains(sys) && first.contains("my name is Erin"),
        "{first}"
    );

    let same = msgs(&[
        ("system", sys),
        ("user", "my name is Erin"),
        ("assistant", &a1),
        ("user", "what is my name?"),
    ]);
    assert_eq!(s.answer(&same).await, "Your name is Erin.");
    assert_eq!(
        sent_content(s.completions().last().unwrap()),
        "what is my name?"
    );
    assert_eq!(s.fake.count(NEW_CHAT), 1);

    let changed = msgs(&[
        ("system", "You are verbose."),
        ("user", "my name is Erin"),
        ("assistant", &a1),
        ("user", "what is my name?"),
    ]);
    assert_eq!(s.answer(&changed).await, "Your name is Erin.");
    assert_eq!(s.fake.count(NEW_CHAT), 2);
}

#[tokio::test]
async fn restart_between_turns_continues_the_same_chat() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("restart.db");
    let s = TestServer::start_with(ServerOptions {
        db_path: Some(db.clone()),
        ..Default::default()
    })
    .await;
    let a1 = s.answer(&msgs(&[("user", "my name is Frank")])).await;
    let h2 = [
        ("user", "my name is Frank"),
        ("assistant", a1.as_str()),
        ("user", "nice weather"),
    ];
    let a2 = s.answer(&msgs(&h2)).await;
    let (fake, result, _) = s.stop().await;
    result.unwrap();

    let s = TestServer::start_on(fake, vec![], Some(db)).await;
    let h3 = msgs(&[
        ("user", "my name is Frank"),
        ("assistant", a1.as_str()),
        ("user", "nice weather"),
        ("assistant", a2.as_str()),
        ("user", "what is my name?"),
    ]);
    assert_eq!(s.answer(&h3).await, "Your name is Frank.");
    let sent = s.completions();
    assert_eq!(sent.len(), 3);
    assert_eq!(s.fake.count(NEW_CHAT), 1);
    assert_eq!(chat_id(&sent[2]), chat_id(&sent[0]));
    assert_eq!(sent_content(&sent[2]), "what is my name?");
}

#[tokio::test]
async fn expired_conversation_starts_a_new_folded_chat() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("SESSION_TIMEOUT", "50".into())],
        ..Default::default()
    })
    .await;
    let a1 = s.answer(&msgs(&[("user", "my name is Grace")])).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let h = msgs(&[
        ("user", "my name is Grace"),
        ("assistant", &a1),
        ("user", "what is my name?"),
    ]);
    assert_eq!(s.answer(&h).await, "Your name is Grace.");
    assert_eq!(s.fake.count(NEW_CHAT), 2);
    let last = s.completions().pop().unwrap();
    assert_eq!(parent_id(&last), None);
    assert!(sent_content(&last).contains("my name is Grace"));
}

#[tokio::test]
async fn ten_parallel_continuations_of_one_prefix() {
    let s = TestServer::start().await;
    let a1 = s.answer(&msgs(&[("user", "my name is Heidi")])).await;
    let h = msgs(&[
        ("user", "my name is Heidi"),
        ("assistant", &a1),
        ("user", "what is my name?"),
    ]);
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let http = s.http.clone();
        let url = format!("{}/v1/chat/completions", s.url);
        let body = json!({"model": "qwen3-max", "messages": h.clone()});
        tasks.push(tokio::spawn(async move {
            let resp = http.post(url).json(&body).send().await.unwrap();
            assert_eq!(resp.status(), 200);
            let v: Value = resp.json().await.unwrap();
            v["choices"][0]["message"]["content"]
                .as_str()
                .unwrap()
                .to_owned()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), "Your name is Heidi.");
    }
    assert_eq!(s.fake.count(NEW_CHAT), 1);
    let sent = s.completions();
    assert_eq!(sent.len(), 11);
    let parent = parent_id(&sent[1]);
    assert!(
        sent[1..]
            .iter()
            .all(|r| parent_id(r) == parent && sent_content(r) == "what is my name?")
    );
}

#[tokio::test]
async fn conversations_sharing_a_first_message_stay_separate_once_they_diverge() {
    let s = TestServer::start().await;
    let a = s.answer(&msgs(&[("user", "my name is Ivan")])).await;
    let left = s
        .answer(&msgs(&[
            ("user", "my name is Ivan"),
            ("assistant", &a),
            ("user", "left path"),
        ]))
        .await;
    let right = s
        .answer(&msgs(&[
            ("user", "my name is Ivan"),
            ("assistant", &a),
            ("user", "right path"),
        ]))
        .await;
    assert_eq!(left, "You said: left path");
    assert_eq!(right, "You said: right path");
    let l2 = s
        .answer(&msgs(&[
            ("user", "my name is Ivan"),
            ("assistant", &a),
            ("user", "left path"),
            ("assistant", &left),
            ("user", "what did I say?"),
        ]))
        .await;
    assert_eq!(l2, "You said: what did I say?");
    let sent = s.completions();
    // the continuation of the left branch hangs off the left answer, not the right one
    assert_ne!(parent_id(&sent[3]), parent_id(&sent[2]));
    assert_ne!(parent_id(&sent[3]), parent_id(&sent[1]));
}

#[tokio::test]
async fn persistence_off_still_continues_conversations() {
    let s = TestServer::start_with(ServerOptions {
        env: vec![("ENABLE_PERSISTENCE", "false".into())],
        ..Default::default()
    })
    .await;
    let a1 = s.answer(&msgs(&[("user", "my name is Judy")])).await;
    let h = msgs(&[
        ("user", "my name is Judy"),
        ("assistant", &a1),
        ("user", "what is my name?"),
    ]);
    assert_eq!(s.answer(&h).await, "Your name is Judy.");
    assert_eq!(s.fake.count(NEW_CHAT), 1);
    assert!(
        !s.db_path.exists(),
        "persistence off must not create the database file"
    );
}

#[tokio::test]
async fn a_chat_the_upstream_forgot_is_reopened_with_the_folded_history() {
    let s = TestServer::start().await;
    let a1 = s.answer(&msgs(&[("user", "my name is Kim")])).await;
    let chat = chat_id(&s.completions()[0]);
    // Delete the chat upstream behind qwenctl's back.
    let resp = reqwest::Client::new()
        .delete(format!("{}/api/v2/chats/{chat}", s.fake.url()))
        .bearer_auth(JWT)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success());
    let h = msgs(&[
        ("user", "my name is Kim"),
        ("assistant", &a1),
        ("user", "what is my name?"),
    ]);
    assert_eq!(s.answer(&h).await, "Your name is Kim.");
    assert_eq!(s.fake.count(NEW_CHAT), 2);
    let sent = s.completions();
    // the failed continuation, then the fresh chat with everything folded in
    assert_eq!(chat_id(&sent[1]), chat);
    let last = sent.last().unwrap();
    assert_ne!(chat_id(last), chat);
    assert!(sent_content(last).contains("my name is Kim"));
}

/// Without a remembered prefix, even a long history is folded whole into one message: the
/// answer keeps all of its context, at the price of one large upstream message (the upstream
/// may refuse it as too long, which the client sees as a 502 `upstream_error`).
#[tokio::test]
async fn a_long_unknown_history_is_folded_whole_into_one_message() {
    let s = TestServer::start().await;
    let mut pairs: Vec<(String, String)> = vec![("user".into(), "my name is Liam".into())];
    for i in 0..99 {
        pairs.push(("assistant".into(), format!("answer number {i}")));
        pairs.push(("user".into(), format!("question number {i}")));
    }
    pairs.push(("assistant".into(), "last answer".into()));
    pairs.push(("user".into(), "what is my name?".into()));
    let history = Value::Array(
        pairs
            .iter()
            .map(|(r, c)| json!({"role": r, "content": c}))
            .collect(),
    );
    assert_eq!(s.answer(&history).await, "Your name is Liam.");
    let sent = s.completions();
    assert_eq!(sent.len(), 1);
    let folded = sent_content(&sent[0]);
    assert!(folded.contains("answer number 0") && folded.contains("question number 98"));
    assert!(
        folded.ends_with("what is my name?"),
        "{}",
        &folded[folded.len() - 80..]
    );
}
