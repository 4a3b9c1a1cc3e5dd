//! Tests of every injectable fault: each one must look on the wire like the recorded
//! fixture of the failure it imitates, and must not be remembered as a turn.

use std::time::Duration;

use serde_json::Value;

use super::{TOKEN, answer_of, body, client, complete, events, fake, new_chat};
use crate::{COMPLETIONS_PATH, FakeUpstream};

/// Sends `content` (with a marker) in a fresh chat and returns the response.
async fn with_marker(fake: &FakeUpstream, fault: &str) -> reqwest::Response {
    let chat = new_chat(fake).await;
    complete(
        fake,
        &chat,
        &body(&chat, None, &format!("hi [[fake:{fault}]]")),
    )
    .await
}

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path).unwrap()
}

#[tokio::test]
async fn fake_json_and_http_faults_match_the_fixtures() {
    let fake = fake().await;
    let cases = [
        (
            "ratelimit",
            200,
            "application/json",
            Some("error-ratelimited.json"),
        ),
        (
            "bad-request",
            200,
            "application/json",
            Some("error-bad-request.json"),
        ),
        (
            "waf",
            200,
            "text/html; charset=utf-8",
            Some("waf-captcha.html"),
        ),
        (
            "waf-json",
            200,
            "application/json",
            Some("waf-fail-sys-user-validate.json"),
        ),
        (
            "ratelimit-stream",
            200,
            "text/event-stream; charset=utf-8",
            Some("stream-error-ratelimit.sse"),
        ),
        ("auth", 401, "text/plain; charset=utf-8", None),
        ("500", 500, "text/plain; charset=utf-8", None),
        ("http429", 429, "application/json", None),
    ];
    for (fault, status, content_type, file) in cases {
        let response = with_marker(&fake, fault).await;
        assert_eq!(response.status(), status, "{fault}");
        assert_eq!(response.headers()["content-type"], content_type, "{fault}");
        let retry_after = response.headers().get("retry-after").cloned();
        let text = response.text().await.unwrap();
        if let Some(file) = file {
            assert_eq!(text, fixture(file), "{fault}");
        }
        match fault {
            "auth" => assert_eq!(text, "unauthorized"),
            "http429" => {
                assert_eq!(retry_after.unwrap(), "7");
                let json: Value = serde_json::from_str(&text).unwrap();
                assert_eq!(json["data"]["code"], "Too_Many_Requests");
            }
            _ => {}
        }
    }
    assert_eq!(fake.chat_count(), 8);
}

#[tokio::test]
async fn fake_stream_faults_have_their_shapes() {
    let fake = fake().await;

    let text = with_marker(&fake, "stream-error")
        .await
        .text()
        .await
        .unwrap();
    let list = events(&text);
    assert_eq!(list.len(), 2);
    assert!(list[0]["response.created"].is_object());
    assert_eq!(list[1]["error"]["code"], "Too_Many_Requests");
    assert_eq!(
        list[1]["response_id"],
        list[0]["response.created"]["response_id"]
    );
    assert!(text.contains("data: {\"error\": {\"code\": \"Too_Many_Requests\", \"details\": \""));

    let text = with_marker(&fake, "auth-stream")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(events(&text)[1]["error"]["code"], "unauthorized");

    let text = with_marker(&fake, "empty").await.text().await.unwrap();
    assert_eq!(events(&text).len(), 1);
    assert!(text.ends_with("\"response_index\": \"0\"}} \n\n"));

    let text = with_marker(&fake, "done-only").await.text().await.unwrap();
    assert_eq!(text, "data: [DONE]\n\n");

    let text = with_marker(&fake, "truncate").await.text().await.unwrap();
    assert_eq!(answer_of(&text), "You said:");
    assert!(!text.contains("finished"));

    let mut disconnected = with_marker(&fake, "disconnect").await;
    let mut received = Vec::new();
    let outcome = loop {
        match disconnected.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
    };
    assert!(outcome.is_err(), "the body must fail, not end cleanly");
    let received = String::from_utf8(received).unwrap();
    assert_eq!(answer_of(&received), "You said:");

    let text = with_marker(&fake, "keepalive").await.text().await.unwrap();
    let keepalives = events(&text)
        .iter()
        .filter(|e| e["response.info"]["action"] == "keep_alive")
        .count();
    assert_eq!(keepalives, 4, "one before each of the four answer chunks");
    assert_eq!(answer_of(&text), "You said: hi [[fake:keepalive]]");
}

