//! The binary itself: help, configuration checks, exit codes, `models`, generated files.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use qwen_fake::{FakeOptions, FakeUpstream};

use crate::common::*;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[tokio::test]
async fn help_lists_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.arg("--help");
    let out = run(cmd, None).await;
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "serve",
        "chat",
        "models",
        "validate-config",
        "sessions",
        "stats",
        "completions",
    ] {
        assert!(help.contains(sub), "--help lacks {sub}:\n{help}");
    }
}

#[tokio::test]
async fn validate_config_names_missing_cookies_and_bad_port() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["validate-config"]).env("PORT", "abc");
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let all = text(&out);
    assert!(all.contains("QWEN_COOKIES"), "{all}");
    assert!(all.contains("PORT"), "{all}");
    assert!(all.contains("\"abc\""), "{all}");
    assert!(!all.contains("Configuration is valid!"));
}

#[tokio::test]
async fn env_file_is_read_and_real_env_wins() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(".env"),
        format!("QWEN_COOKIES=token={JWT}\nQWEN_TOKEN=from-dotenv\nPORT=4100\n"),
    )
    .unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["validate-config", "--json"]).env("PORT", "4200");
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let var = |name: &str| {
        report["variables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["var"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(var("PORT")["value"], "4200");
    assert_eq!(var("PORT")["origin"], "env");
    assert_eq!(var("QWEN_TOKEN")["origin"], ".env");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(JWT));
}

#[tokio::test]
async fn online_validation_and_models_against_the_fake() {
    let fake = FakeUpstream::start(FakeOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let env = base_env(&fake.url());

    let mut cmd = qwenctl(dir.path());
    cmd.args(["validate-config", "--online"]).envs(&env);
    let out = run(cmd, None).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("Configuration is valid!"), "{all}");
    assert!(!all.contains(JWT), "the token leaked:\n{all}");
    assert!(
        !all.contains("T2gAfake-umid"),
        "the umid token leaked:\n{all}"
    );
    assert!(all.contains("expires in"), "{all}");

    let mut cmd = qwenctl(dir.path());
    cmd.args(["models", "--json"]).envs(&env);
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let models: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let ids: Vec<&str> = models
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"qwen3-max"), "{ids:?}");

    let mut cmd = qwenctl(dir.path());
    cmd.args(["models"]).envs(&env);
    let out = run(cmd, None).await;
    assert!(String::from_utf8_lossy(&out.stdout).contains("qwen3-max"));
}

#[tokio::test]
async fn quoted_token_cookie_is_valid_offline_and_accepted_online() {
    // The fake takes only the bare JWT as the bearer, so passing the online check proves the
    // client stripped the quotes the same way the offline check did.
    let fake = FakeUpstream::start(FakeOptions {
        accepted_token: Some(JWT.to_owned()),
        ..FakeOptions::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut env = base_env(&fake.url());
    env.insert("QWEN_COOKIES".into(), format!("token=\"{JWT}\""));

    let mut cmd = qwenctl(dir.path());
    cmd.args(["validate-config"]).envs(&env);
    let out = run(cmd, None).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("Session token: expires in"), "{all}");
    assert!(!all.contains("not a JWT"), "{all}");
    assert!(!all.contains("warning:"), "{all}");

    let mut cmd = qwenctl(dir.path());
    cmd.args(["validate-config", "--online"]).envs(&env);
    let out = run(cmd, None).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(0), "{all}");
    assert!(all.contains("Online check: credentials accepted"), "{all}");
    assert!(!all.contains(JWT), "the token leaked:\n{all}");
}

#[tokio::test]
async fn rejected_credentials_fail_online_validation_naming_cookies() {
    let fake = rejecting_fake().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["validate-config", "--online"])
        .envs(base_env(&fake.url()));
    let out = run(cmd, None).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("QWEN_COOKIES"), "{all}");
    assert!(!all.contains("Configuration is valid!"));
    assert!(!all.contains(JWT));
}

#[tokio::test]
async fn serve_refuses_a_public_address_without_keys() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .envs(base_env("http://127.0.0.1:9"));
    let out = run(cmd, None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("API_KEYS"));
}

/// A child process that is killed when the test ends, passed or not.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_with_the_fake_upstream_needs_no_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("serve.err");
    let mut cmd = qwenctl(dir.path());
    // Neither usable credentials nor a reachable upstream: the fake stands in for both.
    cmd.args(["serve", "--fake-upstream", "--port", "0"])
        .env("QWEN_BASE_URL", "http://127.0.0.1:9")
        .env("QWEN_COOKIES", "cna=no-token-here")
        .env("ENABLE_PERSISTENCE", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap());
    let mut serve = KillOnDrop(cmd.spawn().expect("spawn qwenctl serve"));
    let stdout = serve.0.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("Listening on ").map(str::to_owned))
    });
    let url = tokio::time::timeout(Duration::from_secs(30), url)
        .await
        .expect("serve printed no URL in time")
        .unwrap()
        .unwrap_or_else(|| panic!("{}", std::fs::read_to_string(&err_path).unwrap()));

    let reply: serde_json::Value = reqwest::Client::new()
        .post(format!("{url}/v1/chat/completions"))
        .json(&serde_json::json!({
            "model": "qwen3-max",
            "messages": [{"role": "user", "content": "hello fake"}],
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        reply["choices"][0]["message"]["content"], "You said: hello fake",
        "{reply}"
    );
    drop(serve);
    let log = std::fs::read_to_string(&err_path).unwrap();
    assert!(
        log.contains("fake upstream (no real Qwen involved) on http://127.0.0.1:"),
        "{log}"
    );
}

#[tokio::test]
async fn generated_completions_and_man_pages_are_committed() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for (rel, contents) in qwenctl::cli::completions::render_all().unwrap() {
        let committed = std::fs::read(root.join(&rel)).unwrap_or_default();
        assert!(
            committed == contents,
            "{} is stale: run `cargo run -- generate-assets .` and commit",
            rel.display()
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = qwenctl(dir.path());
    cmd.args(["completions", "bash"]);
    let out = run(cmd, None).await;
    assert!(out.status.success());
    assert_eq!(
        out.stdout,
        std::fs::read(root.join("completions/qwenctl.bash")).unwrap()
    );
}
