//! The binary itself: help, configuration checks, exit codes, `models`, generated files.

use std::process::Output;

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