#[tokio::test]
async fn fake_faults_are_not_remembered_as_turns() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let text = complete(
        &fake,
        &chat,
        &body(&chat, None, "my name is Eve [[fake:empty]]"),
    )
    .await
    .text()
    .await
    .unwrap();
    let rid = events(&text)[0]["response.created"]["response_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let reply: Value = complete(&fake, &chat, &body(&chat, Some(&rid), "what is my name"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(reply["data"]["code"], "Not_Found");
}

#[tokio::test]
async fn fake_flaky_fails_once_per_content_then_answers() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let request = body(&chat, None, "retry me [[fake:flaky]]");
    assert_eq!(complete(&fake, &chat, &request).await.status(), 500);
    let text = complete(&fake, &chat, &request).await.text().await.unwrap();
    assert_eq!(answer_of(&text), "You said: retry me [[fake:flaky]]");
    let other = body(&chat, None, "another [[fake:flaky]]");
    assert_eq!(complete(&fake, &chat, &other).await.status(), 500);
}

#[tokio::test]
async fn fake_header_selects_faults_and_unknown_names_are_rejected() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let response = client()
        .post(format!("{}{COMPLETIONS_PATH}", fake.url()))
        .query(&[("chat_id", chat.as_str())])
        .bearer_auth(TOKEN)
        .header("x-fake-fault", "waf")
        .json(&body(&chat, None, "hi"))
        .send()
        .await
        .unwrap();
    assert!(response.text().await.unwrap().contains("aliyun_waf_aa"));
    let typo: Value = with_marker(&fake, "ratelimitt").await.json().await.unwrap();
    assert_eq!(typo["data"]["code"], "Bad_Request");
}

#[tokio::test]
async fn fake_slow_hang_and_hang_after_first_end_at_shutdown() {
    let fake = fake().await;
    let started = std::time::Instant::now();
    let text = with_marker(&fake, "slow=40").await.text().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(3 * 40));
    assert_eq!(answer_of(&text), "You said: hi [[fake:slow=40]]");

    let hang = tokio::time::timeout(Duration::from_millis(200), with_marker(&fake, "hang")).await;
    assert!(hang.is_err(), "no headers while hanging");

    let mut after_first = with_marker(&fake, "hang-after-first").await;
    let first = after_first.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: {\"response.created\""));
    let next = tokio::time::timeout(Duration::from_millis(200), after_first.chunk()).await;
    assert!(next.is_err(), "silence after response.created");

    // A hanging request in flight must not keep the server from stopping.
    let chat = new_chat(&fake).await;
    let hanging = {
        let request = body(&chat, None, "[[fake:hang]]");
        let url = format!("{}{COMPLETIONS_PATH}?chat_id={chat}", fake.url());
        tokio::spawn(async move {
            client()
                .post(url)
                .bearer_auth(TOKEN)
                .json(&request)
                .send()
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    tokio::time::timeout(Duration::from_secs(5), fake.shutdown())
        .await
        .expect("shutdown finishes");
    let outcome = tokio::time::timeout(Duration::from_secs(5), hanging)
        .await
        .expect("hang ends");
    let ended = match outcome {
        Ok(Ok(response)) => response.text().await.is_err(),
        Ok(Err(_)) => true,
        Err(_) => false,
    };
    assert!(ended, "the hanging request fails once the fake stops");
}

/// Reads up to `limit` bytes of `response` (the endless faults never end by themselves).
async fn read_up_to(response: &mut reqwest::Response, limit: usize) -> Vec<u8> {
    let mut received = Vec::new();
    while received.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => received.extend_from_slice(&chunk),
            _ => break,
        }
    }
    received
}

