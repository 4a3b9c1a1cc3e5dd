//! Accounts that stay alive (design.md §12, issue 15): login, renewal, rotation on rate
//! limits, the token cache, the `accounts` commands, bad input and secrets, against the
//! fake's accounts (real HS256 JWTs with a short lifetime, chats and limits per account).

mod bad_input;
mod cli;
mod login;
mod rotation;
mod secrets;

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use qwen_fake::{FakeAccount, FakeOptions};
use qwenctl::accounts::FileAccount;
use qwenctl::config::Secret;
use serde_json::Value;

use crate::common::*;

pub const ALICE: (&str, &str) = ("alice@example.com", "alice-Pa55word!");
pub const BOB: (&str, &str) = ("bob@example.com", "bob-S3cret-pw?");

/// A fake that knows Alice and Bob, issuing tokens that live `lifetime`.
pub fn fake_options(lifetime: Duration) -> FakeOptions {
    FakeOptions {
        accounts: vec![
            FakeAccount::new(ALICE.0, ALICE.1),
            FakeAccount::new(BOB.0, BOB.1),
        ],
        token_lifetime: lifetime,
        ..FakeOptions::default()
    }
}

/// Writes an accounts file (mode 0600) in `dir` with `(name, email, password)` entries.
pub fn write_accounts(dir: &Path, accounts: &[(&str, &str, &str)]) -> PathBuf {
    let path = dir.join("accounts.toml");
    let list: Vec<FileAccount> = accounts
        .iter()
        .map(|(name, email, password)| FileAccount {
            name: (*name).to_owned(),
            email: (*email).to_owned(),
            password: Secret::new(*password),
        })
        .collect();
    qwenctl::accounts::file::write(&path, &list).expect("write the accounts file");
    path
}

/// The environment of a `serve` that uses the accounts file `path` (the harness's pasted
/// cookies unset, so the file is the source).
pub fn file_env(path: &Path) -> Vec<(&'static str, String)> {
    vec![
        ("QWEN_COOKIES", String::new()),
        ("QWEN_ACCOUNTS_FILE", path.display().to_string()),
    ]
}

/// A `serve` on a fake with Alice and Bob, using the accounts file with `accounts` in `dir`.
pub async fn serve_accounts(
    dir: &Path,
    lifetime: Duration,
    accounts: &[(&str, &str, &str)],
) -> TestServer {
    let path = write_accounts(dir, accounts);
    TestServer::start_with(ServerOptions {
        env: file_env(&path),
        fake: fake_options(lifetime),
        ..ServerOptions::default()
    })
    .await
}

/// Alice's and Bob's entries of an accounts file.
pub const BOTH: &[(&str, &str, &str)] = &[("alice", ALICE.0, ALICE.1), ("bob", BOB.0, BOB.1)];
pub const ONLY_ALICE: &[(&str, &str, &str)] = &[("alice", ALICE.0, ALICE.1)];

/// The accounts `serve` recorded for its requests, oldest first (from the data API).
pub async fn served_by(s: &TestServer) -> Vec<Option<String>> {
    s.store.flush().await.expect("flush");
    let list: Value = s.get("/v1/requests?limit=100").await.json().await.unwrap();
    let mut accounts: Vec<Option<String>> = list["data"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| r["account"].as_str().map(str::to_owned))
        .collect();
    accounts.reverse();
    accounts
}

/// `/health`'s `checks.accounts` entry for `name`.
pub async fn health_of(s: &TestServer, name: &str) -> Value {
    let health: Value = s.get("/health").await.json().await.unwrap();
    health["checks"]["accounts"]
        .as_array()
        .expect("checks.accounts")
        .iter()
        .find(|a| a["name"] == name)
        .cloned()
        .unwrap_or_else(|| panic!("no account {name} in {health}"))
}

/// A child process that is killed when the test ends, passed or not.
pub struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real `serve` on a free port with `env`: the process, its URL and the file its
/// stderr goes to.
pub async fn spawn_serve(
    dir: &Path,
    env: &HashMap<String, String>,
) -> (KillOnDrop, String, PathBuf) {
    let log = dir.join("serve.log");
    let mut cmd = qwenctl(dir);
    cmd.args(["serve", "--port", "0"])
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap());
    let mut serve = KillOnDrop(cmd.spawn().expect("spawn qwenctl serve"));
    let out_pipe = serve.0.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        BufReader::new(out_pipe)
            .lines()
            .map_while(Result::ok)
            .find_map(|line| line.strip_prefix("Listening on ").map(str::to_owned))
    });
    let url = tokio::time::timeout(Duration::from_secs(30), url)
        .await
        .expect("serve printed no URL in time")
        .unwrap()
        .unwrap_or_else(|| panic!("{}", std::fs::read_to_string(&log).unwrap()));
    (serve, url, log)
}
