//! No password, password hash or token reaches the database file, the logs at `trace`,
//! `/health`, `/metrics`, an error body or `accounts list --json`, through a run that logs
//! in, renews a refused token, meets a rate limit and a wrong password.

use std::time::Duration;

use qwen_fake::{AccountLimit, FakeUpstream};
use serde_json::json;

use super::*;

#[tokio::test]
async fn secrets_reach_no_log_database_or_answer() {
    let fake = FakeUpstream::start(fake_options(Duration::from_secs(900)))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bob_wrong = "bobs-wrong-Passw0rd";
    let accounts = write_accounts(
        dir.path(),
        &[("alice", ALICE.0, ALICE.1), ("bob", BOB.0, bob_wrong)],
    );
    let db = dir.path().join("qwen.db");
    let mut env = base_env(&fake.url());
    env.remove("QWEN_COOKIES");
    env.insert("QWEN_ACCOUNTS_FILE".into(), accounts.display().to_string());
    env.insert("DATABASE_PATH".into(), db.display().to_string());
    env.insert("LOG_LEVEL".into(), "trace".into());

    let (serve, url, log) = spawn_serve(dir.path(), &env).await;
    let http = reqwest::Client::new();
    let mut seen = String::new();
    let mut exchange = async |path: &str, body: Option<serde_json::Value>| {
        let request = match body {
            Some(body) => http.post(format!("{url}{path}")).json(&body),
            None => http.get(format!("{url}{path}")),
        };
        let resp = request.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        seen.push_str(&text);
        seen.push('\n');
        status
    };
    let chat =
        |text: &str| json!({"model": "qwen3-max", "messages": [{"role": "user", "content": text}]});

    assert_eq!(
        exchange("/v1/chat/completions", Some(chat("hello"))).await,
        200
    );
    // A refused token: one new login, and the request retried.
    fake.revoke_tokens(ALICE.0);
    assert_eq!(
        exchange("/v1/chat/completions", Some(chat("again"))).await,
        200
    );
    // Alice rate-limited, Bob's password wrong: a 429 for the client.
    fake.set_account_limit(
        ALICE.0,
        Some(AccountLimit::Http429 {
            retry_after_secs: 60,
        }),
    );
    assert_eq!(
        exchange("/v1/chat/completions", Some(chat("limited"))).await,
        429
    );
    assert_eq!(exchange("/v1/messages", Some(json!({"model": "qwen3-max", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}))).await, 429);
    assert_eq!(
        exchange("/v1/chat/completions", Some(json!({"messages": 5}))).await,
        400
    );
    assert_eq!(exchange("/health", None).await, 200);
    assert_eq!(exchange("/metrics", None).await, 200);
    assert_eq!(exchange("/v1/requests?limit=50", None).await, 200);
    assert_eq!(fake.signins(ALICE.0), 2);

    let list = {
        let mut cmd = qwenctl(dir.path());
        cmd.args(["accounts", "list", "--json"]).envs(&env);
        let out = run(cmd, None).await;
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    drop(serve);

    // Every token the fake saw (bearer and cookie), the cached one, the passwords, their
    // hashes and the configured umid token.
    let mut secrets: Vec<String> = vec![
        ALICE.1.into(),
        bob_wrong.into(),
        qwen_fake::sha256_hex(ALICE.1),
        qwen_fake::sha256_hex(bob_wrong),
        "T2gAfake-umid".into(),
    ];
    for request in fake.requests() {
        if let Some(bearer) = request.header("authorization") {
            secrets.push(bearer.trim_start_matches("Bearer ").to_owned());
        }
    }
    let cache = std::fs::read_to_string(dir.path().join("tokens.json")).unwrap();
    let cached: serde_json::Value = serde_json::from_str(&cache).unwrap();
    secrets.push(
        cached["accounts"]["alice"]["token"]
            .as_str()
            .unwrap()
            .to_owned(),
    );
    secrets.sort();
    secrets.dedup();
    assert!(
        secrets.len() >= 7,
        "two tokens were issued: {}",
        secrets.len()
    );

    let mut database = Vec::new();
    for suffix in ["", "-wal"] {
        let mut path = db.clone().into_os_string();
        path.push(suffix);
        database.extend(std::fs::read(path).unwrap_or_default());
    }
    assert!(database.len() > 4096, "the database was written");
    let sinks = [
        (
            "the database",
            String::from_utf8_lossy(&database).into_owned(),
        ),
        ("the trace log", std::fs::read_to_string(&log).unwrap()),
        ("the answers", seen),
        ("accounts list --json", list),
    ];
    for (sink, text) in &sinks {
        for secret in &secrets {
            assert!(
                !text.contains(secret.as_str()),
                "{sink} holds a secret ({}…)",
                &secret[..6]
            );
        }
    }
    // The log did say what happened, without them.
    let log = &sinks[1].1;
    assert!(log.contains("account `alice` logged in"), "{log}");
    assert!(log.contains("account `alice` renewed its token"), "{log}");
    assert!(log.contains("account `alice` is rate-limited"), "{log}");
    assert!(log.contains("account `bob` cannot log in"), "{log}");
}
