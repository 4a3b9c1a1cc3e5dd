//! Bad input on the HTTP side: a wrong password, an unreachable upstream at login, and a
//! malformed accounts file each give a classified error, and never lose the other accounts.

use std::time::Duration;

use serde_json::Value;

use super::*;

#[tokio::test]
async fn a_wrong_password_is_a_502_naming_the_account_and_the_other_account_answers() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = "not-alices-password";
    let accounts = [("alice", ALICE.0, wrong), ("bob", BOB.0, BOB.1)];
    let s = serve_accounts(dir.path(), Duration::from_secs(900), &accounts).await;
    // Alice is tried first, refused, and Bob answers: her failure loses nobody else.
    assert_eq!(s.answer(&msgs(&[("user", "hi")])).await, "You said: hi");
    assert_eq!(s.fake.signins(ALICE.0), 0);
    assert_eq!(s.fake.signins(BOB.0), 1);
    let alice = health_of(&s, "alice").await;
    assert_eq!(alice["status"], "auth_failed", "{alice}");
    assert_eq!(health_of(&s, "bob").await["status"], "ok");
    // Later requests leave Alice alone instead of trying her password again.
    assert_eq!(
        s.answer(&msgs(&[("user", "again")])).await,
        "You said: again"
    );
    let signin_attempts = s
        .fake
        .requests()
        .iter()
        .filter(|r| r.path == "/api/v1/auths/signin" && r.body["email"] == ALICE.0)
        .count();
    assert_eq!(signin_attempts, 1);
}

#[tokio::test]
async fn a_lone_account_with_a_wrong_password_gets_a_classified_502() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = "not-alices-password";
    let s = serve_accounts(
        dir.path(),
        Duration::from_secs(900),
        &[("alice", ALICE.0, wrong)],
    )
    .await;
    for shape in ["/v1/chat/completions", "/v1/messages"] {
        let body = serde_json::json!({
            "model": "qwen3-max", "max_tokens": 10,
            "messages": [{"role": "user", "content": "hi"}],
        });
        let resp = s.post(shape, &body).await;
        assert_eq!(resp.status(), 502, "{shape}");
        let text = resp.text().await.unwrap();
        assert!(text.contains("alice"), "{shape}: {text}");
        assert!(!text.contains(wrong), "{shape}: {text}");
        let body: Value = serde_json::from_str(&text).unwrap();
        if shape == "/v1/messages" {
            assert_eq!(body["error"]["type"], "api_error", "{text}");
        } else {
            assert_eq!(body["error"]["code"], "upstream_auth_failed", "{text}");
        }
    }
    let health: Value = s.get("/health").await.json().await.unwrap();
    assert_eq!(health["checks"]["accounts"][0]["status"], "auth_failed");
    assert_eq!(health["checks"]["authentication"], "failed");
    assert_eq!(health["status"], "degraded");
}

#[tokio::test]
async fn an_unreachable_upstream_at_login_is_a_classified_502() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_accounts(dir.path(), ONLY_ALICE);
    let mut env = file_env(&path);
    env.push(("QWEN_BASE_URL", "http://127.0.0.1:9".into()));
    let s = TestServer::start_with(ServerOptions {
        env,
        ..ServerOptions::default()
    })
    .await;
    let (status, body) = s.chat("qwen3-max", &msgs(&[("user", "hi")])).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "upstream_error", "{body}");
    // A network failure says nothing against the account.
    assert_eq!(health_of(&s, "alice").await["status"], "ok");
}