#[tokio::test]
async fn fake_auth_echo_repeats_the_credentials_it_was_sent() {
    let fake = fake().await;
    let chat = new_chat(&fake).await;
    let response = client()
        .post(format!("{}{COMPLETIONS_PATH}", fake.url()))
        .query(&[("chat_id", chat.as_str())])
        .bearer_auth(TOKEN)
        .header("cookie", "cna=abc123; token=eyJsecret")
        .json(&body(&chat, None, "hi [[fake:auth-echo]]"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.text().await.unwrap(),
        format!("unauthorized: you sent cookie=cna=abc123; token=eyJsecret; token={TOKEN}")
    );
}

#[tokio::test]
async fn fake_endless_faults_never_finish_an_answer() {
    let fake = fake().await;

    let mut answer = with_marker(&fake, "endless-answer").await;
    let text = String::from_utf8(read_up_to(&mut answer, 1024 * 1024).await).unwrap();
    assert!(text.len() >= 1024 * 1024);
    let whole: String = text[..text.rfind("\n\n").unwrap() + 2].to_owned();
    assert!(answer_of(&whole).len() > 512 * 1024, "well-formed deltas");
    assert!(!text.contains("finished"));

    let mut lines = with_marker(&fake, "endless-lines").await;
    let text = String::from_utf8(read_up_to(&mut lines, 512 * 1024).await).unwrap();
    let after_created = &text[text.find("\n\n").unwrap() + 2..];
    assert!(after_created.starts_with("data: xxx"));
    assert!(!after_created.contains("\n\n"), "no event ever completes");

    let mut json = with_marker(&fake, "endless-json").await;
    assert_eq!(json.headers()["content-type"], "application/json");
    let text = read_up_to(&mut json, 512 * 1024).await;
    assert!(text.starts_with(b"{\"success\": true, \"data\": \"xxx"));
    assert!(text.len() >= 512 * 1024);
}

#[tokio::test]
async fn fake_drip_sends_bytes_that_never_complete_an_event() {
    let fake = fake().await;
    let mut drip = with_marker(&fake, "drip").await;
    let first = drip.chunk().await.unwrap().unwrap();
    assert!(first.starts_with(b"data: {\"response.created\""));
    let started = std::time::Instant::now();
    let mut rest = Vec::new();
    while started.elapsed() < Duration::from_millis(450) {
        if let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_millis(150), drip.chunk()).await
        {
            rest.extend_from_slice(&chunk);
        }
    }
    assert!(rest.starts_with(b"data: {"), "{rest:?}");
    assert!(rest.len() >= 9, "a byte every 100 ms: {rest:?}");
    assert!(!rest.contains(&b'\n'));
}

#[tokio::test]
async fn fake_model_lists_fail_as_told_and_recover() {
    let fake = fake().await;
    let get = |path: &'static str| {
        let url = format!("{}{path}", fake.url());
        async move { client().get(url).send().await.unwrap() }
    };
    fake.set_models_fault(Some(crate::ModelsFault::ServerError));
    assert_eq!(get("/api/v2/models/").await.status(), 500);
    assert_eq!(get("/api/models").await.status(), 500);

    fake.set_models_fault(Some(crate::ModelsFault::Hang));
    let hang = tokio::time::timeout(Duration::from_millis(200), get("/api/v2/models/")).await;
    assert!(hang.is_err(), "no headers while hanging");

    fake.set_models_fault(Some(crate::ModelsFault::Endless));
    let mut endless = get("/api/models").await;
    assert_eq!(endless.headers()["content-type"], "application/json");
    assert!(read_up_to(&mut endless, 256 * 1024).await.len() >= 256 * 1024);

    fake.set_models_fault(None);
    let list: Value = get("/api/v2/models/").await.json().await.unwrap();
    assert_eq!(list["success"], true);
    assert_eq!(fake.count("/api/v2/models/"), 3);
}
