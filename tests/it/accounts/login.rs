//! Logging in, renewing before expiry, re-login after a refused token, one sign-in for many
//! waiting requests, and the token cache across a restart.

use std::time::Duration;

use qwen_fake::{COMPLETIONS_PATH, FakeUpstream};
use serde_json::json;

use super::*;

#[tokio::test]
async fn an_account_from_the_file_logs_in_and_answers() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve_accounts(dir.path(), Duration::from_secs(900), ONLY_ALICE).await;
    assert_eq!(
        s.answer(&msgs(&[("user", "hello")])).await,
        "You said: hello"
    );
    assert_eq!(s.fake.signins(ALICE.0), 1);
    assert_eq!(s.fake.completions_by(ALICE.0), 1);
    // The sign-in sent the password's SHA-256, never the password.
    let signin = s
        .fake
        .requests()
        .into_iter()
        .find(|r| r.path == "/api/v1/auths/signin")
        .expect("a sign-in");
    assert_eq!(signin.body["email"], ALICE.0);
    assert_eq!(signin.body["password"], qwen_fake::sha256_hex(ALICE.1));
    assert_eq!(served_by(&s).await, [Some("alice".to_owned())]);
    let alice = health_of(&s, "alice").await;
    assert_eq!(alice["status"], "ok", "{alice}");
    assert_eq!(alice["email"], "a***@example.com");
    assert!(alice["token_expires_at"].is_string(), "{alice}");
    assert!(alice["cooldown_until"].is_null(), "{alice}");
    // The token went to the cache beside the accounts file, mode 0600.
    let cache = dir.path().join("tokens.json");
    let text = std::fs::read_to_string(&cache).expect("tokens.json");
    assert!(text.contains("alice") && text.contains("eyJ"), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn email_and_password_from_the_environment_with_a_fetched_umid_token() {
    let dir = tempfile::tempdir().unwrap();
    let fake = FakeUpstream::start(fake_options(Duration::from_secs(900)))
        .await
        .unwrap();
    let umid_url = format!("{}/w/wu.json", fake.url());
    let s = TestServer::start_on(
        fake,
        vec![
            ("QWEN_COOKIES", "ssxmod_itna=1-extra-cookie".into()),
            ("QWEN_TOKEN", String::new()),
            ("QWEN_EMAIL", BOB.0.into()),
            ("QWEN_PASSWORD", BOB.1.into()),
            (
                "QWEN_ACCOUNTS_FILE",
                dir.path().join("accounts.toml").display().to_string(),
            ),
            ("QWEN_UMID_URL", umid_url),
        ],
        None,
    )
    .await;
    assert_eq!(s.answer(&msgs(&[("user", "hi")])).await, "You said: hi");
    assert_eq!(s.fake.signins(BOB.0), 1);
    let completion = s.completions().pop().expect("a completion");
    let umid = completion.header("bx-umidtoken").unwrap_or_default();
    assert!(umid.starts_with("T2gA"), "fetched umid token: {umid:?}");
    let cookie = completion.header("cookie").unwrap_or_default();
    assert!(cookie.starts_with("token=eyJ"), "{cookie}");
    assert!(cookie.ends_with("; ssxmod_itna=1-extra-cookie"), "{cookie}");
    assert_eq!(served_by(&s).await, [Some("bob".to_owned())]);
    assert!(dir.path().join("tokens.json").exists());
}

#[tokio::test]
async fn tokens_are_renewed_before_they_expire_across_several_renewals() {
    let dir = tempfile::tempdir().unwrap();
    // Three-second tokens: renewed once less than 600 ms are left.
    let s = serve_accounts(dir.path(), Duration::from_secs(3), ONLY_ALICE).await;
    let mut history = vec![json!({"role": "user", "content": "turn 0"})];
    let turns = 12;
    for turn in 0..turns {
        let (status, body) = s.chat("qwen3-max", &json!(history)).await;
        assert_eq!(status, 200, "turn {turn}: {body}");
        let answer = body["choices"][0]["message"]["content"].clone();
        history.push(json!({"role": "assistant", "content": answer}));
        history.push(json!({"role": "user", "content": format!("turn {}", turn + 1)}));
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let signins = s.fake.signins(ALICE.0);
    assert!(signins >= 3, "{signins} sign-ins over ~10 s of 3 s tokens");
    // Every completion went out once: no token was used past its expiry (a refused one
    // would have been sent again after a new login).
    assert_eq!(s.fake.count(COMPLETIONS_PATH), turns);
    assert_eq!(s.fake.completions_by(ALICE.0), turns);
}

#[tokio::test]
async fn a_refused_token_is_replaced_by_one_login_and_the_request_retried() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve_accounts(dir.path(), Duration::from_secs(900), ONLY_ALICE).await;
    let first = msgs(&[("user", "my name is Ada")]);
    let answer = s.answer(&first).await;
    assert_eq!(s.fake.signins(ALICE.0), 1);
    // Upstream, the token stops working long before its expiry (a password change).
    assert!(s.fake.revoke_tokens(ALICE.0));
    let next = msgs(&[
        ("user", "my name is Ada"),
        ("assistant", answer.as_str()),
        ("user", "what is my name?"),
    ]);
    assert_eq!(s.answer(&next).await, "Your name is Ada.");
    assert_eq!(s.fake.signins(ALICE.0), 2, "exactly one new login");
    // Two completions answered, plus the one refused before the retry.
    assert_eq!(s.fake.count(COMPLETIONS_PATH), 3);
}

#[tokio::test]
async fn ten_requests_at_expiry_share_one_login() {
    let dir = tempfile::tempdir().unwrap();
    // Four-second tokens: after a sleep past the first one's expiry, the burst below has
    // the new token's first 2.4 s (at least: `iat` is whole seconds) before it is due for
    // renewal in turn.
    let s = serve_accounts(dir.path(), Duration::from_secs(4), ONLY_ALICE).await;
    assert_eq!(
        s.answer(&msgs(&[("user", "warm up")])).await,
        "You said: warm up"
    );
    assert_eq!(s.fake.signins(ALICE.0), 1);
    // Past the lifetime: every request below finds the token stale at once.
    tokio::time::sleep(Duration::from_millis(4300)).await;
    let requests = (0..10).map(|i| {
        let (http, url) = (s.http.clone(), s.url.clone());
        tokio::spawn(async move {
            let body = json!({"model": "qwen3-max", "messages": [
                {"role": "user", "content": format!("request {i}")}
            ]});
            let resp = http
                .post(format!("{url}/v1/chat/completions"))
                .json(&body)
                .send()
                .await
                .unwrap();
            resp.status().as_u16()
        })
    });
    for request in requests.collect::<Vec<_>>() {
        assert_eq!(request.await.unwrap(), 200);
    }
    assert_eq!(s.fake.signins(ALICE.0), 2, "one login for all ten");
}

#[tokio::test]
async fn a_restart_reuses_the_cached_token() {
    let dir = tempfile::tempdir().unwrap();
    let s = serve_accounts(dir.path(), Duration::from_secs(900), ONLY_ALICE).await;
    assert_eq!(
        s.answer(&msgs(&[("user", "before")])).await,
        "You said: before"
    );
    assert_eq!(s.fake.signins(ALICE.0), 1);
    let db = s.db_path.clone();
    let (fake, result, _tmp) = s.stop().await;
    result.unwrap();
    let again = TestServer::start_on(
        fake,
        file_env(&dir.path().join("accounts.toml")),
        Some(dir.path().join("again.db")),
    )
    .await;
    assert_ne!(again.db_path, db);
    assert_eq!(
        again.answer(&msgs(&[("user", "after")])).await,
        "You said: after"
    );
    assert_eq!(
        again.fake.signins(ALICE.0),
        1,
        "no sign-in on the second start"
    );
}

#[tokio::test]
async fn pasted_cookies_about_to_expire_are_reported() {
    use base64::Engine as _;
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("{{\"id\":\"u\",\"exp\":{exp}}}"));
    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{payload}.sig");
    let s = TestServer::start_with(ServerOptions {
        env: vec![("QWEN_COOKIES", format!("cna=x; token={jwt}"))],
        ..ServerOptions::default()
    })
    .await;
    let cookies = health_of(&s, "cookies").await;
    assert_eq!(cookies["status"], "expiring", "{cookies}");
    assert!(cookies["email"].is_null() && cookies["token_expires_at"].is_string());
    // Still used: it has an hour left.
    assert_eq!(s.answer(&msgs(&[("user", "hi")])).await, "You said: hi");
    assert_eq!(served_by(&s).await, [Some("cookies".to_owned())]);

    // `serve` says so when it starts.
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(&s.fake.url());
    env.insert("QWEN_COOKIES".into(), format!("token={jwt}"));
    env.insert("ENABLE_PERSISTENCE".into(), "false".into());
    let (_serve, _url, log) = spawn_serve(dir.path(), &env).await;
    let log = std::fs::read_to_string(log).unwrap();
    assert!(
        log.contains("WARN") && log.contains("refresh QWEN_COOKIES soon"),
        "{log}"
    );
}
